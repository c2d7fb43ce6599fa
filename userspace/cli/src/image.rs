// SPDX-License-Identifier: GPL-2.0

//! Image directories (see `Documentation/image-format.rst`): `create` from
//! a pageset1 file and a pageset2 file, `inspect`, `verify` (with the
//! signature, `--cert`).

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use lazyresume_image::blocks::BLOCK_LEN;
use lazyresume_image::loadset::{LoadsetHeader, LoadsetSink, Stream, LOADSET_NAME, STREAM_NAME};
use lazyresume_image::{
    self as image, is_zero_page_hash, Encoding, Header, Manifest, PageHashes, SegmentSums,
    HASH_LEN, SIGNATURE_NAME,
};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::pageset1;
use crate::sign;

// A manifest's name is what a resume request names.
const _: () = assert!(image::NAME_LEN == lazyresume_abi::IMAGE_NAME_LEN);

/// SHA-256 for the format crate.
pub fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(data).into()
}

/// The `hashes` file of pageset2 page hashes `hashes`, with its SHA-256
/// sealed into `header`.
pub fn hashes_file(header: &mut Header, hashes: &[[u8; HASH_LEN]]) -> Vec<u8> {
    let file = hashes.concat();
    header.hashes_sha256 = sha256(&file);
    file
}

/// The `pageset1.sums` file of `pageset1`, with its SHA-256 sealed into
/// `header`.
pub fn sums_file(header: &mut Header, pageset1: &[u8]) -> Vec<u8> {
    let len = image::pageset1_sums_len(pageset1.len() as u64).unwrap_or(0);
    let mut file = vec![0u8; usize::try_from(len).unwrap_or(0)];
    image::write_pageset1_sums(pageset1, sha256, &mut file);
    header.pageset1_sums_sha256 = sha256(&file);
    file
}

/// The default generation of a new image: the time in seconds since the
/// epoch.
pub fn generation_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The kernel identity of the running kernel, as manifests record it.
pub fn running_kernel_id() -> Result<String> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease")?;
    let version = fs::read_to_string("/proc/sys/kernel/version")?;
    let id = image::kernel_id(
        release.trim_end().as_bytes(),
        version.trim_end().as_bytes(),
        sha256,
    );
    let end = id.iter().position(|&c| c == 0).unwrap_or(id.len());
    Ok(String::from_utf8_lossy(&id[..end]).into_owned())
}

/// Arguments of `lazyresume image-create`.
#[derive(Args)]
pub struct CreateArgs {
    /// The image directory to create.
    out: PathBuf,
    /// The pageset1 stream.
    #[arg(long)]
    pageset1: PathBuf,
    /// The pageset2 pages, back to back.
    #[arg(long)]
    pageset2: PathBuf,
    /// The build identity of the kernel the image is for.
    #[arg(long)]
    kernel_id: String,
    /// Page size.
    #[arg(long, default_value_t = 4096)]
    page_size: u32,
    /// Pages per pageset2 chunk file.
    #[arg(long, default_value_t = 1)]
    chunk_pages: u32,
    /// Store pageset1 and the pageset2 chunk files in LZ4 blocks, zero
    /// pages left out, as `capture` does (the default: as they are).
    #[arg(long)]
    lz4: bool,
    /// The image's name, as clients ask for it (its path on the TFTP
    /// server); by default the directory's last component.
    #[arg(long)]
    name: Option<String>,
    /// The image's generation (by default the time in seconds since the
    /// epoch).
    #[arg(long, value_name = "N")]
    generation: Option<u64>,
    /// Write a loading set (`loadset`) of these pageset2 pages, in this
    /// order, as a recording client would: FIRST-LAST ranges and single
    /// pages, comma-separated (pages of zeros left out), for tests and
    /// benchmarks of images made without a VM.
    #[arg(long, value_name = "PAGES")]
    loadset_pages: Option<String>,
}

