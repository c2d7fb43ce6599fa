// SPDX-License-Identifier: GPL-2.0

//! `lazyresume capture`: take an image of this machine for lazy network
//! resume, and, in every client that resumes it, take over the client's
//! identity (the capture tool is the first process to run after a resume).

use anyhow::{bail, Context, Result};
use clap::Args;
use lazyresume_abi as abi;
use lazyresume_image::{Encoding, Header, Manifest, HASH_LEN};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::device::Device;
use crate::image::{generation_now, hashes_file, running_kernel_id, sha256};
use crate::mounts;
use crate::netconf;
use crate::pageset1::{self, Encoder};
use crate::snapshot::{Created, Snapshot};
use crate::store::{self, Store};
use crate::tftp_upload::Reader;
use crate::timeline;

/// Top of the user address space on x86-64 (4-level paging).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Page size.
const PAGE_SIZE: u64 = 4096;

/// Arguments of `lazyresume capture`.
#[derive(Args)]
pub struct CaptureArgs {
    /// Upload the image to tftp://HOST[:PORT]/NAME, a TFTP server that
    /// accepts uploads (tftpd-hpa -c) and has the directory NAME.
    #[arg(long, conflicts_with = "out", required_unless_present = "out")]
    upload: Option<String>,
    /// Write the image into this directory instead (its name is the image
    /// name clients ask for).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --out: the TFTP server (ADDRESS[:PORT]) that will serve the
    /// directory. Only the golden machine itself uses it (after
    /// --no-poweroff); every client names its own server.
    #[arg(long, default_value = "127.0.0.1:69")]
    server: String,
    /// Capture although a writable persistent filesystem is mounted (it
    /// will be inconsistent in every client that resumes the image).
    #[arg(long)]
    allow_writable: bool,
    /// Evict nothing: every page goes into pageset1 (an eager image).
    #[arg(long, conflicts_with = "keep_shared")]
    eager: bool,
    /// Keep the pages that processes share copy-on-write (after a fork) in
    /// pageset1. By default they go to pageset2 once, for all the
    /// processes that share them, and are shared again after the resume.
    #[arg(long)]
    keep_shared: bool,
    /// Run this program in every client after a resume, once the client's
    /// own identity is in place, with LAZYRESUME_IMAGE, _MAC, _ADDR,
    /// _SERVER and _PORT in its environment.
    #[arg(long)]
    hook: Option<PathBuf>,
    /// Keep running after the capture instead of powering off.
    #[arg(long)]
    no_poweroff: bool,
    /// Pages per pageset2 file: a fault fetches the whole file of its page
    /// and keeps the rest for their own faults (read-ahead). A power of
    /// two, 1 to 64; 16 makes touching every page about 4 times faster
    /// than 1 (Documentation/performance.rst).
    #[arg(long, default_value_t = 16, value_parser = parse_chunk_pages)]
    chunk_pages: u32,
    /// The image's name in its manifest, which clients must ask for: by
    /// default NAME of --upload, or the last component of --out.
    #[arg(long)]
    name: Option<String>,
    /// The image's generation, which clients can ask to be at least some
    /// number (`resume --min-generation`): by default the time in seconds
    /// since the epoch.
    #[arg(long, value_name = "N")]
    generation: Option<u64>,
}

/// A `--chunk-pages` value the module accepts.
fn parse_chunk_pages(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|e| format!("{e}"))?;
    abi::tftp_backend_chunk_flags(n)
        .map(|_| n)
        .ok_or_else(|| "a power of two from 1 to 64".to_string())
}

