// SPDX-License-Identifier: GPL-2.0

//! Loading sets round-trip in pieces of any size, are refused for another
//! image, and any damage is caught (or left to the page hashes, for a
//! changed byte of a page) without a panic.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use lazyresume_image::blocks::{encode_chunk, max_encoded_len, BLOCK_LEN};
use lazyresume_image::loadset::{
    LoadsetError, LoadsetHeader, LoadsetSink, Stream, INDEX_LEN, LOADSET_HEADER_LEN,
};
use lazyresume_image::{Header, HASH_LEN};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn compress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let c = lz4_flex::block::compress(src);
    dst.get_mut(..c.len())?.copy_from_slice(&c);
    Some(c.len())
}

fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

fn sha256(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

const PAGE: usize = 4096;
const MANIFEST_SHA: [u8; HASH_LEN] = [7; HASH_LEN];

fn image(pages: u64) -> Header {
    let mut h = Header::new(PAGE as u32, 16, "test");
    h.pageset2_pages = pages;
    h
}

/// Content of pageset2 page `p`: compressible or not by its number.
fn page_of(p: u64) -> Vec<u8> {
    let mut x = p.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..PAGE)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if p.is_multiple_of(3) {
                b"loading set "[i % 12]
            } else {
                x as u8
            }
        })
        .collect()
}

/// A loading set of pages `order`.
fn build(order: &[u64]) -> Vec<u8> {
    let index: Vec<u8> = order.iter().flat_map(|p| p.to_le_bytes()).collect();
    let pages: Vec<u8> = order.iter().flat_map(|&p| page_of(p)).collect();
    let mut block = vec![0u8; BLOCK_LEN];
    let mut payload = vec![0u8; max_encoded_len(pages.len()).unwrap()];
    let n = encode_chunk(&pages, PAGE, |_| false, compress, &mut block, &mut payload).unwrap();
    payload.truncate(n);
    let h = LoadsetHeader {
        page_size: PAGE as u32,
        pages: order.len() as u64,
        payload_len: n as u64,
        manifest_sha256: MANIFEST_SHA,
        index_sha256: sha256(&index),
    };
    let mut f = h.encode(sha256).to_vec();
    f.extend_from_slice(&index);
    f.extend_from_slice(&payload);
    f
}

/// Collects what a stream hands out.
#[derive(Default)]
struct Collect {
    index: Vec<u8>,
    pages: Vec<(u64, u64, Vec<u8>)>,
}

impl LoadsetSink for Collect {
    type Error = ();

    fn header(&mut self, h: &LoadsetHeader) -> Result<(), ()> {
        self.index.reserve(h.index_len().unwrap() as usize);
        Ok(())
    }

    fn index(&mut self, offset: u64, bytes: &[u8]) -> Result<(), ()> {
        assert_eq!(offset, self.index.len() as u64);
        self.index.extend_from_slice(bytes);
        Ok(())
    }

    fn index_bytes(&self) -> &[u8] {
        &self.index
    }

    fn page(&mut self, entry: u64, page: u64, bytes: &[u8]) -> Result<(), ()> {
        assert_eq!(entry, self.pages.len() as u64);
        self.pages.push((entry, page, bytes.to_vec()));
        Ok(())
    }
}

/// Reads `file` in pieces of `piece` bytes for an image of `pages`
/// pages.
fn read(
    file: &[u8],
    piece: usize,
    pages: u64,
    manifest: [u8; HASH_LEN],
) -> (Collect, Result<(), LoadsetError<()>>) {
    let mut s = Stream::new(sha256, manifest, image(pages));
    let mut c = Collect::default();
    let (mut stage, mut out, mut page) =
        (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN], vec![0u8; PAGE]);
    for part in file.chunks(piece.max(1)) {
        if let Err(e) = s.feed(part, &mut stage, &mut out, &mut page, decompress, &mut c) {
            return (c, Err(e));
        }
    }
    let r = s.finish();
    (c, r)
}

