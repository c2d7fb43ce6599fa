// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the decoder of an LZ4-encoded pageset2 chunk file,
//! with any map of zero pages: no panic, and what it accepts hands out
//! every page that is not zero once, in order, whole.

#![no_main]

use lazyresume_image::blocks::{decode_chunk, BLOCK_LEN};
use libfuzzer_sys::fuzz_target;

fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

fuzz_target!(|data: &[u8]| {
    // Eight bytes map the zero pages of a chunk of up to 64, one picks
    // the page count and one the page size (4 KiB to 64 KiB).
    let [z0, z1, z2, z3, z4, z5, z6, z7, n, k, file @ ..] = data else {
        return;
    };
    let zeros = u64::from_le_bytes([*z0, *z1, *z2, *z3, *z4, *z5, *z6, *z7]);
    let pages = usize::from(*n % 65);
    let page_size = 4096usize << (k % 5);
    let zero = |j: usize| zeros >> (j % 64) & 1 != 0;
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut seen = Vec::new();
    let r = decode_chunk(
        file,
        pages,
        page_size,
        zero,
        &mut stage,
        &mut out,
        decompress,
        &mut |j, bytes: &[u8]| {
            assert_eq!(bytes.len(), page_size);
            assert!(j < pages && !zero(j));
            assert!(seen.last().is_none_or(|&l| l < j));
            seen.push(j);
            Ok::<(), ()>(())
        },
    );
    if r.is_ok() {
        assert_eq!(seen, (0..pages).filter(|&j| !zero(j)).collect::<Vec<_>>());
    }
});
