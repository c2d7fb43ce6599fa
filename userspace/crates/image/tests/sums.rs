// SPDX-License-Identifier: GPL-2.0

//! `pageset1.sums`: written alike whole or in pieces, and a `pageset1`
//! checked against it in pieces of any size hands on exactly the file's
//! bytes, or refuses a damaged segment before any of its bytes go on.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use lazyresume_image::{
    pageset1_sums_len, segment_count, write_pageset1_sums, Encoding, FormatError, Header, Manifest,
    SegmentChecker, SegmentError, SegmentSums, Sha256Hasher, SumsWriter, HASH_LEN, SEGMENT_LEN,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn sha256(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

#[derive(Default)]
struct Hasher(Sha256);

impl Sha256Hasher for Hasher {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish_reset(&mut self) -> [u8; HASH_LEN] {
        self.0.finalize_reset().into()
    }
}

/// A file of `len` bytes that differ from segment to segment.
fn file(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

fn sums_of(p1: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; pageset1_sums_len(p1.len() as u64).unwrap() as usize];
    assert_eq!(write_pageset1_sums(p1, sha256, &mut out), Some(out.len()));
    out
}

/// A header sealing `sums` for a pageset1 of `len` bytes.
fn header(len: u64, sums: &[u8]) -> Header {
    let mut h = Header::new(4096, 16, "6.12.117 #1 SMP lazyresume");
    h.pageset1_len = len;
    h.pageset1_encoding = Encoding::Lz4Blocks;
    h.snapshot_len = 4096;
    h.pageset1_sums_sha256 = sha256(sums);
    h.set_name("images/web").unwrap();
    h
}

/// Feeds `p1` cut at `cuts` (offsets, any order) to a checker; returns
/// what reached the sink and the result.
fn check(
    sums: SegmentSums<'_>,
    p1: &[u8],
    cuts: &[usize],
) -> (Vec<u8>, Result<(), SegmentError<()>>) {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c % (p1.len() + 1)).collect();
    at.push(0);
    at.push(p1.len());
    at.sort_unstable();
    let mut checker = SegmentChecker::new(sums);
    let mut buf = vec![0u8; SEGMENT_LEN];
    let mut out = Vec::new();
    for w in at.windows(2) {
        let r = checker.feed(&p1[w[0]..w[1]], &mut buf, sha256, &mut |s: &[u8]| {
            // Only whole segments, each once.
            assert!(s.len() == SEGMENT_LEN || out.len() + s.len() == sums.pageset1_len() as usize);
            out.extend_from_slice(s);
            Ok::<(), ()>(())
        });
        if let Err(e) = r {
            return (out, Err(e));
        }
    }
    (out, checker.finish())
}

#[test]
fn lengths() {
    assert_eq!(segment_count(0), 0);
    assert_eq!(pageset1_sums_len(1), Some(32));
    assert_eq!(pageset1_sums_len(SEGMENT_LEN as u64), Some(32));
    assert_eq!(pageset1_sums_len(SEGMENT_LEN as u64 + 1), Some(64));
    // 50 MiB: 400 segments.
    assert_eq!(pageset1_sums_len(50 << 20), Some(400 * 32));
    assert_eq!(pageset1_sums_len(u64::MAX), Some(1 << 52));
    let mut short = [0u8; 31];
    assert_eq!(write_pageset1_sums(&[1], sha256, &mut short), None);
}

#[test]
fn parse_refuses_other_lengths_and_hashes() {
    let p1 = file(3 * SEGMENT_LEN + 5, 1);
    let sums = sums_of(&p1);
    let h = header(p1.len() as u64, &sums);
    assert!(SegmentSums::parse(&h, &sums, sha256).is_ok());
    for n in [0, 32, 96, 160] {
        let mut other = sums.clone();
        other.resize(n, 0);
        assert_eq!(
            SegmentSums::parse(&h, &other, sha256).unwrap_err(),
            FormatError::BadSumsLength {
                expected: 128,
                actual: n as u64
            }
        );
    }
    let mut bad = sums.clone();
    bad[77] ^= 1;
    assert_eq!(
        SegmentSums::parse(&h, &bad, sha256).unwrap_err(),
        FormatError::BadSums
    );
    assert_eq!(
        FormatError::BadSums.to_string(),
        "pageset1.sums SHA-256 mismatch (corrupted pageset1.sums)"
    );
    // The manifest carries the sums' hash at offset 320.
    let m = Manifest::encode(&h, sha256);
    assert_eq!(&m[320..352], &sha256(&sums)[..]);
    assert_eq!(Manifest::parse(&m, sha256).unwrap().header, h);
}

#[test]
fn mismatch_message_names_the_segment() {
    let e = SegmentError::<()>::Mismatch { segment: 12 };
    assert_eq!(e.to_string(), "segment 12 SHA-256 mismatch");
}