/// The pids of the processes whose pages go to pageset2: all but this one
/// and init, whose death (SIGBUS when the page server stays away under the
/// `sigbus` policy) would panic the kernel.
fn other_processes() -> Result<Vec<u32>> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc")? {
        if let Some(pid) = e?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
            if pid != me && pid != 1 {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// Sums of the eviction counts of every process.
#[derive(Default)]
struct Evicted {
    processes: u64,
    counts: abi::Evict,
}

impl Evicted {
    fn add(&mut self, e: &abi::Evict) {
        self.processes += 1;
        let c = &mut self.counts;
        c.seen += e.seen;
        c.evicted += e.evicted;
        c.skipped_shared += e.skipped_shared;
        c.skipped_locked += e.skipped_locked;
        c.skipped_large += e.skipped_large;
        c.skipped_pinned += e.skipped_pinned;
        c.skipped_ksm += e.skipped_ksm;
        c.skipped_zero += e.skipped_zero;
        c.skipped_other += e.skipped_other;
    }

    /// Prints where the user pages went: `pages` to pageset2 (a page
    /// shared by several processes once, as several lazy entries);
    /// `shared`: pages shared copy-on-write were evicted too.
    fn report(&self, pages: u64, shared: bool) {
        let c = &self.counts;
        let mib = |p: u64| p as f64 * PAGE_SIZE as f64 / (1 << 20) as f64;
        println!(
            "capture: {} user pages of {} processes: {} ({:.1} MiB) to pageset2, as {} lazy entries",
            c.seen,
            self.processes,
            pages,
            mib(pages),
            c.evicted
        );
        if shared {
            println!(
                "capture:   pages shared copy-on-write went once, for all the \
                 processes that share them (one page again after resume)"
            );
        }
        println!("capture:   kept in pageset1: init (pid 1) and this tool, entirely");
        let kept = [
            (
                "shared between processes (copy-on-write after fork; \
                 --keep-shared keeps them)",
                c.skipped_shared,
            ),
            (
                "mlocked (this tool, or locked by its process)",
                c.skipped_locked,
            ),
            ("part of a huge page", c.skipped_large),
            ("pinned for DMA", c.skipped_pinned),
            ("KSM-merged", c.skipped_ksm),
            ("the shared zero page (nothing to fetch)", c.skipped_zero),
            ("special or busy", c.skipped_other),
        ];
        for (why, n) in kept.iter().filter(|(_, n)| *n > 0) {
            println!(
                "capture:   kept in pageset1: {n} pages ({:.1} MiB) {why}",
                mib(*n)
            );
        }
    }
}

/// Reads the image from `/dev/snapshot`. The device must be
/// read a page at a time (a read that starts inside a page and ends past
/// its middle returns nothing), so whole pages go through `page`.
struct SnapshotReader<'a> {
    snap: &'a mut Snapshot,
    page: Vec<u8>,
    /// Bytes of `page` not handed out yet: `page[start..end]`.
    start: usize,
    end: usize,
}

impl Reader for SnapshotReader<'_> {
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if self.start == self.end {
                self.start = 0;
                self.end = self.snap.read(&mut self.page)?;
                if self.end == 0 {
                    break;
                }
            }
            let k = (buf.len() - n).min(self.end - self.start);
            buf[n..n + k].copy_from_slice(&self.page[self.start..self.start + k]);
            self.start += k;
            n += k;
        }
        Ok(n)
    }
}

/// Prints a progress line every tenth of `total`.
fn progress_printer(what: &'static str, total: u64) -> impl FnMut(u64) {
    let mut next = 0u64;
    move |done| {
        if done >= next {
            println!(
                "capture: {what} {:3}% ({} of {} KiB)",
                done * 100 / total.max(1),
                done >> 10,
                total >> 10
            );
            next = done + total / 10 + 1;
        }
    }
}

/// Pages read from the module per `LAZYRESUME_IOC_READ_PAGES`: whole
/// pageset2 files of any size.
const READ_BATCH: u64 = 256;
const _: () = assert!(READ_BATCH.is_multiple_of(1 << abi::TFTP_BACKEND_CHUNK_MAX_LOG2));

