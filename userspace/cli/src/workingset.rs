// SPDX-License-Identifier: GPL-2.0

//! `lazyresume workingset`: the recording of the order in which a resumed
//! client first touches its pageset2 pages, and the loading set made of
//! it (`Documentation/image-format.rst`, `Documentation/fetch.rst`).

use anyhow::{bail, ensure, Context, Result};
use clap::Subcommand;
use lazyresume_abi as abi;
use lazyresume_image::blocks::{encode_chunk, max_encoded_len, BLOCK_LEN};
use lazyresume_image::loadset::{LoadsetHeader, LOADSET_NAME};
use lazyresume_image::{
    self as image, chunk_name, is_zero_page_hash, Encoding, Header, Manifest, PageHashes,
    CHUNK_NAME_LEN, HASH_LEN,
};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

use crate::device::Device;
use crate::image::sha256;
use crate::pageset1;
use crate::store;
use crate::tftp_download;
use crate::tftp_upload;

/// What `lazyresume workingset` does.
#[derive(Subcommand)]
pub enum Command {
    /// Start recording first touches anew (a client resumed with
    /// `resume --record-workingset` records from the resume on).
    Start {
        /// Stop after this many pages (0: every pageset2 page).
        #[arg(long, default_value_t = 0)]
        max_pages: u64,
        /// Stop after this many milliseconds (0: never).
        #[arg(long, default_value_t = 0)]
        max_ms: u64,
    },
    /// Stop recording; with --save, --upload or --out, write the loading
    /// set of what was recorded.
    Stop {
        /// Upload the loading set into the image this client resumed
        /// from, on its server.
        #[arg(long)]
        save: bool,
        /// Upload it into the image tftp://HOST[:PORT]/NAME instead.
        #[arg(long, value_name = "URL", conflicts_with = "save")]
        upload: Option<String>,
        /// Write it into DIR/loadset instead (the image's pages still come
        /// from the server this client resumed from).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["save", "upload"])]
        out: Option<PathBuf>,
    },
    /// Show the recording and the loading set of this client.
    Show,
    /// Compare the loading set of IMAGE (a directory) with the pages a
    /// client touched, recorded into OTHER (a loading set of the same
    /// image): how many of the loading set's pages it never touched.
    /// Needs no device.
    Compare {
        /// The image directory whose loading set is compared.
        image: PathBuf,
        /// The loading set a client recorded (`workingset stop --out`).
        touched: PathBuf,
    },
}

