// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the manifest, hashes and pageset1.sums parsers and
//! to the segment checker: no panic, and whatever they accept is
//! consistent (a valid name, a header that encodes back to the same
//! bytes, only verified segments handed on, whole). The first
//! MANIFEST_LEN bytes are the manifest, the rest the hashes file, or the
//! pageset1.sums and then a pageset1 (of at most a few segments). Checksums are checked with a
//! SHA-256 that accepts what the manifest says, so that the fuzzer gets
//! past them.

#![no_main]

use lazyresume_image::{
    pageset1_sums_len, Header, Manifest, PageHashes, SegmentChecker, SegmentError, SegmentSums,
    HASH_LEN, HEADER_LEN, MANIFEST_LEN, NAME_LEN, SEGMENT_LEN,
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
    // The same bytes as pageset1.sums, then a pageset1: sums of a
    // pageset1 of at most 4 segments, and the sums that come first.
    let mut h = h;
    h.pageset1_len %= 4 * SEGMENT_LEN as u64 + 1;
    let sums_len = pageset1_sums_len(h.pageset1_len).unwrap() as usize;
    let (sums, pageset1) = hashes.split_at(hashes.len().min(sums_len));
    let _ = SegmentSums::parse(&h, sums, real);
    trust(&h.pageset1_sums_sha256);
    let Ok(s) = SegmentSums::parse(&h, sums, trusting) else {
        return;
    };
    assert_eq!(s.segments() as usize * HASH_LEN, sums.len());
    // The pageset1 fed in two pieces, cut where its first byte says.
    let cut = pageset1.first().map_or(0, |&b| usize::from(b) * 997) % (pageset1.len() + 1);
    let mut checker = SegmentChecker::new(s);
    let mut buf = vec![0u8; SEGMENT_LEN];
    let mut out = 0usize;
    let mut sink = |seg: &[u8]| {
        assert_eq!(&pageset1[out..out + seg.len()], seg);
        assert!(s.segment_hash((out / SEGMENT_LEN) as u64) == Some(&real(seg)));
        out += seg.len();
        Ok::<(), ()>(())
    };
    let (a, b) = pageset1.split_at(cut);
    let r = checker
        .feed(a, &mut buf, real, &mut sink)
        .and_then(|()| checker.feed(b, &mut buf, real, &mut sink));
    match r {
        Ok(()) => {
            assert_eq!(checker.received(), pageset1.len() as u64);
            let done = checker.finish::<()>();
            assert_eq!(done.is_ok(), pageset1.len() as u64 == h.pageset1_len);
        }
        Err(SegmentError::Mismatch { .. }) => {}
        Err(SegmentError::TooLong { .. }) => assert!(pageset1.len() as u64 > h.pageset1_len),
        Err(e) => panic!("{e:?}"),
    }
});
