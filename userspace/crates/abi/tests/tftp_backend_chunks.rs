// SPDX-License-Identifier: GPL-2.0

//! The pages-per-file bits of `LAZYRESUME_IOC_TFTP_BACKEND` (ABI 1.4):
//! every valid size survives a round trip, nothing else is accepted.

use lazyresume_abi as abi;
use proptest::prelude::*;

#[test]
fn no_bits_mean_one_page_per_file() {
    assert_eq!(abi::tftp_backend_chunk_pages(0), Some(1));
    assert_eq!(
        abi::tftp_backend_chunk_pages(abi::TFTP_BACKEND_NO_UPLOAD),
        Some(1)
    );
    assert_eq!(abi::tftp_backend_chunk_flags(1), Some(0));
}

#[test]
fn sizes_beyond_64_pages_are_refused() {
    assert_eq!(abi::tftp_backend_chunk_flags(128), None);
    assert_eq!(abi::tftp_backend_chunk_flags(0), None);
    assert_eq!(
        abi::tftp_backend_chunk_pages(7 << abi::TFTP_BACKEND_CHUNK_SHIFT),
        None
    );
    assert_eq!(
        abi::tftp_backend_chunk_pages(15 << abi::TFTP_BACKEND_CHUNK_SHIFT),
        None
    );
}

proptest! {
    #[test]
    fn round_trip(log2 in 0u32..=abi::TFTP_BACKEND_CHUNK_MAX_LOG2, other in any::<u8>()) {
        let pages = 1 << log2;
        let flags = abi::tftp_backend_chunk_flags(pages).unwrap();
        // The other flags (bits 0 to 7) do not disturb the size.
        prop_assert_eq!(abi::tftp_backend_chunk_pages(flags | u32::from(other)), Some(pages));
    }

    #[test]
    fn only_powers_of_two(pages in 0u32..1000) {
        let ok = pages.is_power_of_two() && pages <= 64;
        prop_assert_eq!(abi::tftp_backend_chunk_flags(pages).is_some(), ok);
    }
}
