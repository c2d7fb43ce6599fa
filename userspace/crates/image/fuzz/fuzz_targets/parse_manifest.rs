// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the manifest and hashes parsers: no panic, and
//! whatever they accept is consistent (a valid name, a header that
//! encodes back to the same bytes). The first MANIFEST_LEN bytes are the
//! manifest, the rest the hashes file. Checksums are checked with a
//! SHA-256 that accepts what the manifest says, so that the fuzzer gets
//! past them.

#![no_main]

use lazyresume_image::{
    Header, Manifest, PageHashes, HASH_LEN, HEADER_LEN, MANIFEST_LEN, NAME_LEN,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn real(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

thread_local!(static SUM: std::cell::Cell<[u8; HASH_LEN]> = const { std::cell::Cell::new([0; HASH_LEN]) });

fn trusting(_: &[u8]) -> [u8; HASH_LEN] {
    SUM.with(|s| s.get())
}

fn trust(sum: &[u8]) {
    let mut s = [0u8; HASH_LEN];
    s.copy_from_slice(sum);
    SUM.with(|c| c.set(s));
}

fuzz_target!(|data: &[u8]| {
    let (manifest, hashes) = data.split_at(data.len().min(MANIFEST_LEN));
    let _ = Manifest::parse(manifest, real);
    if manifest.len() < MANIFEST_LEN {
        return;
    }
    trust(&manifest[HEADER_LEN..]);
    let Ok(m) = Manifest::parse(manifest, trusting) else {
        return;
    };
    let h = m.header;
    assert_eq!(&h.encode()[..], &manifest[..HEADER_LEN]);
    assert_eq!(Header::decode(&h.encode()), Ok(h));
    let name = h.name_str();
    assert!(!name.is_empty() && name.len() < NAME_LEN && !name.starts_with('/'));
    assert!(!name.contains('\0'));
    let _ = PageHashes::parse(&h, hashes, real);
    trust(&h.hashes_sha256);
    if let Ok(p) = PageHashes::parse(&h, hashes, trusting) {
        for i in 0..h.pageset2_pages.min(64) {
            assert!(p.page_hash(i).is_some());
            let (c, off) = h.locate(i).unwrap();
            assert!(off + u64::from(h.page_size) <= h.chunk_len(c).unwrap());
        }
        assert!(p.page_hash(h.pageset2_pages).is_none());
    }
});
