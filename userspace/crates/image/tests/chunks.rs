// SPDX-License-Identifier: GPL-2.0

//! LZ4-encoded pageset2 chunk files round-trip whatever their pages, leave
//! the zero pages out, and damage is caught without a panic.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use lazyresume_image::blocks::{
    decode_chunk, encode_chunk, max_encoded_len, DecodeError, BLOCK_LEN,
};
use lazyresume_image::{is_zero_page_hash, zero_page_hash, HASH_LEN};
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

/// A chunk of pages: 0 all zeros, 1 text-like, 2 noise, 3 a zero page
/// with one byte set.
fn chunk(kinds: &[u8], page: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::new();
    for (j, k) in kinds.iter().enumerate() {
        for i in 0..page {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(match k % 4 {
                0 => 0,
                1 => b"lazy resume "[(i + j) % 12],
                2 => x as u8,
                _ => u8::from(i == page - 1),
            });
        }
    }
    out
}

/// Encodes `pages`, zero pages found by their hashes as a reader would.
fn encode(pages: &[u8], page: usize) -> Vec<u8> {
    let zero = |j: usize| is_zero_page_hash(&sha256(&pages[j * page..(j + 1) * page]), page);
    let mut block = vec![0u8; BLOCK_LEN];
    let mut out = vec![0u8; max_encoded_len(pages.len()).unwrap()];
    let n = encode_chunk(pages, page, zero, compress, &mut block, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Decodes `file` back into the chunk of `count` pages, zeros where
/// `zero` says.
fn decode(
    file: &[u8],
    count: usize,
    page: usize,
    zero: &[bool],
) -> Result<Vec<u8>, DecodeError<()>> {
    let mut pages = vec![0u8; count * page];
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut seen = Vec::new();
    decode_chunk(
        file,
        count,
        page,
        |j| zero[j],
        &mut stage,
        &mut out,
        decompress,
        &mut |j, bytes: &[u8]| {
            assert_eq!(bytes.len(), page);
            seen.push(j);
            pages[j * page..(j + 1) * page].copy_from_slice(bytes);
            Ok(())
        },
    )?;
    // Each page that is not zero once, in order.
    let want: Vec<usize> = (0..count).filter(|&j| !zero[j]).collect();
    assert_eq!(seen, want);
    Ok(pages)
}

proptest! {
    #[test]
    fn round_trip(kinds in prop::collection::vec(0u8..4, 1..40), kib in 0u32..5, seed: u64) {
        let page = 4096usize << kib;
        let pages = chunk(&kinds, page, seed);
        let file = encode(&pages, page);
        let zero: Vec<bool> = kinds.iter().map(|k| k % 4 == 0).collect();
        let stored = zero.iter().filter(|z| !**z).count();
        // Zero pages cost nothing; the rest no more than stored blocks.
        prop_assert!(file.len() <= max_encoded_len(stored * page).unwrap());
        prop_assert_eq!(file.is_empty(), stored == 0);
        prop_assert_eq!(decode(&file, kinds.len(), page, &zero).unwrap(), pages);
    }

    #[test]
    fn damage_is_caught(kinds in prop::collection::vec(1u8..4, 1..40), pos: prop::sample::Index, x in 1u8..=255) {
        let page = 4096;
        let pages = chunk(&kinds, page, 7);
        let mut file = encode(&pages, page);
        let zero = vec![false; kinds.len()];
        // A changed byte decodes to other pages (their hashes catch it) or
        // not at all; a truncation never decodes.
        let i = pos.index(file.len());
        let mut cut = file.clone();
        cut.truncate(i);
        prop_assert!(decode(&cut, kinds.len(), page, &zero).is_err());
        file[i] ^= x;
        if let Ok(p) = decode(&file, kinds.len(), page, &zero) {
            prop_assert_eq!(p.len(), pages.len());
        }
    }

    #[test]
    fn another_zero_map_is_caught(kinds in prop::collection::vec(1u8..4, 2..40), flip: prop::sample::Index) {
        let page = 4096;
        let pages = chunk(&kinds, page, 9);
        let file = encode(&pages, page);
        // A reader that thinks one page more is zero expects fewer bytes.
        let mut zero = vec![false; kinds.len()];
        zero[flip.index(kinds.len())] = true;
        prop_assert!(decode(&file, kinds.len(), page, &zero).is_err());
    }
}

#[test]
fn zero_page_hashes_are_those_of_zero_pages() {
    for kib in 0..5 {
        let page = 4096usize << kib;
        assert_eq!(zero_page_hash(page), Some(&sha256(&vec![0u8; page])));
    }
    assert_eq!(zero_page_hash(2048), None);
    assert_eq!(zero_page_hash(4095), None);
    assert_eq!(zero_page_hash(1 << 17), None);
    assert!(!is_zero_page_hash(&sha256(&[1u8; 4096]), 4096));
}

#[test]
fn a_chunk_of_zeros_has_no_file() {
    let pages = vec![0u8; 16 * 4096];
    assert!(encode(&pages, 4096).is_empty());
    let zero = vec![true; 16];
    assert_eq!(decode(&[], 16, 4096, &zero).unwrap(), pages);
    // A file where none is expected is refused.
    assert_eq!(
        decode(&[0, 0, 0, 0], 16, 4096, &zero),
        Err(DecodeError::Trailing)
    );
}

#[test]
fn small_buffers_and_page_sizes_are_refused() {
    let pages = chunk(&[1, 2], 4096, 3);
    let mut block = vec![0u8; BLOCK_LEN];
    let mut out = vec![0u8; 100];
    assert_eq!(
        encode_chunk(&pages, 4096, |_| false, compress, &mut block, &mut out),
        None
    );
    assert_eq!(
        encode_chunk(
            &pages[..100],
            4096,
            |_| false,
            compress,
            &mut block,
            &mut out
        ),
        None
    );
    let (mut stage, mut o) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let r = decode_chunk(
        &[],
        1,
        3000,
        |_| false,
        &mut stage,
        &mut o,
        decompress,
        &mut |_, _| Ok::<(), ()>(()),
    );
    assert_eq!(r, Err(DecodeError::BadPageSize));
}
