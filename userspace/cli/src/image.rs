// SPDX-License-Identifier: GPL-2.0

//! Image directories (see `Documentation/image-format.rst`): `create` from
//! a pageset1 file and a pageset2 file, `inspect`, `verify`.

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use lazyresume_image::{self as image, Encoding, Header, Manifest, PageHashes, HASH_LEN};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::pageset1;

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
    /// Store pageset1 in LZ4 blocks, as `capture` does (the default: as
    /// it is).
    #[arg(long)]
    lz4: bool,
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
    header.snapshot_len = pageset1.len() as u64;
    let pageset1 = if args.lz4 {
        header.pageset1_encoding = Encoding::Lz4Blocks;
        pageset1::encode(&pageset1)
    } else {
        pageset1
    };
    header.pageset1_len = pageset1.len() as u64;
    header.pageset1_sha256 = sha256(&pageset1);
    header.pageset2_pages = (pageset2.len() / page) as u64;
    // Check the header as a reader will.
    Header::decode(&header.encode()).context("invalid image parameters")?;

    fs::create_dir(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    fs::write(args.out.join(image::PAGESET1_NAME), &pageset1)?;
    let hashes: Vec<[u8; HASH_LEN]> = pageset2.chunks(page).map(sha256).collect();
    let hashes = hashes_file(&mut header, &hashes);
    fs::write(args.out.join(image::HASHES_NAME), &hashes)?;
    let manifest = Manifest::encode(&header, sha256);
    let per = args.chunk_pages as usize * page;
    for (i, chunk) in pageset2.chunks(per).enumerate() {
        let mut f = BufWriter::new(File::create(chunk_file(&args.out, i as u64))?);
        f.write_all(chunk)?;
        f.flush()?;
    }
    // The manifest last: an image without one is visibly incomplete.
    fs::write(args.out.join(image::MANIFEST_NAME), manifest)?;
    println!(
        "created {}: pageset1 {} bytes, pageset2 {} pages in {} chunks",
        args.out.display(),
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
    println!("kernel:          {}", h.kernel_id_str());
    println!("page size:       {}", h.page_size);
    println!(
        "pageset1:        {} bytes, sha256 {}",
        h.pageset1_len,
        hex(&h.pageset1_sha256)
    );
    println!(
        "pageset1 image:  {} bytes, stored {}",
        h.snapshot_len,
        h.pageset1_encoding.name()
    );
    println!(
        "pageset2:        {} pages ({} bytes) in {} chunk files of {} pages",
        h.pageset2_pages,
        h.pageset2_pages * u64::from(h.page_size),
        h.chunks(),
        h.chunk_pages
    );
    println!("manifest:        {} bytes", image::MANIFEST_LEN);
    println!(
        "page hashes:     {} bytes, sha256 {}",
        image::hashes_len(h.pageset2_pages).unwrap_or(0),
        hex(&h.hashes_sha256)
    );
    Ok(())
}

/// `lazyresume verify`: checks pageset1 and every pageset2 page against
/// the manifest.
pub fn verify(dir: &Path) -> Result<()> {
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
            if h.pageset1_encoding == Encoding::Lz4Blocks {
                if let Err(e) = pageset1::check(&d, h.snapshot_len) {
                    problems.push(format!("{}: {e}", p1.display()));
                }
            }
        }
    }

    let page = h.page_size as usize;
    let mut buf = Vec::new();
    for chunk in 0..h.chunks() {
        let path = chunk_file(dir, chunk);
        let want = h.chunk_len(chunk).unwrap_or(0);
        buf.clear();
        if let Err(e) = File::open(&path).and_then(|mut f| f.read_to_end(&mut buf)) {
            problems.push(format!("{}: {e}", path.display()));
            continue;
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
                    "pageset2 page {index} ({}, offset {}): SHA-256 mismatch",
                    path.display(),
                    i * page
                ));
            }
        }
    }
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