/// Parses `A-B,C,...` into the pages it names, in order, each once.
pub fn parse_pages(spec: &str) -> Result<Vec<u64>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>()?, b.trim().parse::<u64>()?),
            None => {
                let a = part.parse::<u64>()?;
                (a, a)
            }
        };
        ensure!(a <= b, "{part}: the range ends before it starts");
        for i in a..=b {
            if seen.insert(i) {
                out.push(i);
            }
        }
    }
    Ok(out)
}

/// The name of chunk `chunk`.
fn chunk_file(dir: &Path, chunk: u64) -> PathBuf {
    let mut name = [0u8; image::CHUNK_NAME_LEN];
    image::chunk_name(chunk, &mut name);
    dir.join(String::from_utf8_lossy(&name).as_ref())
}

/// `lazyresume image-create`: writes manifest, pageset1 and the pageset2
/// chunk files into a new directory.
pub fn create(args: &CreateArgs) -> Result<()> {
    let pageset1 =
        fs::read(&args.pageset1).with_context(|| format!("reading {}", args.pageset1.display()))?;
    let pageset2 =
        fs::read(&args.pageset2).with_context(|| format!("reading {}", args.pageset2.display()))?;
    let page = args.page_size as usize;
    ensure!(
        page > 0 && pageset2.len() % page == 0,
        "{} is {} bytes, not a whole number of {}-byte pages",
        args.pageset2.display(),
        pageset2.len(),
        page
    );
    let mut header = Header::new(args.page_size, args.chunk_pages, &args.kernel_id);
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .out
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .context("the directory has no name: give --name")?,
    };
    header
        .set_name(&name)
        .with_context(|| format!("image name '{name}'"))?;
    header.generation = args.generation.unwrap_or_else(generation_now);
    header.snapshot_len = pageset1.len() as u64;
    let pageset1 = if args.lz4 {
        header.pageset1_encoding = Encoding::Lz4Blocks;
        header.pageset2_encoding = Encoding::Lz4Blocks;
        pageset1::encode(&pageset1)
    } else {
        pageset1
    };
    header.pageset1_len = pageset1.len() as u64;
    header.pageset1_sha256 = sha256(&pageset1);
    let sums = sums_file(&mut header, &pageset1);
    header.pageset2_pages = (pageset2.len() / page) as u64;
    // Check the header as a reader will.
    Header::decode(&header.encode()).context("invalid image parameters")?;

    fs::create_dir(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    fs::write(args.out.join(image::PAGESET1_NAME), &pageset1)?;
    fs::write(args.out.join(image::PAGESET1_SUMS_NAME), &sums)?;
    let page_hashes: Vec<[u8; HASH_LEN]> = pageset2.chunks(page).map(sha256).collect();
    let hashes = hashes_file(&mut header, &page_hashes);
    fs::write(args.out.join(image::HASHES_NAME), &hashes)?;
    let manifest = Manifest::encode(&header, sha256);
    let per = args.chunk_pages as usize;
    let mut files = 0;
    for (i, (chunk, hashes)) in pageset2
        .chunks(per * page)
        .zip(page_hashes.chunks(per))
        .enumerate()
    {
        let encoded;
        let bytes = if args.lz4 {
            encoded = pageset1::encode_chunk_file(chunk, page, hashes);
            // A chunk of zeros has no file.
            if encoded.is_empty() {
                continue;
            }
            &encoded
        } else {
            chunk
        };
        let mut f = BufWriter::new(File::create(chunk_file(&args.out, i as u64))?);
        f.write_all(bytes)?;
        f.flush()?;
        files += 1;
    }
    if let Some(spec) = &args.loadset_pages {
        let zero = |i: u64| is_zero_page_hash(&page_hashes[i as usize], page);
        let mut pages = parse_pages(spec).context("--loadset-pages")?;
        pages.retain(|&i| i < header.pageset2_pages && !zero(i));
        ensure!(
            !pages.is_empty(),
            "--loadset-pages: no page that is not zeros"
        );
        let file = crate::workingset::encode(&manifest, &header, &pages, |i| {
            let at = i as usize * page;
            &pageset2[at..at + page]
        })?;
        fs::write(args.out.join(LOADSET_NAME), &file)?;
        println!("loading set: {} pages, {} bytes", pages.len(), file.len());
    }
    // The manifest last: an image without one is visibly incomplete.
    fs::write(args.out.join(image::MANIFEST_NAME), manifest)?;
    println!(
        "created {}: image {}, generation {}, pageset1 {} bytes, pageset2 {} pages in {} chunks, {files} files",
        args.out.display(),
        header.name_str(),
        header.generation,
        header.pageset1_len,
        header.pageset2_pages,
        header.chunks()
    );
    Ok(())
}

