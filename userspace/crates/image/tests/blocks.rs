// SPDX-License-Identifier: GPL-2.0

//! LZ4-encoded pageset1 streams round-trip whatever their pieces, and
//! damage is caught without a panic.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used
)]

use lazyresume_image::blocks::{
    encode_block, DecodeError, Decoder, BLOCK_LEN, FRAME_HEADER_LEN, FRAME_STORED, MAX_FRAME_LEN,
};
use proptest::prelude::*;

fn compress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let c = lz4_flex::block::compress(src);
    dst.get_mut(..c.len())?.copy_from_slice(&c);
    Some(c.len())
}

fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

fn encode(image: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut stream = Vec::new();
    for block in image.chunks(BLOCK_LEN) {
        let n = encode_block(block, compress, &mut out).unwrap();
        stream.extend_from_slice(&out[..n]);
    }
    stream
}

/// Decodes `stream` fed in pieces of the given lengths (cycled).
fn decode(stream: &[u8], total: u64, pieces: &[usize]) -> Result<Vec<u8>, DecodeError<()>> {
    let mut d = Decoder::new(total);
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut image = Vec::new();
    let mut sink = |b: &[u8]| -> Result<(), ()> {
        image.extend_from_slice(b);
        Ok(())
    };
    let mut rest = stream;
    for &p in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, next) = rest.split_at(p.clamp(1, rest.len()));
        d.feed(now, &mut stage, &mut out, decompress, &mut sink)?;
        rest = next;
    }
    d.finish()?;
    assert_eq!(d.decoded(), total);
    Ok(image)
}

/// An image of `pages` pages: runs of zeroes, text-like bytes and noise.
fn image(pages: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(pages * 4096);
    for p in 0..pages {
        for i in 0..4096 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(match (p + seed as usize) % 3 {
                0 => 0,
                1 => b"struct page "[i % 12],
                _ => x as u8,
            });
        }
    }
    v
}

proptest! {
    #[test]
    fn round_trip_in_any_pieces(
        pages in 1usize..80,
        seed in any::<u64>(),
        pieces in prop::collection::vec(1usize..200_000, 1..6),
    ) {
        let img = image(pages, seed);
        let stream = encode(&img);
        prop_assert_eq!(decode(&stream, img.len() as u64, &pieces).unwrap(), img);
    }

    #[test]
    fn damage_never_panics(
        pages in 1usize..40,
        seed in any::<u64>(),
        pos in any::<prop::sample::Index>(),
        x in 1u8..=255,
    ) {
        let img = image(pages, seed);
        let mut stream = encode(&img);
        let i = pos.index(stream.len());
        stream[i] ^= x;
        // A change that still decodes (a match offset to equal bytes may
        // even decode to the same image) is the pageset1 hash's to catch:
        // it covers the stream as stored.
        if let Ok(out) = decode(&stream, img.len() as u64, &[4096]) {
            prop_assert_eq!(out.len(), img.len());
        }
    }

    #[test]
    fn truncation_is_caught(pages in 1usize..40, seed in any::<u64>(), pos in any::<prop::sample::Index>()) {
        let img = image(pages, seed);
        let stream = encode(&img);
        let cut = pos.index(stream.len());
        let r = decode(&stream[..cut], img.len() as u64, &[65464]);
        let truncated = matches!(r, Err(DecodeError::Truncated { .. }));
        prop_assert!(truncated, "{:?}", r.map(|v| v.len()));
    }
}

#[test]
fn noise_is_stored_and_zeroes_compress() {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let noise = image(32, 2); // (2 + p) % 3: a third of the pages are noise
    let zeroes = vec![0u8; BLOCK_LEN];
    let n = encode_block(&zeroes, compress, &mut out).unwrap();
    let word = u32::from_le_bytes(out[..4].try_into().unwrap());
    assert_eq!(word & FRAME_STORED, 0);
    assert!(n < 1024, "{n}");
    let random: Vec<u8> = noise
        .iter()
        .copied()
        .filter(|&b| b != 0)
        .take(5000)
        .collect();
    let n = encode_block(&random[..4096], compress, &mut out).unwrap();
    let word = u32::from_le_bytes(out[..4].try_into().unwrap());
    assert_eq!(word, 4096 | FRAME_STORED);
    assert_eq!(n, FRAME_HEADER_LEN + 4096);
    assert_eq!(&out[4..n], &random[..4096]);
    // Wrong sizes are refused, not a panic.
    assert_eq!(encode_block(&[], compress, &mut out), None);
    assert_eq!(encode_block(&zeroes, compress, &mut out[..100]), None);
}

#[test]
fn each_malformation_is_named() {
    let img = image(40, 5); // more than one block
    let stream = encode(&img);
    let total = img.len() as u64;
    // Bytes after the last block.
    let mut longer = stream.clone();
    longer.push(0);
    assert_eq!(
        decode(&longer, total, &[1 << 20]),
        Err(DecodeError::Trailing)
    );
    // A stored frame must hold exactly its block.
    let mut bad = stream.clone();
    bad[..4].copy_from_slice(&(FRAME_STORED | 5).to_le_bytes());
    assert_eq!(
        decode(&bad, total, &[100]),
        Err(DecodeError::BadFrame { block: 0 })
    );
    // A compressed frame is 1 to BLOCK_LEN bytes.
    bad[..4].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        decode(&bad, total, &[100]),
        Err(DecodeError::BadFrame { block: 0 })
    );
    // A block that decompresses to the wrong length.
    let short = encode(&[0u8; 4096]);
    assert_eq!(
        decode(&short, 8192, &[100]),
        Err(DecodeError::BadBlock { block: 0 })
    );
    // The sink's refusal comes back as such.
    let mut d = Decoder::new(total);
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let r = d.feed(&stream, &mut stage, &mut out, decompress, &mut |_| Err(7));
    assert_eq!(r, Err(DecodeError::Sink(7)));
    // Buffers too small for a block.
    let mut d = Decoder::new(total);
    let r = d.feed(&stream, &mut stage[..10], &mut out, decompress, &mut |_| {
        Ok::<(), ()>(())
    });
    assert_eq!(r, Err(DecodeError::SmallBuffers));
    // Every error says what is wrong.
    let text = DecodeError::<()>::BadBlock { block: 3 }.to_string();
    assert!(text.contains("block 3"), "{text}");
}