/// Runs `lazyresume workingset COMMAND`.
pub fn run(device: &Path, cmd: &Command) -> Result<()> {
    let open = || Device::open(device);
    match cmd {
        Command::Start { max_pages, max_ms } => {
            let dev = open()?;
            let mut req = abi::Workingset {
                op: abi::WORKINGSET_START,
                max_pages: *max_pages,
                max_ms: *max_ms,
                ..Default::default()
            };
            dev.workingset(&mut req)?;
            println!("workingset: recording");
            Ok(())
        }
        Command::Stop { save, upload, out } => {
            let dev = open()?;
            let mut req = abi::Workingset {
                op: abi::WORKINGSET_STOP,
                ..Default::default()
            };
            dev.workingset(&mut req)?;
            println!("workingset: recorded {} pages", req.recorded);
            if !save && upload.is_none() && out.is_none() {
                return Ok(());
            }
            let order = dev.workingset_order()?;
            let (server, name) = resumed_image(&dev)?;
            let file = build(server, &name, &order)?;
            match (upload, out) {
                (Some(url), _) => {
                    let (to, to_name) = store::parse_tftp_url(url)?;
                    put(to, &to_name, &file)
                }
                (None, Some(dir)) => {
                    let path = dir.join(LOADSET_NAME);
                    std::fs::write(&path, &file)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "workingset: loading set {} ({} bytes)",
                        path.display(),
                        file.len()
                    );
                    Ok(())
                }
                (None, None) => put(server, &name, &file),
            }
        }
        Command::Show => {
            let mut req = abi::Workingset::default();
            open()?.workingset(&mut req)?;
            for line in show_lines(&req) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Compare { image, touched } => {
            for line in compare(image, touched)? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

/// The pages of the loading set `file` of the image whose manifest is
/// `manifest`, in its order.
fn loadset_pages(file: &[u8], manifest: &[u8], h: &Header) -> Result<Vec<u64>> {
    let l = LoadsetHeader::parse::<()>(file, sha256, &sha256(manifest), h)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(l.index::<()>(file, sha256, h)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .collect())
}

/// `workingset compare`'s lines: of `image`'s loading set, the pages the
/// recording `touched` does not hold (brought for nothing), and the
/// touched pages the loading set lacks (left to faults).
fn compare(image: &Path, touched: &Path) -> Result<Vec<String>> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let manifest = read(&image.join(image::MANIFEST_NAME))?;
    let h = Manifest::parse(&manifest, sha256)
        .map_err(|e| anyhow::anyhow!("{}: {e}", image::MANIFEST_NAME))?
        .header;
    let path = image.join(LOADSET_NAME);
    let set = loadset_pages(&read(&path)?, &manifest, &h)
        .with_context(|| format!("{}", path.display()))?;
    let seen: HashSet<u64> = loadset_pages(&read(touched)?, &manifest, &h)
        .with_context(|| format!("{}", touched.display()))?
        .into_iter()
        .collect();
    let mine: HashSet<u64> = set.iter().copied().collect();
    let untouched = set.iter().filter(|p| !seen.contains(p)).count();
    let missed = seen.iter().filter(|p| !mine.contains(p)).count();
    let mib = |n: usize| n as f64 * f64::from(h.page_size) / 1048576.0;
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    Ok(vec![
        format!(
            "loading set:   {} pages ({:.1} MiB)",
            set.len(),
            mib(set.len())
        ),
        format!(
            "touched:       {} pages ({:.1} MiB)",
            seen.len(),
            mib(seen.len())
        ),
        format!(
            "never touched: {untouched} pages of the loading set ({:.1} MiB, {:.1} %)",
            mib(untouched),
            pct(untouched, set.len())
        ),
        format!(
            "not in it:     {missed} touched pages ({:.1} MiB, {:.1} % of those touched)",
            mib(missed),
            pct(missed, seen.len())
        ),
    ])
}

/// The lines `workingset show` prints for `req`.
fn show_lines(req: &abi::Workingset) -> Vec<String> {
    let state = |s| match s {
        abi::LOADSET_NONE => "none",
        abi::LOADSET_PENDING => "pending",
        abi::LOADSET_DONE => "done",
        abi::LOADSET_REFUSED => "refused (see the kernel log)",
        abi::LOADSET_MISSING => "missing (the image has none)",
        abi::LOADSET_STOPPED => "stopped (page files bring the rest)",
        _ => "?",
    };
    let loadset = state(req.loadset);
    let stream = state(req.stream);
    vec![
        format!(
            "recording:          {}",
            if req.flags & abi::WORKINGSET_RECORDING != 0 {
                "yes"
            } else {
                "no"
            }
        ),
        format!("recorded pages:     {}", req.recorded),
        format!("loading set:        {loadset}"),
        format!(
            "loading set pages:  {} kept, {} bytes fetched",
            req.loadset_pages, req.loadset_bytes
        ),
        format!("stream:             {stream}"),
    ]
}

/// Uploads the loading set `file` into image `name` on `server`.
fn put(server: SocketAddrV4, name: &str, file: &[u8]) -> Result<()> {
    let path = format!("{name}/{LOADSET_NAME}");
    let mut data = file;
    tftp_upload::upload(
        server,
        &path,
        Some(file.len() as u64),
        &mut data,
        &mut |_| {},
    )?;
    println!(
        "workingset: loading set tftp://{server}/{path} ({} bytes)",
        file.len()
    );
    Ok(())
}

/// The server and name of the image this client resumed from.
fn resumed_image(dev: &Device) -> Result<(SocketAddrV4, String)> {
    let s = dev.status()?;
    ensure!(s.server != [0; 4], "this client has no image server");
    let prefix = String::from_utf8_lossy(abi::c_str_bytes(&s.prefix).unwrap_or(b"")).into_owned();
    let Some(name) = prefix.strip_suffix(&format!("/{}", image::CHUNK_PREFIX)) else {
        bail!("page files '{prefix}...' are not those of an image");
    };
    Ok((
        SocketAddrV4::new(Ipv4Addr::from(s.server), s.port),
        name.to_string(),
    ))
}

/// The loading set of the pages `order` (first-touch order) of image
/// `name` on `server`: their contents from its chunk files, each checked
/// against its hash; pages of zeros (never fetched) left out.
pub fn build(server: SocketAddrV4, name: &str, order: &[u64]) -> Result<Vec<u8>> {
    let manifest = tftp_download::get(server, &format!("{name}/{}", image::MANIFEST_NAME))?;
    let h = Manifest::parse(&manifest, sha256)
        .with_context(|| format!("{name}/{}", image::MANIFEST_NAME))?
        .header;
    let hashes = tftp_download::get(server, &format!("{name}/{}", image::HASHES_NAME))?;
    let m = PageHashes::parse(&h, &hashes, sha256)?;
    let page = h.page_size as usize;
    let zero = |i: u64| m.page_hash(i).is_none_or(|x| is_zero_page_hash(x, page));
    let mut seen = std::collections::HashSet::new();
    let pages: Vec<u64> = order
        .iter()
        .copied()
        .filter(|&i| i < h.pageset2_pages && !zero(i) && seen.insert(i))
        .collect();
    ensure!(!pages.is_empty(), "no page to put into a loading set");
    let get = |file: &str| tftp_download::get(server, &format!("{name}/{file}"));
    let content = chunk_pages(&get, &h, &m, &pages)?;
    encode(&manifest, &h, &pages, |i| &content[&i])
}

/// The loading set of the image whose manifest is `manifest` and header
/// `h`: its pages `pages` (distinct, none of zeros, first-touch order),
/// whose contents `content` gives.
pub fn encode<'a>(
    manifest: &[u8],
    h: &Header,
    pages: &[u64],
    content: impl Fn(u64) -> &'a [u8],
) -> Result<Vec<u8>> {
    let page = h.page_size as usize;
    let mut payload_pages = Vec::with_capacity(pages.len() * page);
    for &i in pages {
        payload_pages.extend_from_slice(content(i));
    }
    let index: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
    let mut block = vec![0u8; BLOCK_LEN];
    let mut payload = vec![0u8; max_encoded_len(payload_pages.len()).context("too large")?];
    let n = encode_chunk(
        &payload_pages,
        page,
        |_| false,
        pageset1::compress,
        &mut block,
        &mut payload,
    )
    .context("encoding the pages")?;
    payload.truncate(n);
    let header = LoadsetHeader {
        page_size: h.page_size,
        pages: pages.len() as u64,
        payload_len: n as u64,
        manifest_sha256: sha256(manifest),
        index_sha256: sha256(&index),
    };
    let mut file = header.encode(sha256).to_vec();
    file.extend_from_slice(&index);
    file.extend_from_slice(&payload);
    Ok(file)
}

/// The contents of `pages` of the image, from its chunk files (`get`
/// reads a file of the image), checked against their hashes.
pub fn chunk_pages(
    get: &dyn Fn(&str) -> Result<Vec<u8>>,
    h: &Header,
    m: &PageHashes<'_>,
    pages: &[u64],
) -> Result<HashMap<u64, Vec<u8>>> {
    let page = h.page_size as usize;
    let per = u64::from(h.chunk_pages);
    let mut chunks: Vec<u64> = pages.iter().map(|i| i / per).collect();
    chunks.sort_unstable();
    chunks.dedup();
    let wanted: std::collections::HashSet<u64> = pages.iter().copied().collect();
    let mut out = HashMap::new();
    for chunk in chunks {
        let mut n = [0u8; CHUNK_NAME_LEN];
        chunk_name(chunk, &mut n);
        let path = String::from_utf8_lossy(&n).into_owned();
        let file = get(&path)?;
        let count = h.chunk_page_count(chunk).unwrap_or(0);
        let first = chunk * per;
        let hashes: Vec<[u8; HASH_LEN]> = (first..first + count)
            .map(|i| m.page_hash(i).copied().unwrap_or([0; HASH_LEN]))
            .collect();
        let data = match h.pageset2_encoding {
            Encoding::Lz4Blocks => {
                pageset1::decode_chunk_file(&file, count as usize, page, &hashes)
                    .with_context(|| path.clone())?
            }
            Encoding::Raw => file,
        };
        for (j, p) in data.chunks(page).enumerate() {
            let i = first + j as u64;
            if !wanted.contains(&i) {
                continue;
            }
            ensure!(
                Some(&sha256(p)) == m.page_hash(i),
                "{path}: page {i} does not match its hash"
            );
            out.insert(i, p.to_vec());
        }
    }
    ensure!(
        out.len() == wanted.len(),
        "the chunk files lack {} of the pages",
        wanted.len() - out.len()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_says_what_it_knows() {
        let req = abi::Workingset {
            flags: abi::WORKINGSET_RECORDING,
            recorded: 12,
            loadset: abi::LOADSET_REFUSED,
            loadset_pages: 3,
            loadset_bytes: 4096,
            stream: abi::LOADSET_STOPPED,
            ..Default::default()
        };
        let l = show_lines(&req);
        assert_eq!(l[0], "recording:          yes");
        assert_eq!(l[1], "recorded pages:     12");
        assert_eq!(l[2], "loading set:        refused (see the kernel log)");
        assert_eq!(l[3], "loading set pages:  3 kept, 4096 bytes fetched");
        assert_eq!(
            l[4],
            "stream:             stopped (page files bring the rest)"
        );
    }
}
