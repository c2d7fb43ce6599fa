// SPDX-License-Identifier: GPL-2.0

//! Manifests and hashes files round-trip, and any damage to one is caught.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use lazyresume_image::{
    chunk_name, hashes_len, Encoding, FormatError, Header, Manifest, NameError, PageHashes,
    CHUNK_NAME_LEN, HASH_LEN, HEADER_LEN, MANIFEST_LEN, NAME_LEN,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn sha256(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

/// The hashes file of `pages` pages whose page `i` hash is `[i as u8; 32]`.
fn hashes(pages: u64) -> Vec<u8> {
    (0..pages).flat_map(|i| [i as u8; HASH_LEN]).collect()
}

/// A header for `pages` pages, sealing their hashes file.
fn header(pages: u64, chunk_pages: u32) -> Header {
    let mut h = Header::new(4096, chunk_pages, "6.12.117 #1 SMP lazyresume");
    h.pageset1_len = 12345;
    h.pageset1_sha256 = [7; HASH_LEN];
    h.pageset1_sums_sha256 = [9; HASH_LEN];
    h.pageset1_encoding = Encoding::Lz4Blocks;
    // Whole pages of every page size.
    h.snapshot_len = 8 * 65536;
    h.pageset2_pages = pages;
    h.pageset2_encoding = Encoding::Lz4Blocks;
    h.hashes_sha256 = sha256(&hashes(pages));
    h.generation = 1_767_225_600;
    h.set_name("images/web").unwrap();
    h
}

/// Offsets of the version 4 fields.
const OFF_GENERATION: usize = 184;
const OFF_NAME: usize = 192;

/// Re-seals a manifest whose bytes were changed on purpose.
fn reseal(m: &mut [u8]) {
    let sum = sha256(&m[..HEADER_LEN]);
    m[HEADER_LEN..].copy_from_slice(&sum);
}

proptest! {
    #[test]
    fn round_trip(
        pages in 0u64..300,
        chunk_pages in 1u32..64,
        kib in 0u32..5,
        lz4: bool,
        generation: u64,
        name in "[^/\\x00][^\\x00]{0,40}",
    ) {
        let mut h = header(pages, chunk_pages);
        h.page_size = 4096 << kib;
        h.pageset2_encoding = if lz4 { Encoding::Lz4Blocks } else { Encoding::Raw };
        h.generation = generation;
        // Any UTF-8 text that fits: up to 127 bytes.
        let name: String = name.chars().scan(0, |n, c| {
            *n += c.len_utf8();
            (*n < NAME_LEN).then_some(c)
        }).collect();
        h.set_name(&name).unwrap();
        let m = Manifest::encode(&h, sha256);
        prop_assert_eq!(m.len(), MANIFEST_LEN);
        prop_assert_eq!(&m[OFF_GENERATION..OFF_NAME], &generation.to_le_bytes()[..]);
        let parsed = Manifest::parse(&m, sha256).unwrap();
        prop_assert_eq!(parsed.header, h);
        prop_assert_eq!(parsed.header.kernel_id_str(), "6.12.117 #1 SMP lazyresume");
        prop_assert_eq!(parsed.header.name_str(), name.as_str());
        prop_assert_eq!(parsed.header.generation, generation);
        let file = hashes(pages);
        prop_assert_eq!(file.len() as u64, hashes_len(pages).unwrap());
        let p = PageHashes::parse(&parsed.header, &file, sha256).unwrap();
        for i in 0..pages {
            prop_assert_eq!(p.page_hash(i), Some(&[i as u8; HASH_LEN]));
        }
        prop_assert_eq!(p.page_hash(pages), None);
    }

    #[test]
    fn any_changed_byte_is_caught(pages in 1u64..40, pos in any::<prop::sample::Index>(), x in 1u8..=255) {
        let h = header(pages, 4);
        let mut m = Manifest::encode(&h, sha256);
        let mut file = hashes(pages);
        let i = pos.index(m.len() + file.len());
        if i < m.len() {
            m[i] ^= x;
            prop_assert!(Manifest::parse(&m, sha256).is_err());
        } else {
            file[i - m.len()] ^= x;
            prop_assert_eq!(
                PageHashes::parse(&h, &file, sha256).unwrap_err(),
                FormatError::BadHashes
            );
        }
    }

    #[test]
    fn any_truncation_is_caught(pages in 1u64..40, pos in any::<prop::sample::Index>()) {
        let h = header(pages, 4);
        let m = Manifest::encode(&h, sha256);
        prop_assert!(Manifest::parse(&m[..pos.index(m.len())], sha256).is_err());
        let file = hashes(pages);
        prop_assert!(PageHashes::parse(&h, &file[..pos.index(file.len())], sha256).is_err());
    }

    #[test]
    fn chunks_cover_every_page_once(pages in 0u64..500, chunk_pages in 1u32..100) {
        let h = header(pages, chunk_pages);
        let total: u64 = (0..h.chunks()).map(|c| h.chunk_len(c).unwrap()).sum();
        prop_assert_eq!(total, pages * 4096);
        prop_assert_eq!(h.chunk_len(h.chunks()), None);
        let counted: u64 = (0..h.chunks()).map(|c| h.chunk_page_count(c).unwrap()).sum();
        prop_assert_eq!(counted, pages);
        prop_assert_eq!(h.chunk_page_count(h.chunks()), None);
        for p in 0..pages {
            let (c, off) = h.locate(p).unwrap();
            prop_assert!(c < h.chunks());
            prop_assert!(off + 4096 <= h.chunk_len(c).unwrap());
        }
        prop_assert_eq!(h.locate(pages), None);
    }
}

/// Changes the header with `f`, re-seals, and returns the parse error.
fn error_after(f: impl FnOnce(&mut [u8])) -> FormatError {
    let mut m = Manifest::encode(&header(3, 2), sha256).to_vec();
    f(&mut m);
    reseal(&mut m);
    Manifest::parse(&m, sha256).unwrap_err()
}

#[test]
fn each_field_is_checked_and_named() {
    assert_eq!(error_after(|m| m[0] = b'X'), FormatError::BadMagic);
    // Version 1 had no pageset1 encoding and the hashes in the manifest;
    // version 2 no pageset2 encoding (its chunk files were raw); version 3
    // no generation and no name.
    for v in [1, 2, 3, 5] {
        assert_eq!(
            error_after(|m| m[8] = v),
            FormatError::UnsupportedVersion(u32::from(v))
        );
    }
    assert_eq!(
        error_after(|m| m[12..16].copy_from_slice(&321u32.to_le_bytes())),
        FormatError::BadHeaderLen(321)
    );
    assert_eq!(
        error_after(|m| m[16..20].copy_from_slice(&5000u32.to_le_bytes())),
        FormatError::BadPageSize(5000)
    );
    assert_eq!(
        error_after(|m| m[20..24].copy_from_slice(&0u32.to_le_bytes())),
        FormatError::BadChunkPages(0)
    );
    assert_eq!(error_after(|m| m[24] = 7), FormatError::UnknownEncoding(7));
    assert_eq!(
        error_after(|m| m[28] = 2),
        FormatError::UnknownPageset2Encoding(2)
    );
    // The image length: whole pages; the file's length when not encoded.
    assert_eq!(
        error_after(|m| m[144] = 1),
        FormatError::BadSnapshotLen {
            snapshot: 8 * 65536 + 1,
            stored: 12345
        }
    );
    assert_eq!(
        error_after(|m| m[24] = 0),
        FormatError::BadSnapshotLen {
            snapshot: 8 * 65536,
            stored: 12345
        }
    );
    assert_eq!(error_after(|m| m[80] = 0), FormatError::BadKernelId);
    assert_eq!(error_after(|m| m[80 + 63] = b'x'), FormatError::BadKernelId);
    let mut m = Manifest::encode(&header(3, 2), sha256).to_vec();
    m[HEADER_LEN] ^= 1;
    assert_eq!(
        Manifest::parse(&m, sha256).unwrap_err(),
        FormatError::BadChecksum
    );
    m.push(0);
    assert_eq!(
        Manifest::parse(&m, sha256).unwrap_err(),
        FormatError::BadLength {
            actual: MANIFEST_LEN as u64 + 1
        }
    );
    assert_eq!(
        Manifest::parse(&m[..10], sha256).unwrap_err(),
        FormatError::Truncated { len: 10 }
    );
    // The hashes file: as long as the page count says, and sealed.
    let h = header(3, 2);
    assert_eq!(
        PageHashes::parse(&h, &hashes(4), sha256).unwrap_err(),
        FormatError::BadHashesLength {
            expected: hashes_len(3).unwrap(),
            actual: hashes_len(4).unwrap()
        }
    );
    // Every error says what is wrong.
    let text = FormatError::BadPageSize(5000).to_string();
    assert!(text.contains("5000"), "{text}");
    let text = FormatError::UnsupportedVersion(3).to_string();
    assert!(
        text.contains("version 3") && text.contains("version 4"),
        "{text}"
    );
}

/// A whole version 3 manifest (192-byte header, 224 bytes) is refused,
/// naming its version.
#[test]
fn version_3_is_refused_with_its_number() {
    let mut m = Manifest::encode(&header(3, 2), sha256)[..224].to_vec();
    m[8] = 3;
    m[12..16].copy_from_slice(&192u32.to_le_bytes());
    m[184..192].fill(0);
    let sum = sha256(&m[..192]);
    m[192..].copy_from_slice(&sum);
    let e = Manifest::parse(&m, sha256).unwrap_err();
    assert_eq!(e, FormatError::UnsupportedVersion(3));
    assert_eq!(
        e.to_string(),
        "manifest format version 3, this build reads version 4"
    );
}

#[test]
fn every_bad_name_is_refused() {
    let name = |m: &mut [u8], n: &[u8]| {
        m[OFF_NAME..OFF_NAME + NAME_LEN].fill(0);
        m[OFF_NAME..OFF_NAME + n.len()].copy_from_slice(n);
    };
    let bad = |e| FormatError::BadName(e);
    // In a manifest.
    assert_eq!(error_after(|m| name(m, b"")), bad(NameError::Empty));
    assert_eq!(
        error_after(|m| name(m, &[b'x'; NAME_LEN])),
        bad(NameError::TooLong)
    );
    assert_eq!(error_after(|m| name(m, b"web\0x")), bad(NameError::Nul));
    assert_eq!(
        error_after(|m| m[OFF_NAME + NAME_LEN - 1] = b'x'),
        bad(NameError::Nul)
    );
    assert_eq!(
        error_after(|m| name(m, b"/images/web")),
        bad(NameError::Absolute)
    );
    assert_eq!(
        error_after(|m| name(m, b"web\xff")),
        bad(NameError::NotUtf8)
    );
    // 127 bytes fit, and a name with '/' inside is fine.
    let long = "a/".repeat(63) + "b";
    let mut h = header(3, 2);
    h.set_name(&long).unwrap();
    let m = Manifest::encode(&h, sha256);
    assert_eq!(Manifest::parse(&m, sha256).unwrap().header.name_str(), long);
    // Given to set_name, which leaves the header as it was.
    for (n, e) in [
        ("", NameError::Empty),
        (&"x".repeat(NAME_LEN), NameError::TooLong),
        (&"x".repeat(1000), NameError::TooLong),
        ("web\0", NameError::Nul),
        ("\0web", NameError::Nul),
        ("/web", NameError::Absolute),
    ] {
        let mut h = header(3, 2);
        assert_eq!(h.set_name(n), Err(bad(e)), "{n:?}");
        assert_eq!(h.name_str(), "images/web");
    }
    // Every error says what is wrong.
    assert_eq!(
        bad(NameError::Absolute).to_string(),
        "bad image name: starts with '/'"
    );
}

#[test]
fn generation_is_any_number() {
    for g in [0, 1, u64::MAX] {
        let mut h = header(3, 2);
        h.generation = g;
        let m = Manifest::encode(&h, sha256);
        assert_eq!(Manifest::parse(&m, sha256).unwrap().header.generation, g);
    }
    // A header without a name is not a manifest.
    let h = Header::new(4096, 1, "k");
    let e = Manifest::parse(&Manifest::encode(&h, sha256), sha256).unwrap_err();
    assert_eq!(e, FormatError::BadName(NameError::Empty));
}

#[test]
fn chunk_names_are_fixed_width_hex() {
    let mut n = [0u8; CHUNK_NAME_LEN];
    chunk_name(0x1f, &mut n);
    assert_eq!(&n, b"p2-000000000000001f");
    chunk_name(u64::MAX, &mut n);
    assert_eq!(&n, b"p2-ffffffffffffffff");
}