/// `lazyresume capture`.
pub fn run(device: &Path, args: &CaptureArgs) -> Result<()> {
    let (store, server) = match (&args.upload, &args.out) {
        (Some(url), _) => {
            let (server, name) = store::parse_tftp_url(url)?;
            (Store::Tftp { server, name }, server)
        }
        (None, Some(dir)) => (Store::dir(dir.clone())?, store::parse_server(&args.server)?),
        (None, None) => bail!("give --upload or --out"),
    };
    if !args.allow_writable {
        mounts::refuse_writable_persistent(args.out.as_deref())?;
    }
    let kernel_id = running_kernel_id()?;
    // The manifest's name and generation, checked before anything is
    // frozen.
    let mut header = Header::new(PAGE_SIZE as u32, args.chunk_pages, &kernel_id);
    let image_name = args.name.as_deref().unwrap_or(store.name());
    header
        .set_name(image_name)
        .with_context(|| format!("image name '{image_name}'"))?;
    header.generation = args.generation.unwrap_or_else(generation_now);
    let dev = Device::open(device)?;
    // ABI 3 (checked here) shares pages shared copy-on-write again after
    // the resume (since 2.1).
    dev.version()?;
    // This process stays in pageset1: it runs first after a resume.
    // SAFETY: mlockall(2) has no memory-safety preconditions.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
        return Err(std::io::Error::last_os_error()).context("mlockall");
    }
    let started = Instant::now();
    let mut snap = Snapshot::open()?;
    snap.freeze()?;
    println!("capture: user space frozen, image {}", store.describe());

    let mut evicted = Evicted::default();
    if !args.eager {
        for pid in other_processes()? {
            let mut req = abi::EvictTask {
                pid,
                flags: if args.keep_shared {
                    0
                } else {
                    abi::EVICT_SHARED
                },
                range: abi::Evict {
                    start: 0,
                    length: TASK_SIZE,
                    ..Default::default()
                },
            };
            match dev.evict_task(&mut req) {
                Ok(()) => evicted.add(&req.range),
                // Kernel threads and processes that exited meanwhile.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ESRCH)) => {}
                Err(e) => return Err(e).with_context(|| format!("evicting process {pid}")),
            }
        }
    }

    let name = store.name().to_string();
    let (hashes, _) = dev.page_hashes()?;
    if !args.eager {
        evicted.report(hashes.len() as u64, !args.keep_shared);
    }
    if hashes.contains(&[0; HASH_LEN]) {
        bail!("the page store has holes: was it used before the capture?");
    }
    if !hashes.is_empty() {
        put_pageset2(&dev, &store, &hashes, args.chunk_pages)?;
        // From now on the module fetches the pages from the server (and
        // frees its copies, which are not to be in pageset1).
        let prefix = format!("{name}/{}", lazyresume_image::CHUNK_PREFIX);
        let mut req = abi::TftpBackend::new(server.ip().octets(), server.port(), prefix.as_bytes());
        // Checked by the argument parser.
        let chunk_flags = abi::tftp_backend_chunk_flags(args.chunk_pages).unwrap_or(0);
        req.flags = abi::TFTP_BACKEND_NO_UPLOAD | abi::TFTP_BACKEND_LZ4 | chunk_flags;
        dev.tftp_backend(&mut req)
            .context("LAZYRESUME_IOC_TFTP_BACKEND")?;
        let (_, remote) = dev.page_hashes()?;
        if remote != hashes.len() as u64 {
            bail!(
                "pageset2 incomplete: {remote} of {} pages moved to the server",
                hashes.len()
            );
        }
    }

    match snap.create_image()? {
        Created::Image => {}
        Created::Resumed => return resumed(&dev, snap, args.hook.as_deref()),
    }
    let size = snap.image_size()?;
    println!("capture: pageset1 is {} KiB", size >> 10);
    let mut encoder = Encoder::new(SnapshotReader {
        snap: &mut snap,
        page: vec![0; PAGE_SIZE as usize],
        start: 0,
        end: 0,
    });
    let image_read = encoder.image_read.clone();
    let mut progress = progress_printer("pageset1", size);
    store.put(
        lazyresume_image::PAGESET1_NAME,
        None,
        &mut encoder,
        &mut |_| progress(image_read.get()),
    )?;
    let sums = encoder.finish_sums();
    let (p1_len, p1_hash) = (encoder.written, sha2::Digest::finalize(encoder.hash));
    if image_read.get() != size {
        bail!(
            "pageset1 is {} bytes, the kernel announced {size}",
            image_read.get()
        );
    }
    header.pageset1_len = p1_len;
    header.pageset1_sha256 = p1_hash.into();
    header.pageset1_sums_sha256 = sha256(&sums);
    header.pageset1_encoding = Encoding::Lz4Blocks;
    header.snapshot_len = size;
    header.pageset2_pages = hashes.len() as u64;
    header.pageset2_encoding = Encoding::Lz4Blocks;
    let hashes_bytes = hashes_file(&mut header, &hashes);
    let manifest = Manifest::encode(&header, sha256);
    // The manifest last: an image without one is visibly incomplete.
    for (file, mut bytes) in [
        (lazyresume_image::PAGESET1_SUMS_NAME, sums.as_slice()),
        (lazyresume_image::HASHES_NAME, hashes_bytes.as_slice()),
        (lazyresume_image::MANIFEST_NAME, manifest.as_slice()),
    ] {
        store.put(file, Some(bytes.len() as u64), &mut bytes, &mut |_| {})?;
    }
    println!(
        "capture: image {} in {}: generation {}, pageset1 {} KiB ({} KiB in LZ4 blocks), pageset2 {} pages, their hashes {} KiB, {:.1} s, not signed",
        header.name_str(),
        store.describe(),
        header.generation,
        size >> 10,
        p1_len >> 10,
        hashes.len(),
        hashes_bytes.len() >> 10,
        started.elapsed().as_secs_f64()
    );
    if args.no_poweroff {
        snap.free()?;
        snap.unfreeze()?;
        return Ok(());
    }
    println!("capture: powering off");
    // SAFETY: sync(2) and reboot(2) have no memory-safety preconditions;
    // user space is frozen and the image is stored.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    bail!("power off failed: {}", std::io::Error::last_os_error())
}