#[test]
fn small_buffer_refused() {
    let p1 = file(10, 0);
    let sums = sums_of(&p1);
    let h = header(10, &sums);
    let s = SegmentSums::parse(&h, &sums, sha256).unwrap();
    let mut c = SegmentChecker::new(s);
    let mut buf = vec![0u8; SEGMENT_LEN - 1];
    assert_eq!(
        c.feed(&p1, &mut buf, sha256, &mut |_| Ok::<(), ()>(())),
        Err(SegmentError::SmallBuffer)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn writer_in_pieces_matches_whole(
        len in 0usize..4 * SEGMENT_LEN + 10,
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let p1 = file(len, 3);
        let mut at: Vec<usize> = cuts.iter().map(|&c| c % (len + 1)).collect();
        at.extend([0, len]);
        at.sort_unstable();
        let mut w = SumsWriter::new(Hasher::default());
        let mut sums = Vec::new();
        for x in at.windows(2) {
            w.feed(&p1[x[0]..x[1]], &mut |s| sums.extend_from_slice(&s));
        }
        w.finish(&mut |s| sums.extend_from_slice(&s));
        prop_assert_eq!(sums, sums_of(&p1));
    }

    #[test]
    fn good_file_in_any_pieces_goes_through_whole(
        len in 1usize..4 * SEGMENT_LEN + 10,
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let p1 = file(len, 5);
        let sums = sums_of(&p1);
        let h = header(len as u64, &sums);
        let s = SegmentSums::parse(&h, &sums, sha256).unwrap();
        prop_assert_eq!(s.segments(), len.div_ceil(SEGMENT_LEN) as u64);
        prop_assert!(s.check(&p1, sha256).is_ok());
        let (out, r) = check(s, &p1, &cuts);
        prop_assert_eq!(r, Ok(()));
        prop_assert_eq!(out, p1);
    }

    #[test]
    fn restarted_file_goes_through_whole_once(
        len in 1usize..4 * SEGMENT_LEN + 10,
        stop in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        // A transfer that dies after `stop` bytes and starts over from
        // another server: what went on before is skipped, not handed on
        // twice, and the whole file reaches the sink once, in order.
        let p1 = file(len, 13);
        let sums = sums_of(&p1);
        let h = header(len as u64, &sums);
        let s = SegmentSums::parse(&h, &sums, sha256).unwrap();
        let stop = stop % (len + 1);
        let mut checker = SegmentChecker::new(s);
        let mut buf = vec![0u8; SEGMENT_LEN];
        let mut out = Vec::new();
        let mut sink = |seg: &[u8]| {
            out.extend_from_slice(seg);
            Ok::<(), ()>(())
        };
        checker.feed(&p1[..stop], &mut buf, sha256, &mut sink).unwrap();
        let skip = checker.restart() as usize;
        // The last segment may be short: whole at the file's end.
        let whole = if stop == len { len } else { stop / SEGMENT_LEN * SEGMENT_LEN };
        prop_assert_eq!(skip, whole);
        let mut at: Vec<usize> = cuts.iter().map(|&c| skip + c % (len - skip + 1)).collect();
        at.extend([skip, len]);
        at.sort_unstable();
        for w in at.windows(2) {
            checker.feed(&p1[w[0]..w[1]], &mut buf, sha256, &mut sink).unwrap();
        }
        prop_assert_eq!(checker.finish::<()>(), Ok(()));
        prop_assert_eq!(out, p1);
    }

    #[test]
    fn any_flipped_byte_is_caught_before_its_segment_goes_on(
        len in 1usize..4 * SEGMENT_LEN + 10,
        at in any::<usize>(),
        bit in 0u8..8,
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let p1 = file(len, 7);
        let sums = sums_of(&p1);
        let h = header(len as u64, &sums);
        let s = SegmentSums::parse(&h, &sums, sha256).unwrap();
        let mut bad = p1.clone();
        let at = at % len;
        bad[at] ^= 1 << bit;
        let segment = (at / SEGMENT_LEN) as u64;
        let (out, r) = check(s, &bad, &cuts);
        prop_assert_eq!(r, Err(SegmentError::Mismatch { segment }));
        // Exactly the segments before it, unchanged.
        prop_assert_eq!(&out[..], &p1[..segment as usize * SEGMENT_LEN]);
        prop_assert_eq!(s.check(&bad, sha256), Err(SegmentError::Mismatch { segment }));
    }

    #[test]
    fn any_flipped_byte_of_the_sums_is_caught(
        len in 1usize..3 * SEGMENT_LEN,
        at in any::<usize>(),
        bit in 0u8..8,
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let p1 = file(len, 9);
        let sums = sums_of(&p1);
        let h = header(len as u64, &sums);
        let mut bad = sums.clone();
        let at = at % bad.len();
        bad[at] ^= 1 << bit;
        prop_assert_eq!(SegmentSums::parse(&h, &bad, sha256).unwrap_err(), FormatError::BadSums);
        // Even a manifest sealing the damaged sums refuses the file, at
        // the segment whose sum changed.
        let h2 = header(len as u64, &bad);
        let s = SegmentSums::parse(&h2, &bad, sha256).unwrap();
        let segment = (at / HASH_LEN) as u64;
        let (out, r) = check(s, &p1, &cuts);
        prop_assert_eq!(r, Err(SegmentError::Mismatch { segment }));
        prop_assert_eq!(out.len(), segment as usize * SEGMENT_LEN);
    }

    #[test]
    fn short_or_long_files_are_refused(
        len in 1usize..3 * SEGMENT_LEN,
        cut in any::<usize>(),
        extra in 1usize..100,
    ) {
        let p1 = file(len, 11);
        let sums = sums_of(&p1);
        let h = header(len as u64, &sums);
        let s = SegmentSums::parse(&h, &sums, sha256).unwrap();
        let cut = cut % len;
        let (_, r) = check(s, &p1[..cut], &[]);
        prop_assert_eq!(r, Err(SegmentError::Truncated { received: cut as u64, expected: len as u64 }));
        let mut long = p1.clone();
        long.extend(std::iter::repeat_n(0u8, extra));
        let (out, r) = check(s, &long, &[]);
        prop_assert_eq!(r, Err(SegmentError::TooLong { expected: len as u64 }));
        prop_assert!(out.is_empty());
        prop_assert!(s.check(&long, sha256).is_err());
        prop_assert!(s.check(&p1[..cut], sha256).is_err());
    }
}