/// A first-touch order: distinct pages of an image of `pages` pages.
fn order() -> impl Strategy<Value = (u64, Vec<u64>)> {
    (1u64..200).prop_flat_map(|pages| {
        (
            Just(pages),
            proptest::sample::subsequence((0..pages).collect::<Vec<_>>(), 1..=pages as usize)
                .prop_shuffle(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_in_pieces((pages, o) in order(), piece in 1usize..70_000) {
        let f = build(&o);
        let (c, r) = read(&f, piece, pages, MANIFEST_SHA);
        prop_assert_eq!(r, Ok(()));
        prop_assert_eq!(c.pages.len(), o.len());
        for (k, (entry, page, bytes)) in c.pages.iter().enumerate() {
            prop_assert_eq!(*entry, k as u64);
            prop_assert_eq!(*page, o[k]);
            prop_assert!(*bytes == page_of(o[k]));
        }
    }

    #[test]
    fn any_changed_byte_is_caught_or_left_to_the_page_hashes(
        (pages, o) in order(), at in any::<prop::sample::Index>(), flip in 1u8..=255,
    ) {
        let mut f = build(&o);
        let i = at.index(f.len());
        f[i] ^= flip;
        let (c, r) = read(&f, 1 << 16, pages, MANIFEST_SHA);
        if r.is_ok() {
            // Only a byte of the payload can pass, and the pages still
            // come out as the index list says: a page whose bytes changed
            // is left to its hash. (A changed LZ4 block may even decode to
            // the same bytes: a match length changed inside a repeating
            // pattern.)
            prop_assert!(i >= LOADSET_HEADER_LEN + o.len() * INDEX_LEN);
            let got: Vec<u64> = c.pages.iter().map(|(_, p, _)| *p).collect();
            prop_assert_eq!(got, o);
        }
    }

    #[test]
    fn the_index_is_the_order_and_a_changed_byte_in_it_is_caught(
        (pages, o) in order(), at in any::<prop::sample::Index>(), flip in 1u8..=255,
    ) {
        let mut f = build(&o);
        let h = LoadsetHeader::parse::<()>(&f, sha256, &MANIFEST_SHA, &image(pages)).unwrap();
        let got: Vec<u64> = h.index::<()>(&f, sha256, &image(pages)).unwrap().collect();
        prop_assert_eq!(&got, &o);
        // The header was read already: a changed byte of the list is
        // caught by the list's own SHA-256.
        let i = LOADSET_HEADER_LEN + at.index(o.len() * INDEX_LEN);
        f[i] ^= flip;
        prop_assert_eq!(
            h.index::<()>(&f, sha256, &image(pages)).map(|_| ()),
            Err(LoadsetError::BadIndex)
        );
        let cut = &f[..i];
        let truncated = h.index::<()>(cut, sha256, &image(pages)).map(|_| ());
        let is_short = matches!(truncated, Err(LoadsetError::BadLength { .. }));
        prop_assert!(is_short, "{:?}", truncated);
    }

    #[test]
    fn truncation_is_caught((pages, o) in order(), cut in any::<prop::sample::Index>()) {
        let f = build(&o);
        let n = cut.index(f.len());
        let (_, r) = read(&f[..n], 4096, pages, MANIFEST_SHA);
        prop_assert!(r.is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read(&data, 97, 64, MANIFEST_SHA);
    }
}

#[test]
fn another_image_is_refused() {
    let f = build(&[3, 1, 2]);
    let (c, r) = read(&f, 1 << 16, 8, [8; HASH_LEN]);
    assert_eq!(r, Err(LoadsetError::OtherImage));
    assert!(c.pages.is_empty());
    assert_eq!(
        r.unwrap_err().to_string(),
        "of another image (manifest differs)"
    );
}

#[test]
fn pages_past_the_image_are_refused() {
    let f = build(&[3, 1, 9]);
    // More pages than the image has.
    let (_, r) = read(&f, 1 << 16, 2, MANIFEST_SHA);
    assert!(matches!(
        r,
        Err(LoadsetError::BadPageCount { pages: 3, .. })
    ));
    // A page past its last one.
    let (c, r) = read(&f, 1 << 16, 5, MANIFEST_SHA);
    assert_eq!(r, Err(LoadsetError::IndexOutOfRange { entry: 2, page: 9 }));
    assert!(c.pages.is_empty());
    let h = LoadsetHeader::parse::<()>(&f, sha256, &MANIFEST_SHA, &image(5)).unwrap();
    assert_eq!(
        h.index::<()>(&f, sha256, &image(5)).map(|_| ()),
        Err(LoadsetError::IndexOutOfRange { entry: 2, page: 9 })
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut f = build(&[0, 4]);
    f.push(0);
    let (_, r) = read(&f, 1 << 16, 8, MANIFEST_SHA);
    assert!(matches!(r, Err(LoadsetError::BadLength { .. })));
}