/// Writes the pages of the memory backend, whose SHA-256 are `hashes`, to
/// `store`, `chunk_pages` per file in LZ4 blocks without their zero pages
/// (no file for a chunk of zeros), reading them from the module in
/// batches.
fn put_pageset2(
    dev: &Device,
    store: &Store,
    hashes: &[[u8; HASH_LEN]],
    chunk_pages: u32,
) -> Result<()> {
    let t = Instant::now();
    let total = hashes.len() as u64;
    let per = chunk_pages as usize;
    let page = PAGE_SIZE as usize;
    let stored = std::cell::Cell::new(0u64);
    let mut files = (0..total).step_by(READ_BATCH as usize).flat_map(|first| {
        let count = READ_BATCH.min(total - first);
        match dev.read_pages(first, count) {
            Ok(b) => b
                .chunks(per * page)
                .enumerate()
                .filter_map(|(j, f)| {
                    let chunk = first / u64::from(chunk_pages) + j as u64;
                    let at = chunk as usize * per;
                    let hashes = hashes.get(at..(at + per).min(hashes.len()))?;
                    let file = pageset1::encode_chunk_file(f, page, hashes);
                    stored.set(stored.get() + file.len() as u64);
                    // A chunk of zeros has no file.
                    (!file.is_empty()).then_some(Ok((chunk, file)))
                })
                .collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        }
    });
    let size = total * PAGE_SIZE;
    let file_len = u64::from(chunk_pages) * PAGE_SIZE;
    let mut progress = progress_printer("pageset2", size);
    let n = store.put_chunks(&mut files, &mut |n| progress((n * file_len).min(size)))?;
    let secs = t.elapsed().as_secs_f64();
    let zeros = hashes
        .iter()
        .filter(|h| lazyresume_image::is_zero_page_hash(h, page))
        .count();
    println!(
        "capture: pageset2: {total} pages ({zeros} of zeros, left out) in {n} files of {} KiB \
         in LZ4 blocks ({} KiB as they are) written in {secs:.1} s ({:.2} MiB/s)",
        stored.get() >> 10,
        size >> 10,
        size as f64 / (1 << 20) as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// The servers pages come from but `server`, for the hook: ADDRESS:PORT,
/// comma-separated (empty without mirrors, or before ABI 3.3).
fn mirrors_env(dev: &Device, server: SocketAddrV4) -> String {
    let mut m = abi::Mirrors {
        op: abi::MIRRORS_GET,
        ..Default::default()
    };
    if dev.mirrors(&mut m).is_err() {
        return String::new();
    }
    let n = (m.count as usize).min(abi::SERVERS_MAX);
    // The module lists first the server the boot kernel found answering,
    // which need not be the one the hook asks first; port 0 is 69.
    let server = match server.port() {
        0 => SocketAddrV4::new(*server.ip(), 69),
        _ => server,
    };
    m.server[..n]
        .iter()
        .map(|s| SocketAddrV4::new(Ipv4Addr::from(s.addr), s.port))
        .filter(|&s| s != server)
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// In a client that resumed the image: take over its identity, thaw user
/// space, run the hook.
fn resumed(dev: &Device, mut snap: Snapshot, hook: Option<&Path>) -> Result<()> {
    // Devices are resumed and this process runs again: the first thing
    // the restored system does, for the timeline.
    let devices_resumed = timeline::monotonic_ns();
    let adopted = match dev.adopt() {
        Ok(a) => {
            // Adopting started the timeline of this resume anew.
            timeline::mark(dev, abi::TL_DEVICES_RESUMED, devices_resumed);
            netconf::apply_identity(&a.id).context("taking over the client's identity")?;
            Some(a)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
        Err(e) => return Err(e).context("LAZYRESUME_IOC_ADOPT"),
    };
    snap.unfreeze()?;
    drop(snap);
    if adopted.is_some() {
        timeline::mark(dev, abi::TL_THAWED, 0);
    }
    match &adopted {
        Some(a) => println!(
            "resume: image {} resumed as {} ({}), pages from {}:{}",
            String::from_utf8_lossy(abi::c_str_bytes(&a.image).unwrap_or(b"")),
            Ipv4Addr::from(a.id.addr),
            netconf::mac_text(&a.id.mac),
            Ipv4Addr::from(a.id.server),
            a.id.port
        ),
        None => println!("resume: resumed without a hand-off: identity unchanged"),
    }
    if let Some(h) = hook {
        let mut cmd = std::process::Command::new(h);
        if let Some(a) = &adopted {
            cmd.env(
                "LAZYRESUME_IMAGE",
                String::from_utf8_lossy(abi::c_str_bytes(&a.image).unwrap_or(b"")).as_ref(),
            )
            .env("LAZYRESUME_MAC", netconf::mac_text(&a.id.mac))
            .env("LAZYRESUME_ADDR", Ipv4Addr::from(a.id.addr).to_string())
            .env("LAZYRESUME_SERVER", Ipv4Addr::from(a.id.server).to_string())
            .env("LAZYRESUME_PORT", a.id.port.to_string())
            .env(
                "LAZYRESUME_MIRRORS",
                mirrors_env(
                    dev,
                    SocketAddrV4::new(Ipv4Addr::from(a.id.server), a.id.port),
                ),
            );
        }
        let st = cmd
            .status()
            .with_context(|| format!("running the post-resume hook {}", h.display()))?;
        if !st.success() {
            bail!("post-resume hook {} failed: {st}", h.display());
        }
        if adopted.is_some() {
            timeline::mark(dev, abi::TL_HOOK_DONE, 0);
        }
    }
    Ok(())
}
