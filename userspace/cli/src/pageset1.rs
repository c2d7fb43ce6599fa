// SPDX-License-Identifier: GPL-2.0

//! The `pageset1` file and the pageset2 chunk files in LZ4 blocks
//! (`lazyresume_image::blocks`), with `lz4_flex` as the LZ4 block codec.

use anyhow::{anyhow, Result};
use lazyresume_image::blocks::{
    decode_chunk, encode_block, encode_chunk, max_encoded_len, Decoder, BLOCK_LEN, MAX_FRAME_LEN,
};
use lazyresume_image::{is_zero_page_hash, Sha256Hasher, SumsWriter, HASH_LEN};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::rc::Rc;

use crate::tftp_upload::Reader;

/// Compresses `src` as one LZ4 block into `dst`, if it fits.
pub fn compress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let c = lz4_flex::block::compress(src);
    dst.get_mut(..c.len())?.copy_from_slice(&c);
    Some(c.len())
}

/// Decompresses the LZ4 block `src` into `dst`.
pub fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

/// Encodes a whole hibernation image.
pub fn encode(image: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let mut file = Vec::with_capacity(image.len() / 2);
    for block in image.chunks(BLOCK_LEN) {
        // Blocks of 1 to BLOCK_LEN bytes into a MAX_FRAME_LEN buffer.
        let n = encode_block(block, compress, &mut out).unwrap_or(0);
        file.extend_from_slice(&out[..n]);
    }
    file
}

/// Checks that `file` decodes to an image of `total` bytes.
pub fn check(file: &[u8], total: u64) -> Result<()> {
    let mut d = Decoder::new(total);
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    d.feed(file, &mut stage, &mut out, decompress, &mut |_| {
        Ok::<(), ()>(())
    })
    .and_then(|()| d.finish())
    .map_err(|e| anyhow!("{e}"))
}

