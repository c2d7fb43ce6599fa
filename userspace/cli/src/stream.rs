// SPDX-License-Identifier: GPL-2.0

//! `lazyresume make-stream`: an image's stream, the pages a resumed
//! client's background lane fetches in one sequential transfer instead of
//! one transfer per chunk file (`Documentation/image-format.rst`,
//! `Documentation/fetch.rst`).

use anyhow::{ensure, Context, Result};
use clap::Args;
use lazyresume_image::loadset::{LoadsetHeader, LOADSET_HEADER_LEN, LOADSET_NAME, STREAM_NAME};
use lazyresume_image::{
    is_zero_page_hash, Header, Manifest, PageHashes, HASHES_NAME, MANIFEST_NAME,
};
use std::collections::HashSet;

use crate::image::sha256;
use crate::location::Location;
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
    let get = |file: &str| {
        at.get(file)?
            .with_context(|| format!("{}: no {file}", at.describe()))
    };
    let content = workingset::chunk_pages(&get, &h, &m, &pages)?;
    let file = workingset::encode(&manifest, &h, &pages, |i| &content[&i])?;
    at.put(STREAM_NAME, &file)?;
    println!(
        "make-stream: {}/{STREAM_NAME}: {} pages ({} MiB) in {} bytes, {} left to the loading set",
        at.describe(),
        pages.len(),
        (pages.len() * page) >> 20,
        file.len(),
        loadset.len()
    );
    Ok(())
}

/// The pages of the loading set `file`, if it belongs to the image of
/// `manifest` (else none: the stream then holds every page).
fn loadset_pages(file: &[u8], manifest: &[u8], h: &Header) -> HashSet<u64> {
    let Ok(l) = LoadsetHeader::parse::<()>(file, sha256, &sha256(manifest), h) else {
        eprintln!("make-stream: {LOADSET_NAME} is not this image's: the stream holds every page");
        return HashSet::new();
    };
    let index = usize::try_from(l.pages.saturating_mul(8))
        .ok()
        .and_then(|n| file.get(LOADSET_HEADER_LEN..LOADSET_HEADER_LEN.checked_add(n)?));
    match index {
        Some(index) if sha256(index) == l.index_sha256 => index
            .chunks_exact(8)
            .map(|e| u64::from_le_bytes(e.try_into().unwrap_or([0xff; 8])))
            .collect(),
        _ => {
            eprintln!("make-stream: {LOADSET_NAME} is damaged: the stream holds every page");
            HashSet::new()
        }
    }
}
