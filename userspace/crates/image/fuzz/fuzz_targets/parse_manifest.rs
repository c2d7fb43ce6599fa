// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the manifest parser: no panic, and whatever it
//! accepts is consistent. The checksum is checked with a SHA-256 that
//! accepts anything half of the time, so that the fuzzer gets past it.

#![no_main]

use lazyresume_image::{Manifest, HASH_LEN};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn real(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

fuzz_target!(|data: &[u8]| {
    // With the real hash, and with one that trusts the stored checksum.
    let _ = Manifest::parse(data, real);
    if data.len() >= HASH_LEN {
        let mut sum = [0u8; HASH_LEN];
        sum.copy_from_slice(&data[data.len() - HASH_LEN..]);
        thread_local!(static SUM: std::cell::Cell<[u8; HASH_LEN]> = const { std::cell::Cell::new([0; HASH_LEN]) });
        SUM.with(|s| s.set(sum));
        fn trusting(_: &[u8]) -> [u8; HASH_LEN] {
            SUM.with(|s| s.get())
        }
        if let Ok(m) = Manifest::parse(data, trusting) {
            let h = m.header;
            for p in 0..h.pageset2_pages.min(64) {
                assert!(m.page_hash(p).is_some());
                let (c, off) = h.locate(p).unwrap();
                assert!(off + u64::from(h.page_size) <= h.chunk_len(c).unwrap());
            }
            assert!(m.page_hash(h.pageset2_pages).is_none());
        }
    }
});
