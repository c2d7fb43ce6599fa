// SPDX-License-Identifier: GPL-2.0

//! `lazyresume resume --via-snapshot-dev --dry-run`: a benchmark aid, not
//! a way to resume. It loads an image the way user space could without
//! the loader of patch 0008, and measures it: `NAME/manifest` and
//! `NAME/pageset1` over a user-space TFTP client (`tftp_download`, the
//! module's options), the SHA-256 and the LZ4 blocks checked and decoded
//! as the module does, the hibernation image written into `/dev/snapshot`
//! opened `O_WRONLY` (as uswsusp's resume does). Then it closes the device
//! instead of `SNAPSHOT_FREEZE` and `SNAPSHOT_ATOMIC_RESTORE`: the kernel
//! frees what the load allocated. `Documentation/performance.rst`
//! compares it with the module's `resume --dry-run`.

use anyhow::{anyhow, bail, ensure, Context, Result};
use lazyresume_image::blocks::{Decoder, BLOCK_LEN};
use lazyresume_image::{self as image, Encoding, Manifest};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use crate::image::{running_kernel_id, sha256};
use crate::tftp_download::{self, Options};

/// Largest manifest read, as the module's.
const MAX_MANIFEST: usize = 64 << 10;
/// Transfer deadline: a minute, and two more seconds per MiB of pageset1,
/// as the module's.
const DEADLINE: Duration = Duration::from_secs(60);
const DEADLINE_PER_MIB: Duration = Duration::from_secs(2);

/// Decompresses the LZ4 block `src` into `dst` (as `pageset1::check`).
fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    lz4_flex::block::decompress_into(src, dst).ok()
}

/// Time spent in each step of the load.
#[derive(Default)]
struct Times {
    hash: Duration,
    /// `Decoder::feed`, the writes into the device included.
    feed: Duration,
    write: Duration,
}

/// Loads `image` from `server` into `/dev/snapshot` and gives the load up;
/// prints what it measured.
pub fn dry_run(server: SocketAddrV4, image: &str, blksize: u16, windowsize: u16) -> Result<()> {
    let start = Instant::now();
    let mut opts = Options {
        blksize: if blksize == 0 { 65464 } else { blksize },
        windowsize: windowsize.max(1),
        rto: Duration::from_millis(500),
        deadline: DEADLINE,
    };

    // The manifest, checked as the module checks it.
    let name = format!("{image}/{}", image::MANIFEST_NAME);
    let mut manifest = Vec::new();
    tftp_download::fetch(server, &name, &opts, &mut |_, data| {
        ensure!(
            manifest.len() + data.len() <= MAX_MANIFEST,
            "{name}: too large"
        );
        manifest.extend_from_slice(data);
        Ok(())
    })?;
    let m = Manifest::parse(&manifest, sha256).map_err(|e| anyhow!("{name}: {e}"))?;
    let h = m.header;
    // SAFETY: sysconf() has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u32;
    ensure!(
        h.page_size == page_size,
        "image has {}-byte pages, this kernel {page_size}",
        h.page_size
    );
    let ours = running_kernel_id()?;
    ensure!(
        h.kernel_id_str() == ours,
        "image is of kernel '{}', this is '{ours}'",
        h.kernel_id_str()
    );
    ensure!(h.snapshot_len > 0, "pageset1 holds no image");
    opts.deadline = DEADLINE + DEADLINE_PER_MIB * u32::try_from(h.pageset1_len >> 20)?;

    // The device: PM_RESTORE_PREPARE notifiers and the memory bitmaps, as
    // hibernate_loader_start().
    let t = Instant::now();
    let mut dev = OpenOptions::new()
        .write(true)
        .open("/dev/snapshot")
        .context("cannot open /dev/snapshot for writing")?;
    let open = t.elapsed();

    let name = format!("{image}/{}", image::PAGESET1_NAME);
    let mut digest = Sha256::new();
    let mut len = 0u64;
    let mut written = 0u64;
    let mut times = Times::default();
    let mut decoder = Decoder::new(h.snapshot_len);
    let (mut stage, mut out) = (vec![0u8; BLOCK_LEN], vec![0u8; BLOCK_LEN]);
    let lz4 = h.pageset1_encoding == Encoding::Lz4Blocks;
    let report = tftp_download::fetch(server, &name, &opts, &mut |offset, data| {
        ensure!(
            offset == len && len + data.len() as u64 <= h.pageset1_len,
            "pageset1 is longer than the manifest says"
        );
        let t = Instant::now();
        digest.update(data);
        times.hash += t.elapsed();
        len += data.len() as u64;
        let mut write = |image: &[u8]| -> std::io::Result<()> {
            let t = Instant::now();
            // snapshot_write() takes at most the rest of a page per call:
            // write_all() loops, and fails on a 0 (the image is longer
            // than its header says).
            let r = dev.write_all(image);
            times.write += t.elapsed();
            written += image.len() as u64;
            r
        };
        if !lz4 {
            return write(data).context("writing /dev/snapshot");
        }
        let t = Instant::now();
        let r = decoder.feed(data, &mut stage, &mut out, decompress, &mut write);
        times.feed += t.elapsed();
        r.map_err(|e| anyhow!("pageset1: {e}"))
    })?;
    ensure!(
        len == h.pageset1_len,
        "pageset1 is {len} bytes, the manifest says {}",
        h.pageset1_len
    );
    let t = Instant::now();
    let sum: [u8; 32] = digest.finalize().into();
    times.hash += t.elapsed();
    if sum != h.pageset1_sha256 {
        bail!("pageset1 corrupted: SHA-256 mismatch");
    }
    if lz4 {
        decoder
            .finish::<std::io::Error>()
            .map_err(|e| anyhow!("pageset1 corrupted: {e}"))?;
    }
    ensure!(
        written == h.snapshot_len,
        "wrote {written} image bytes of {}",
        h.snapshot_len
    );
    let total = start.elapsed();
    // The dry run: no SNAPSHOT_FREEZE, no SNAPSHOT_ATOMIC_RESTORE. Closing
    // frees the loaded pages, the bitmaps, and runs PM_POST_RESTORE.
    let t = Instant::now();
    drop(dev);
    let close = t.elapsed();

    let us = |d: Duration| d.as_micros();
    let decode = times.feed.saturating_sub(times.write);
    let fetch = total.saturating_sub(open + times.hash + decode + times.write);
    println!(
        "resume: dry run via /dev/snapshot: manifest {} bytes, pageset1 {len} bytes, \
         image {written} bytes, fetched and loaded in {} ms",
        manifest.len(),
        total.as_millis()
    );
    println!(
        "snapshot-dev: total_us={} open_us={} fetch_us={} hash_us={} decode_us={} \
         write_us={} close_us={} pageset1_bytes={len} image_bytes={written} \
         blksize={} windowsize={} retransmits={}",
        us(total),
        us(open),
        us(fetch),
        us(times.hash),
        us(decode),
        us(times.write),
        us(close),
        report.blksize,
        report.windowsize,
        report.retransmits
    );
    Ok(())
}
