// SPDX-License-Identifier: GPL-2.0

//! `lazyresume make-stream`: an image's stream, the pages a resumed
//! client's background lane fetches in one sequential transfer instead of
//! one transfer per chunk file (`Documentation/image-format.rst`,
//! `Documentation/fetch.rst`).

use anyhow::{ensure, Context, Result};
use clap::Args;
use lazyresume_image::blocks::{encode_chunk, max_encoded_len, BLOCK_LEN};
use lazyresume_image::loadset::{LoadsetHeader, LOADSET_HEADER_LEN, LOADSET_NAME, STREAM_NAME};
use lazyresume_image::{
    is_zero_page_hash, Header, Manifest, PageHashes, HASHES_NAME, MANIFEST_NAME,
};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use crate::image::sha256;
use crate::location::Location;
use crate::pageset1;
use crate::workingset;

/// Arguments of `lazyresume make-stream`.
#[derive(Args)]
pub struct MakeStreamArgs {
    /// The image: a directory, or tftp://SERVER[:PORT]/PATH on a server
    /// that accepts uploads.
    image: String,
}

/// `lazyresume make-stream`: writes the image's stream, every page of
/// pageset2 that is not zero and not in its loading set, in index order,
/// taken from its chunk files and checked against the page hashes.
pub fn run(args: &MakeStreamArgs) -> Result<()> {
    let at = Location::parse(&args.image)?;
    let manifest = at
        .get(MANIFEST_NAME)?
        .with_context(|| format!("{}: no manifest", at.describe()))?;
    let h = Manifest::parse(&manifest, sha256)
        .map_err(|e| anyhow::anyhow!("{MANIFEST_NAME}: {e}"))?
        .header;
    let hashes = at
        .get(HASHES_NAME)?
        .with_context(|| format!("{}: no {HASHES_NAME}", at.describe()))?;
    let m = PageHashes::parse(&h, &hashes, sha256)
        .map_err(|e| anyhow::anyhow!("{HASHES_NAME}: {e}"))?;
    let loadset = match at.get(LOADSET_NAME)? {
        Some(file) => loadset_pages(&file, &manifest, &h),
        None => HashSet::new(),
    };
    let page = h.page_size as usize;
    let pages: Vec<u64> = (0..h.pageset2_pages)
        .filter(|&i| {
            m.page_hash(i).is_some_and(|x| !is_zero_page_hash(x, page)) && !loadset.contains(&i)
        })
        .collect();
    ensure!(
        !pages.is_empty(),
        "{}: no page to stream (all zeros or in the loading set)",
        at.describe()
    );
    let tmp = at.scratch(STREAM_NAME);
    let len = write_stream(&at, &manifest, &h, &m, &pages, &tmp).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    at.put_from(STREAM_NAME, &tmp)?;
    println!(
        "make-stream: {}/{STREAM_NAME}: {} pages ({} MiB) in {len} bytes, {} left to the loading set",
        at.describe(),
        pages.len(),
        (pages.len() * page) >> 20,
        loadset.len()
    );
    Ok(())
}

/// Writes the stream of `pages` (index order, distinct, none of zeros) of
/// the image at `at` into the file `path`, taking the pages from the
/// chunk files one chunk at a time and encoding one block at a time, so
/// that it holds a chunk file and a block whatever the image's size (the
/// index list aside: 8 bytes a page). Returns the stream's length.
fn write_stream(
    at: &Location,
    manifest: &[u8],
    h: &Header,
    m: &PageHashes<'_>,
    pages: &[u64],
    path: &Path,
) -> Result<u64> {
    let page = h.page_size as usize;
    ensure!(
        BLOCK_LEN.is_multiple_of(page),
        "pages of {page} bytes do not fill blocks of {BLOCK_LEN}"
    );
    let index: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    // The header, which needs the payload's length, comes last.
    out.write_all(&[0u8; LOADSET_HEADER_LEN])?;
    out.write_all(&index)?;
    let get = |file: &str| {
        at.get(file)?
            .with_context(|| format!("{}: no {file}", at.describe()))
    };
    // One block is encoded on its own exactly as within a whole stream:
    // blocks are framed one by one (`blocks::encode_chunk`).
    let mut block = Vec::with_capacity(BLOCK_LEN);
    let mut gather = vec![0u8; BLOCK_LEN];
    let mut encoded = vec![0u8; max_encoded_len(BLOCK_LEN).context("block size")?];
    let mut payload = 0u64;
    let mut flush = |block: &mut Vec<u8>, out: &mut BufWriter<File>| -> Result<()> {
        let n = encode_chunk(
            block,
            page,
            |_| false,
            pageset1::compress,
            &mut gather,
            &mut encoded,
        )
        .context("encoding a block")?;
        out.write_all(&encoded[..n])?;
        payload += n as u64;
        block.clear();
        Ok(())
    };
    let per = u64::from(h.chunk_pages).max(1);
    for same_chunk in pages.chunk_by(|a, b| a / per == b / per) {
        let content = workingset::chunk_pages(&get, h, m, same_chunk)?;
        for i in same_chunk {
            block.extend_from_slice(&content[i]);
            if block.len() == BLOCK_LEN {
                flush(&mut block, &mut out)?;
            }
        }
    }
    if !block.is_empty() {
        flush(&mut block, &mut out)?;
    }
    let header = LoadsetHeader {
        page_size: h.page_size,
        pages: pages.len() as u64,
        payload_len: payload,
        manifest_sha256: sha256(manifest),
        index_sha256: sha256(&index),
    };
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header.encode(sha256))?;
    Ok((LOADSET_HEADER_LEN + index.len()) as u64 + payload)
}

/// The pages of the loading set `file`, if it belongs to the image of
/// `manifest` (else none: the stream then holds every page).
fn loadset_pages(file: &[u8], manifest: &[u8], h: &Header) -> HashSet<u64> {
    let l = match LoadsetHeader::parse::<()>(file, sha256, &sha256(manifest), h) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("make-stream: {LOADSET_NAME} left aside ({e}): the stream holds every page");
            return HashSet::new();
        }
    };
    match l.index::<()>(file, sha256, h) {
        Ok(pages) => pages.collect(),
        Err(e) => {
            eprintln!("make-stream: {LOADSET_NAME} is damaged ({e}): the stream holds every page");
            HashSet::new()
        }
    }
}