/// Reads and checks the manifest of the image in `dir`.
fn read_manifest(dir: &Path) -> Result<Header> {
    let path = dir.join(image::MANIFEST_NAME);
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let m = Manifest::parse(&bytes, sha256).with_context(|| format!("{}", path.display()))?;
    Ok(m.header)
}

/// `lazyresume inspect`: prints the manifest and the sizes.
pub fn inspect(dir: &Path) -> Result<()> {
    let h = read_manifest(dir)?;
    println!("image:           {}", dir.display());
    println!("format version:  {}", image::FORMAT_VERSION);
    println!("name:            {}", h.name_str());
    println!("generation:      {}", h.generation);
    println!("kernel:          {}", h.kernel_id_str());
    println!("page size:       {}", h.page_size);
    println!(
        "pageset1:        {} bytes, sha256 {}",
        h.pageset1_len,
        hex(&h.pageset1_sha256)
    );
    let sums = fs::read(dir.join(image::PAGESET1_SUMS_NAME));
    println!(
        "pageset1 sums:   {} segments of {} KiB, {} bytes, sha256 {}{}",
        image::segment_count(h.pageset1_len),
        image::SEGMENT_LEN >> 10,
        image::pageset1_sums_len(h.pageset1_len).unwrap_or(0),
        hex(&h.pageset1_sums_sha256),
        match &sums {
            Err(_) => " (no file)".to_string(),
            Ok(s) => match SegmentSums::parse(&h, s, sha256) {
                Ok(_) => String::new(),
                Err(e) => format!(" (refused: {e})"),
            },
        }
    );
    println!(
        "pageset1 image:  {} bytes, stored {}",
        h.snapshot_len,
        h.pageset1_encoding.name()
    );
    println!(
        "pageset2:        {} pages ({} bytes) in {} chunks of {} pages, stored {}",
        h.pageset2_pages,
        h.pageset2_pages * u64::from(h.page_size),
        h.chunks(),
        h.chunk_pages,
        h.pageset2_encoding.name()
    );
    // What the hashes say (if they check out), and what is on disk.
    let hashes = fs::read(dir.join(image::HASHES_NAME)).unwrap_or_default();
    if let Ok(m) = PageHashes::parse(&h, &hashes, sha256) {
        let zero = |i: u64| {
            m.page_hash(i)
                .is_some_and(|x| is_zero_page_hash(x, h.page_size as usize))
        };
        let zeros = (0..h.pageset2_pages).filter(|&i| zero(i)).count();
        let per = u64::from(h.chunk_pages);
        let zero_chunks = (0..h.chunks())
            .filter(|&c| (c * per..((c + 1) * per).min(h.pageset2_pages)).all(zero))
            .count();
        println!(
            "zero pages:      {zeros} (never fetched), {zero_chunks} chunks of zeros{}",
            if h.pageset2_encoding == Encoding::Lz4Blocks {
                " (no file)"
            } else {
                ""
            }
        );
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    for chunk in 0..h.chunks() {
        if let Ok(md) = fs::metadata(chunk_file(dir, chunk)) {
            files += 1;
            bytes += md.len();
        }
    }
    println!("chunk files:     {files}, {bytes} bytes");
    println!("manifest:        {} bytes", image::MANIFEST_LEN);
    println!(
        "page hashes:     {} bytes, sha256 {}",
        image::hashes_len(h.pageset2_pages).unwrap_or(0),
        hex(&h.hashes_sha256)
    );
    for (name, label) in [
        (LOADSET_NAME, "loading set:    "),
        (STREAM_NAME, "stream:         "),
    ] {
        let Ok(file) = fs::read(dir.join(name)) else {
            continue;
        };
        let manifest = fs::read(dir.join(image::MANIFEST_NAME))?;
        match LoadsetHeader::parse::<()>(&file, sha256, &sha256(&manifest), &h) {
            Ok(l) => println!(
                "{label} {} pages ({} bytes), {} bytes, of this image",
                l.pages,
                l.pages * u64::from(h.page_size),
                file.len()
            ),
            Err(e) => println!("{label} {} bytes, refused: {e}", file.len()),
        }
    }
    match fs::metadata(dir.join(SIGNATURE_NAME)) {
        Ok(md) => println!(
            "signature:       {SIGNATURE_NAME}, {} bytes (not checked: verify --cert checks it)",
            md.len()
        ),
        Err(_) => println!("signature:       none (unsigned)"),
    }
    Ok(())
}

/// Checks the loading set (or the stream) `file` of the image whose manifest is
/// `manifest` and page hashes `m`: it reads whole and every page matches
/// its hash. Returns its page count.
fn check_loadset(file: &[u8], manifest: &[u8], h: &Header, m: &PageHashes<'_>) -> Result<u64> {
    struct Check<'a> {
        index: Vec<u8>,
        hashes: &'a PageHashes<'a>,
        bad: Vec<u64>,
    }
    impl LoadsetSink for Check<'_> {
        type Error = ();
        fn header(&mut self, _: &LoadsetHeader) -> Result<(), ()> {
            Ok(())
        }
        fn index(&mut self, _: u64, bytes: &[u8]) -> Result<(), ()> {
            self.index.extend_from_slice(bytes);
            Ok(())
        }
        fn index_bytes(&self) -> &[u8] {
            &self.index
        }
        fn page(&mut self, _: u64, page: u64, bytes: &[u8]) -> Result<(), ()> {
            if Some(&sha256(bytes)) != self.hashes.page_hash(page) {
                self.bad.push(page);
            }
            Ok(())
        }
    }
    let mut s = Stream::new(sha256, sha256(manifest), *h);
    let mut c = Check {
        index: Vec::new(),
        hashes: m,
        bad: Vec::new(),
    };
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let mut page = vec![0u8; h.page_size as usize];
    s.feed(
        file,
        &mut stage,
        &mut out,
        &mut page,
        pageset1::decompress,
        &mut c,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    s.finish::<()>().map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        c.bad.is_empty(),
        "pages {:?} do not match their hashes",
        &c.bad[..c.bad.len().min(8)]
    );
    Ok(s.pages_done())
}

