// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the decoder of an LZ4-encoded pageset1, in pieces of
//! any size: no panic, and what it accepts has the announced length.

#![no_main]

use lazyresume_image::blocks::{DecodeError, Decoder, BLOCK_LEN};
use libfuzzer_sys::fuzz_target;

fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

fuzz_target!(|data: &[u8]| {
    // Two bytes pick the image length (up to 4 blocks) and one the piece size.
    let [a, b, p, stream @ ..] = data else {
        return;
    };
    let total = u64::from(u16::from_le_bytes([*a, *b])) * 9;
    let piece = usize::from(*p).max(1) * 97;
    let mut d = Decoder::new(total);
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut got = 0u64;
    let mut sink = |b: &[u8]| -> Result<(), ()> {
        got += b.len() as u64;
        Ok(())
    };
    for now in stream.chunks(piece) {
        if d.feed(now, &mut stage, &mut out, decompress, &mut sink).is_err() {
            return;
        }
    }
    if d.finish::<()>().is_ok() {
        assert_eq!(got, total);
        assert_eq!(d.decoded(), total);
    } else {
        assert!(matches!(d.finish::<()>(), Err(DecodeError::Truncated { .. })));
    }
});
