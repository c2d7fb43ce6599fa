// SPDX-License-Identifier: GPL-2.0

//! Every ioctl structure survives a round trip through its bytes, as
//! zerocopy reads and writes them, and has the size of its `*_SIZE`.

use lazyresume_abi::{self as abi, FromBytes, Immutable, IntoBytes};
use proptest::prelude::*;

/// Any `T::SIZE` bytes read as a `T` give the same bytes back; any other
/// length is refused.
fn round_trip<T: FromBytes + IntoBytes + Immutable>(
    bytes: &[u8],
    size: usize,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(core::mem::size_of::<T>(), size);
    let v = T::read_from_bytes(&bytes[..size]).unwrap();
    prop_assert_eq!(v.as_bytes(), &bytes[..size]);
    prop_assert!(T::read_from_bytes(&bytes[..size - 1]).is_err());
    prop_assert!(T::read_from_bytes(bytes).is_err());
    Ok(())
}

proptest! {
    #[test]
    fn structures_round_trip(b in prop::collection::vec(any::<u8>(), 400)) {
        round_trip::<abi::Version>(&b, abi::VERSION_SIZE)?;
        round_trip::<abi::TftpXfer>(&b, abi::TFTP_XFER_SIZE)?;
        round_trip::<abi::Evict>(&b, abi::EVICT_SIZE)?;
        round_trip::<abi::Policy>(&b, abi::POLICY_SIZE)?;
        round_trip::<abi::MemInject>(&b, abi::MEM_INJECT_SIZE)?;
        round_trip::<abi::TftpBackend>(&b, abi::TFTP_BACKEND_SIZE)?;
        round_trip::<abi::EvictTask>(&b, abi::EVICT_TASK_SIZE)?;
        round_trip::<abi::PageHashes>(&b, abi::PAGE_HASHES_SIZE)?;
        round_trip::<abi::NetIdentity>(&b, abi::NET_IDENTITY_SIZE)?;
        round_trip::<abi::Resume>(&b, abi::RESUME_SIZE)?;
        round_trip::<abi::Adopt>(&b, abi::ADOPT_SIZE)?;
        round_trip::<abi::Status>(&b, abi::STATUS_SIZE)?;
        round_trip::<abi::ReadPages>(&b, abi::READ_PAGES_SIZE)?;
    }
}

#[test]
fn strings_are_truncated_and_terminated() {
    let mut id = abi::NetIdentity::default();
    id.set_ifname(b"a-very-long-interface-name");
    assert_eq!(abi::c_str_bytes(&id.ifname), Some(&b"a-very-long-int"[..]));
    let mut r = abi::Resume::new(id, &[b'x'; 300]);
    assert_eq!(
        abi::c_str_bytes(&r.image).unwrap().len(),
        abi::IMAGE_NAME_LEN - 1
    );
    r.set_reason(b"manifest missing");
    assert_eq!(abi::c_str_bytes(&r.reason), Some(&b"manifest missing"[..]));
    assert_eq!(abi::c_str_bytes(&[1, 2, 3]), None);
}