/// The LZ4-encoded chunk file of `pages` (whole pages of `page_size`
/// bytes) whose SHA-256 are `hashes`: the pages that are not zero, in
/// blocks; empty if every page is zero (the chunk has no file).
pub fn encode_chunk_file(pages: &[u8], page_size: usize, hashes: &[[u8; HASH_LEN]]) -> Vec<u8> {
    let zero = |j: usize| {
        hashes
            .get(j)
            .is_some_and(|h| is_zero_page_hash(h, page_size))
    };
    let mut block = vec![0u8; BLOCK_LEN];
    let mut out = vec![0u8; max_encoded_len(pages.len()).unwrap_or(0)];
    let n = encode_chunk(pages, page_size, zero, compress, &mut block, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

/// Decodes the LZ4-encoded chunk file `file` of `count` pages of
/// `page_size` bytes whose SHA-256 are `hashes` into the chunk's pages,
/// zero pages included.
pub fn decode_chunk_file(
    file: &[u8],
    count: usize,
    page_size: usize,
    hashes: &[[u8; HASH_LEN]],
) -> Result<Vec<u8>> {
    let zero = |j: usize| {
        hashes
            .get(j)
            .is_some_and(|h| is_zero_page_hash(h, page_size))
    };
    let mut pages = vec![0u8; count * page_size];
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    decode_chunk(
        file,
        count,
        page_size,
        zero,
        &mut stage,
        &mut out,
        decompress,
        &mut |j, bytes: &[u8]| {
            let dst = pages
                .get_mut(j * page_size..(j + 1) * page_size)
                .ok_or(())?;
            dst.copy_from_slice(bytes);
            Ok::<(), ()>(())
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    Ok(pages)
}

/// An incremental SHA-256 for [`SumsWriter`].
#[derive(Clone, Debug, Default)]
pub struct Hasher(Sha256);

impl Sha256Hasher for Hasher {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish_reset(&mut self) -> [u8; HASH_LEN] {
        self.0.finalize_reset().into()
    }
}

/// Encodes the image `inner` reads as it is read, and hashes what it
/// hands out: the `pageset1` file, its SHA-256 and its `pageset1.sums`.
pub struct Encoder<R> {
    inner: R,
    block: Vec<u8>,
    frame: Vec<u8>,
    /// Bytes of `frame` not handed out yet: `frame[start..end]`.
    start: usize,
    end: usize,
    /// Image bytes read from `inner`, shared with a progress display.
    pub image_read: Rc<Cell<u64>>,
    /// Bytes handed out: the file's length so far.
    pub written: u64,
    /// SHA-256 of the bytes handed out.
    pub hash: Sha256,
    /// SHA-256 of each segment handed out.
    summer: SumsWriter<Hasher>,
    /// The `pageset1.sums` of the segments completed so far.
    sums: Vec<u8>,
}

impl<R: Reader> Encoder<R> {
    /// An encoder of what `inner` reads.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            block: vec![0; BLOCK_LEN],
            frame: vec![0; MAX_FRAME_LEN],
            start: 0,
            end: 0,
            image_read: Rc::default(),
            written: 0,
            hash: Sha256::new(),
            summer: SumsWriter::default(),
            sums: Vec::new(),
        }
    }

    /// The `pageset1.sums` of the whole file, once it was read to its
    /// end.
    pub fn finish_sums(&mut self) -> Vec<u8> {
        let mut sums = std::mem::take(&mut self.sums);
        std::mem::take(&mut self.summer).finish(&mut |s| sums.extend_from_slice(&s));
        sums
    }
}

impl<R: Reader> Reader for Encoder<R> {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.start == self.end {
                let got = self.inner.read_full(&mut self.block)?;
                if got == 0 {
                    break;
                }
                self.image_read.set(self.image_read.get() + got as u64);
                self.start = 0;
                self.end = encode_block(&self.block[..got], compress, &mut self.frame)
                    .ok_or_else(|| anyhow!("cannot encode a block of {got} bytes"))?;
            }
            let k = (buf.len() - n).min(self.end - self.start);
            buf[n..n + k].copy_from_slice(&self.frame[self.start..self.start + k]);
            self.start += k;
            n += k;
        }
        self.hash.update(&buf[..n]);
        let sums = &mut self.sums;
        self.summer
            .feed(&buf[..n], &mut |s| sums.extend_from_slice(&s));
        self.written += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoder_writes_what_encode_does_and_it_checks() {
        let image: Vec<u8> = (0..3 * BLOCK_LEN + 4096)
            .map(|i| {
                if i % 8192 < 4096 {
                    0
                } else {
                    (i * 7 % 251) as u8
                }
            })
            .collect();
        let file = encode(&image);
        assert!(file.len() < image.len() / 2, "{}", file.len());
        let mut e = Encoder::new(image.as_slice());
        let mut streamed = Vec::new();
        let mut buf = vec![0u8; 65464];
        loop {
            let n = e.read_full(&mut buf).unwrap();
            streamed.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                break;
            }
        }
        assert_eq!(streamed, file);
        assert_eq!(e.written, file.len() as u64);
        assert_eq!(e.image_read.get(), image.len() as u64);
        let mut sums = vec![0u8; 32 * file.len().div_ceil(lazyresume_image::SEGMENT_LEN)];
        lazyresume_image::write_pageset1_sums(&file, |d| Sha256::digest(d).into(), &mut sums)
            .unwrap();
        assert_eq!(e.finish_sums(), sums);
        assert_eq!(
            <[u8; 32]>::from(e.hash.finalize()),
            <[u8; 32]>::from(Sha256::digest(&file))
        );
        check(&file, image.len() as u64).unwrap();
        assert!(check(&file, image.len() as u64 + 4096).is_err());
        assert!(check(&file[..file.len() - 1], image.len() as u64).is_err());
    }

    #[test]
    fn chunk_files_leave_zero_pages_out() {
        let page = 4096;
        let mut pages = vec![0u8; 4 * page];
        pages[page..2 * page].fill(7);
        pages[3 * page + 5] = 1;
        let hashes: Vec<[u8; 32]> = pages
            .chunks(page)
            .map(|p| Sha256::digest(p).into())
            .collect();
        let file = encode_chunk_file(&pages, page, &hashes);
        // Two pages that compress well: far less than two pages.
        assert!(!file.is_empty() && file.len() < page, "{}", file.len());
        assert_eq!(decode_chunk_file(&file, 4, page, &hashes).unwrap(), pages);
        let zeros = vec![0u8; 2 * page];
        let zero_hashes = vec![<[u8; 32]>::from(Sha256::digest(&zeros[..page])); 2];
        assert!(encode_chunk_file(&zeros, page, &zero_hashes).is_empty());
        assert_eq!(
            decode_chunk_file(&[], 2, page, &zero_hashes).unwrap(),
            zeros
        );
    }
}
