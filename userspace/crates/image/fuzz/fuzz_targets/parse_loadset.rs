// SPDX-License-Identifier: GPL-2.0

//! Any bytes given to the loading set reader, in pieces of any size, for
//! an image of any page count: no panic, and what it hands out is whole
//! pages, in order, of the image, as many as the header says once the
//! stream is accepted.

#![no_main]

use lazyresume_image::blocks::BLOCK_LEN;
use lazyresume_image::loadset::{LoadsetHeader, LoadsetSink, Stream};
use lazyresume_image::{Header, HASH_LEN};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn sha256(d: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(d).into()
}

fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

#[derive(Default)]
struct Collect {
    index: Vec<u8>,
    pages: u64,
    image_pages: u64,
}

impl LoadsetSink for Collect {
    type Error = ();

    fn header(&mut self, h: &LoadsetHeader) -> Result<(), ()> {
        assert!(h.pages >= 1 && h.pages <= self.image_pages);
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
        assert_eq!(entry, self.pages);
        assert!(page < self.image_pages);
        assert_eq!(bytes.len(), 4096);
        self.pages += 1;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    // Two bytes pick the image's page count and the piece size; the
    // header's checksums are mended so that the fuzzer gets past them.
    let [n, piece, file @ ..] = data else {
        return;
    };
    let image_pages = u64::from(*n) + 1;
    let mut header = Header::new(4096, 16, "fuzz");
    header.pageset2_pages = image_pages;
    let manifest = [1u8; HASH_LEN];
    let mut file = file.to_vec();
    if file.len() >= 136 {
        file[40..72].copy_from_slice(&manifest);
        let pages = u64::from_le_bytes(file[24..32].try_into().unwrap()) % 64;
        file[24..32].copy_from_slice(&pages.to_le_bytes());
        let end = 136usize.saturating_add(pages as usize * 8).min(file.len());
        let index = sha256(&file[136..end]);
        file[72..104].copy_from_slice(&index);
        let sum = sha256(&file[..104]);
        file[104..136].copy_from_slice(&sum);
    }
    let mut s = Stream::new(sha256, manifest, header);
    let mut c = Collect {
        image_pages,
        ..Collect::default()
    };
    let (mut stage, mut out, mut page) = (
        vec![0u8; BLOCK_LEN],
        vec![0u8; BLOCK_LEN],
        vec![0u8; 4096],
    );
    for part in file.chunks(usize::from(*piece).max(1)) {
        if s.feed(part, &mut stage, &mut out, &mut page, decompress, &mut c)
            .is_err()
        {
            return;
        }
    }
    if s.finish::<()>().is_ok() {
        assert_eq!(Some(c.pages), s.header().map(|h| h.pages));
    }
});