/// Checks the signature of the image in `dir` against `cert`, if given
/// (a problem if there is none), or says whether there is one.
fn check_signature(dir: &Path, cert: Option<&Path>, problems: &mut Vec<String>) -> Result<()> {
    let path = dir.join(SIGNATURE_NAME);
    let sig = match fs::read(&path) {
        Ok(sig) => sig,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match cert {
                Some(_) => problems.push(format!("{}: missing (unsigned image)", path.display())),
                None => println!("{}: unsigned (no {SIGNATURE_NAME})", dir.display()),
            }
            return Ok(());
        }
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            return Ok(());
        }
    };
    let Some(cert) = cert else {
        println!(
            "{}: {} bytes, not checked (no --cert)",
            path.display(),
            sig.len()
        );
        return Ok(());
    };
    let manifest = fs::read(dir.join(image::MANIFEST_NAME))?;
    match sign::check(&manifest, &sig, cert) {
        Ok(subject) => println!(
            "{}: good signature ({} bytes) by {subject}",
            path.display(),
            sig.len()
        ),
        Err(e) => problems.push(format!("{}: {e:#}", path.display())),
    }
    Ok(())
}

/// `lazyresume verify`: checks pageset1 and every pageset2 page against
/// the manifest, and the manifest's signature against `cert`.
pub fn verify(dir: &Path, cert: Option<&Path>) -> Result<()> {
    let h = read_manifest(dir)?;
    let path = dir.join(image::HASHES_NAME);
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let m = PageHashes::parse(&h, &bytes, sha256).with_context(|| format!("{}", path.display()))?;
    let mut problems = Vec::new();

    let p1 = dir.join(image::PAGESET1_NAME);
    match fs::read(&p1) {
        Err(e) => problems.push(format!("{}: {e}", p1.display())),
        Ok(d) if d.len() as u64 != h.pageset1_len => problems.push(format!(
            "{}: {} bytes, the manifest says {}",
            p1.display(),
            d.len(),
            h.pageset1_len
        )),
        Ok(d) if sha256(&d) != h.pageset1_sha256 => {
            problems.push(format!("{}: SHA-256 mismatch", p1.display()))
        }
        Ok(d) => {
            let path = dir.join(image::PAGESET1_SUMS_NAME);
            match fs::read(&path) {
                Err(e) => problems.push(format!("{}: {e}", path.display())),
                Ok(s) => match SegmentSums::parse(&h, &s, sha256) {
                    Err(e) => problems.push(format!("{}: {e}", path.display())),
                    Ok(sums) => {
                        if let Err(e) = sums.check(&d, sha256) {
                            problems.push(format!("{}: {e}", p1.display()));
                        }
                    }
                },
            }
            if h.pageset1_encoding == Encoding::Lz4Blocks {
                if let Err(e) = pageset1::check(&d, h.snapshot_len) {
                    problems.push(format!("{}: {e}", p1.display()));
                }
            }
        }
    }

    let page = h.page_size as usize;
    let per = u64::from(h.chunk_pages);
    let lz4 = h.pageset2_encoding == Encoding::Lz4Blocks;
    let mut buf = Vec::new();
    for chunk in 0..h.chunks() {
        let path = chunk_file(dir, chunk);
        let want = h.chunk_len(chunk).unwrap_or(0);
        let count = h.chunk_page_count(chunk).unwrap_or(0);
        let hashes: Vec<[u8; HASH_LEN]> = (chunk * per..chunk * per + count)
            .map(|i| m.page_hash(i).copied().unwrap_or([0; HASH_LEN]))
            .collect();
        let all_zero = hashes.iter().all(|x| is_zero_page_hash(x, page));
        buf.clear();
        match File::open(&path).and_then(|mut f| f.read_to_end(&mut buf)) {
            // An LZ4-encoded chunk of zeros has no file.
            Err(e) if lz4 && all_zero && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
            Ok(_) => {}
        }
        if lz4 {
            match pageset1::decode_chunk_file(&buf, count as usize, page, &hashes) {
                Ok(pages) => buf = pages,
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            }
        }
        if buf.len() as u64 != want {
            problems.push(format!(
                "{}: {} bytes, expected {want}",
                path.display(),
                buf.len()
            ));
            continue;
        }
        for (i, p) in buf.chunks(page).enumerate() {
            let index = chunk * u64::from(h.chunk_pages) + i as u64;
            if Some(&sha256(p)) != m.page_hash(index) {
                problems.push(format!(
                    "pageset2 page {index} ({}, {} {}): SHA-256 mismatch",
                    path.display(),
                    if lz4 { "decoded offset" } else { "offset" },
                    i * page
                ));
            }
        }
    }
    for name in [LOADSET_NAME, STREAM_NAME] {
        let path = dir.join(name);
        let Ok(file) = fs::read(&path) else {
            continue;
        };
        let manifest = fs::read(dir.join(image::MANIFEST_NAME))?;
        match check_loadset(&file, &manifest, &h, &m) {
            Ok(n) => println!("{}: OK ({n} pages)", path.display()),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    check_signature(dir, cert, &mut problems)?;
    if problems.is_empty() {
        println!(
            "{}: OK (pageset1 {} bytes, {} pageset2 pages)",
            dir.display(),
            h.pageset1_len,
            h.pageset2_pages
        );
        return Ok(());
    }
    for p in problems.iter().take(20) {
        eprintln!("{p}");
    }
    bail!("{}: {} problem(s)", dir.display(), problems.len())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
