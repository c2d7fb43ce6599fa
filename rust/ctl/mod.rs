// SPDX-License-Identifier: GPL-2.0

//! `ctl`, the top layer: the `/dev/lazyresume` device and its ioctls (see
//! `include/uapi/linux/lazyresume.h` and `Documentation/ioctl.rst`). It
//! checks and decodes each request and hands it to the layer that does
//! the work; it may use every layer below it.

use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::{UserPtr, UserSlice};

use crate::fault::{self, LazyFiller, Policy};
use crate::fetch::{self, Engine};
use crate::resume;
use crate::shared::abi;
use crate::store::{self, tftp::TftpSource, PageStore};
use crate::sys::lazy_entry::{self, TaskMm};
use crate::sys::miscdev::MiscDevice;
use crate::sys::net::SockAddrV4;
use crate::sys::sha256::DIGEST_LEN;
use crate::sys::task::{net_admin, sys_admin};

mod stats;
#[cfg(lazyresume_test)]
mod test_hooks;

pub(crate) use stats::STATS;

/// Feature bits this module implements (`lazyresume_version.features`).
const FEATURES: u64 = 0;

/// The TFTP port of a request that gives none.
const DEFAULT_PORT: u16 = 69;

/// The module's state, as the requests of the control device and the
/// debugfs file reach it: registered with the device, and shown by the
/// file, rather than found in globals.
pub(crate) struct Context {
    /// The fetch engine, and through it the page store.
    engine: Arc<Engine>,
    /// The filler of lazy entries, which holds the policy.
    filler: Arc<LazyFiller>,
    /// The mirrors of the next resume.
    mirrors: resume::Mirrors,
}

impl Context {
    /// The context of the pages of `engine`, filled by `filler`.
    pub(crate) fn new(engine: Arc<Engine>, filler: Arc<LazyFiller>) -> Self {
        Self {
            engine,
            filler,
            mirrors: resume::Mirrors::new(),
        }
    }

    /// The filler of lazy entries.
    pub(crate) fn filler(&self) -> &LazyFiller {
        &self.filler
    }

    /// The fetch engine.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The page store.
    pub(crate) fn store(&self) -> &PageStore {
        self.engine.store()
    }
}

impl MiscDevice for Context {
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize> {
        STATS.ioctls.inc();
        match cmd {
            abi::IOC_GET_VERSION => get_version(arg),
            abi::IOC_STATUS => status(self, arg),
            abi::IOC_GET_POLICY => get_policy(self, arg),
            abi::IOC_SET_POLICY
            | abi::IOC_SET_BACKGROUND
            | abi::IOC_EVICT_TASK
            | abi::IOC_PAGE_HASHES
            | abi::IOC_READ_PAGES
                if !sys_admin() =>
            {
                Err(EPERM)
            }
            abi::IOC_TFTP_BACKEND | abi::IOC_RESUME | abi::IOC_ADOPT
                if !sys_admin() || !net_admin() =>
            {
                Err(EPERM)
            }
            abi::IOC_TFTP_BACKEND => tftp_backend(self, arg),
            abi::IOC_EVICT_TASK => evict_task(self, arg),
            abi::IOC_PAGE_HASHES => page_hashes(self, arg),
            abi::IOC_READ_PAGES => read_pages(self, arg),
            abi::IOC_RESUME => resume(self, arg),
            abi::IOC_ADOPT => adopt(self, arg),
            abi::IOC_SET_POLICY => set_policy(self, arg),
            abi::IOC_SET_BACKGROUND => set_background(self, arg),
            abi::IOC_WORKINGSET => workingset(self, arg),
            abi::IOC_TIMELINE => timeline(self, arg),
            abi::IOC_MIRRORS => mirrors(self, arg),
            _ => {
                // The requests of the tests, in lazyresume_test.ko only:
                // lazyresume.ko refuses them like any unknown request.
                #[cfg(lazyresume_test)]
                if let Some(r) = test_hooks::ioctl(self, cmd, arg) {
                    return r;
                }
                STATS.unknown_ioctls.inc();
                Err(ENOTTY)
            }
        }
    }
}

/// Version of the module, reported by `LAZYRESUME_IOC_GET_VERSION`.
pub(crate) const VERSION: &str = "0.1.0";

fn get_version(arg: UserPtr) -> Result<isize> {
    let answer = abi::Version::new(VERSION, FEATURES);
    UserSlice::new(arg, abi::VERSION_SIZE)
        .writer()
        .write(&answer)?;
    STATS.version_queries.inc();
    Ok(0)
}

fn evict_task(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::EVICT_TASK_SIZE).reader_writer();
    let mut req: abi::EvictTask = reader.read()?;
    if req.flags & !abi::EVICT_SHARED != 0 {
        return Err(EINVAL);
    }
    let mm = match req.pid {
        0 => TaskMm::current()?,
        pid => TaskMm::of_pid(i32::try_from(pid).map_err(|_| EINVAL)?)?,
    };
    evict_range(ctx, &mm, &mut req.range, req.flags & abi::EVICT_SHARED != 0)?;
    writer.write(&req)?;
    Ok(0)
}

/// Evicts the range of `req` of `mm` (with `shared`, pages shared
/// copy-on-write too) into the page store and fills in the counts.
fn evict_range(ctx: &Context, mm: &TaskMm, req: &mut abi::Evict, shared: bool) -> Result {
    let page = kernel::page::PAGE_SIZE as u64;
    let end = req.start.checked_add(req.length).ok_or(EINVAL)?;
    if req.length == 0 || req.start % page != 0 || req.length % page != 0 {
        return Err(EINVAL);
    }
    let start = usize::try_from(req.start).map_err(|_| EINVAL)?;
    let end = usize::try_from(end).map_err(|_| EINVAL)?;
    let s = ctx.store().evict(mm, start, end, shared)?;
    req.seen = s.seen as u64;
    req.evicted = s.evicted as u64;
    req.skipped_shared = s.skipped_shared as u64;
    req.skipped_locked = s.skipped_locked as u64;
    req.skipped_large = s.skipped_large as u64;
    req.skipped_pinned = s.skipped_pinned as u64;
    req.skipped_ksm = s.skipped_ksm as u64;
    req.skipped_zero = s.skipped_zero as u64;
    req.skipped_other = s.skipped_other as u64;
    Ok(())
}

/// Largest number of hashes one `LAZYRESUME_IOC_PAGE_HASHES` copies.
const MAX_HASHES: u64 = 4096;

fn page_hashes(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::PAGE_HASHES_SIZE).reader_writer();
    let mut req: abi::PageHashes = reader.read()?;
    if req.count > MAX_HASHES {
        return Err(EINVAL);
    }
    let len = req.count as usize * DIGEST_LEN;
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    let (total, remote) = ctx.store().hashes(req.first, &mut buf);
    let addr = usize::try_from(req.hashes).map_err(|_| EFAULT)?;
    UserSlice::new(addr as UserPtr, len)
        .writer()
        .write_slice(&buf)?;
    req.total = total;
    req.remote = remote;
    writer.write(&req)?;
    Ok(0)
}

/// Largest number of pages one `LAZYRESUME_IOC_READ_PAGES` copies.
const MAX_READ_PAGES: u64 = 256;

fn read_pages(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let req: abi::ReadPages = UserSlice::new(arg, abi::READ_PAGES_SIZE).reader().read()?;
    if req.count == 0 || req.count > MAX_READ_PAGES {
        return Err(EINVAL);
    }
    let len = req.count as usize * kernel::page::PAGE_SIZE;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
    ctx.store().read_pages(req.first, &mut buf)?;
    let addr = usize::try_from(req.buf).map_err(|_| EFAULT)?;
    UserSlice::new(addr as UserPtr, len)
        .writer()
        .write_slice(&buf)?;
    Ok(0)
}

fn resume(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::RESUME_SIZE).reader_writer();
    let mut req: abi::Resume = reader.read()?;
    let server = unicast_server(req.id.server, req.id.port)?;
    let mut reason = resume::Reason::new();
    match resume::resume(ctx.engine(), &req, server, &ctx.mirrors, &mut reason) {
        Ok(loaded) => {
            req.manifest_bytes = loaded.manifest_bytes;
            req.pageset1_bytes = loaded.pageset1_bytes;
            req.elapsed_ns = loaded.elapsed_ns;
            req.generation = loaded.generation;
            req.verified = u32::from(loaded.verified);
            req.set_reason(b"");
            writer.write(&req)?;
            Ok(0)
        }
        Err(e) => {
            let image = abi::c_str_bytes(&req.image).unwrap_or(b"");
            pr_err!(
                "resume of {} from {server} failed: {}\n",
                core::str::from_utf8(image).unwrap_or("?"),
                core::str::from_utf8(reason.as_bytes()).unwrap_or("?")
            );
            req.set_reason(reason.as_bytes());
            writer.write(&req)?;
            Err(e)
        }
    }
}

fn adopt(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let answer = resume::adopt(ctx.engine())?;
    UserSlice::new(arg, abi::ADOPT_SIZE)
        .writer()
        .write(&answer)?;
    Ok(0)
}

fn status(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let f = &fault::STATS;
    let fs = &fetch::STATS;
    let latency = f.latency.summary();
    let since_resume = resume::since_resume_ns(ctx.engine());
    let engine = ctx.engine().status();
    let (_, _, kept) = ctx.store().pages();
    let mut answer = abi::Status {
        pages_outstanding: lazy_entry::entries_left(),
        pages_fetched: f.served.get(),
        bytes_fetched: f.bytes.get(),
        fetch_failures: f.failures(),
        latency_count: latency.count,
        latency_mean_ns: latency.mean_ns,
        latency_max_ns: latency.max_ns,
        since_resume_ns: 0,
        complete_after_ns: 0,
        urgent_pages: fs.urgent_pages.get(),
        urgent_bytes: fs.urgent_bytes.get(),
        urgent_p50_ns: fs.urgent_latency.percentile_ns(50),
        urgent_p99_ns: fs.urgent_latency.percentile_ns(99),
        background_pages: fs.background_pages.get(),
        background_bytes: fs.background_bytes.get(),
        background_busy_ns: fs.background_busy_ns.get(),
        pages_installed: fs.installed.get(),
        pages_local: kept as u64,
        background: engine.mode,
        rate_mib: engine.rate_mib,
        server: [0; 4],
        port: 0,
        flags: 0,
        prefix: [0; abi::TFTP_PREFIX_LEN],
    };
    if let Some(ns) = since_resume {
        answer.since_resume_ns = ns;
        answer.flags |= abi::STATUS_RESUMED;
    }
    if let Some(ns) = engine.complete_after_ns {
        answer.complete_after_ns = ns;
        answer.flags |= abi::STATUS_COMPLETE;
    }
    if let Some(r) = ctx.store().remote() {
        answer.server = r.server().addr;
        answer.port = r.server().port;
        let p = r.prefix();
        answer.prefix[..p.len()].copy_from_slice(p);
    }
    UserSlice::new(arg, abi::STATUS_SIZE)
        .writer()
        .write(&answer)?;
    Ok(0)
}

fn tftp_backend(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::TFTP_BACKEND_SIZE).reader_writer();
    let mut req: abi::TftpBackend = reader.read()?;
    let chunk_bits = abi::TFTP_BACKEND_CHUNK_MASK << abi::TFTP_BACKEND_CHUNK_SHIFT;
    let known = abi::TFTP_BACKEND_NO_UPLOAD | abi::TFTP_BACKEND_LZ4 | chunk_bits;
    if req.flags & !known != 0 {
        return Err(EINVAL);
    }
    let upload = req.flags & abi::TFTP_BACKEND_NO_UPLOAD == 0;
    let lz4 = req.flags & abi::TFTP_BACKEND_LZ4 != 0;
    // The module uploads raw files only.
    if upload && lz4 {
        return Err(EINVAL);
    }
    let chunk_pages = abi::tftp_backend_chunk_pages(req.flags).ok_or(EINVAL)?;
    // The module uploads one page per file only.
    if upload && chunk_pages != 1 {
        return Err(EINVAL);
    }
    let prefix = req.prefix_bytes().ok_or(EINVAL)?;
    let server = unicast_server(req.server, req.port)?;
    let blksize = match req.blksize {
        0 => store::tftp::default_blksize(chunk_pages),
        b @ 8..=65464 => b,
        _ => return Err(EINVAL),
    };
    let rto_ms = match req.rto_ms {
        0 => store::tftp::DEFAULT_RTO_MS,
        r => r,
    };
    let source = TftpSource::new(server, prefix, blksize, rto_ms, chunk_pages, lz4)?;
    let (pages, ns) = ctx.store().move_to_tftp(source, upload)?;
    // Faults fetch through the engine; the background lane waits for a
    // resume or for the user (the capture moves its pages there too).
    ctx.engine().reset(false)?;
    req.pages = pages;
    req.elapsed_ns = ns;
    writer.write(&req)?;
    Ok(0)
}

/// The server of a request: unicast, since replies from anything else could
/// never match it; port 0 means 69.
fn unicast_server(addr: [u8; 4], port: u16) -> Result<SockAddrV4> {
    let [a, _, _, _] = addr;
    if addr == [0; 4] || addr == [255; 4] || (224..=239).contains(&a) {
        return Err(EINVAL);
    }
    Ok(SockAddrV4 {
        addr,
        port: if port == 0 { DEFAULT_PORT } else { port },
    })
}

fn get_policy(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let answer = match ctx.filler().policy() {
        Policy::Block => abi::Policy {
            policy: abi::POLICY_BLOCK,
            deadline_ms: 0,
        },
        Policy::Sigbus { deadline_ms } => abi::Policy {
            policy: abi::POLICY_SIGBUS,
            deadline_ms,
        },
    };
    UserSlice::new(arg, abi::POLICY_SIZE)
        .writer()
        .write(&answer)?;
    Ok(0)
}

fn set_policy(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let req: abi::Policy = UserSlice::new(arg, abi::POLICY_SIZE).reader().read()?;
    let policy = match (req.policy, req.deadline_ms) {
        (abi::POLICY_BLOCK, 0) => Policy::Block,
        (abi::POLICY_SIGBUS, 0) => Policy::Sigbus {
            deadline_ms: fault::DEFAULT_DEADLINE_MS,
        },
        (abi::POLICY_SIGBUS, deadline_ms) => Policy::Sigbus { deadline_ms },
        _ => return Err(EINVAL),
    };
    ctx.filler().set_policy(policy);
    Ok(0)
}

fn set_background(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let req: abi::Background = UserSlice::new(arg, abi::BACKGROUND_SIZE).reader().read()?;
    ctx.engine().set_background(req.mode, req.rate_mib)?;
    Ok(0)
}

/// Largest number of entries one `LAZYRESUME_WORKINGSET_READ` copies.
const MAX_WORKINGSET_READ: u64 = 65536;

fn workingset(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::WORKINGSET_SIZE).reader_writer();
    let mut req: abi::Workingset = reader.read()?;
    if req.op != abi::WORKINGSET_QUERY && !sys_admin() {
        return Err(EPERM);
    }
    if req.flags != 0 || req.stream != 0 {
        return Err(EINVAL);
    }
    let engine = ctx.engine();
    match req.op {
        abi::WORKINGSET_QUERY => {}
        abi::WORKINGSET_START => engine.start_recording(req.max_pages, req.max_ms)?,
        abi::WORKINGSET_STOP => engine.stop_recording(),
        abi::WORKINGSET_READ => {
            if req.count == 0 || req.count > MAX_WORKINGSET_READ {
                return Err(EINVAL);
            }
            let mut buf = KVVec::from_elem(0u64, req.count as usize, GFP_KERNEL)?;
            let n = engine.recorded(req.first, &mut buf);
            let mut bytes = KVVec::with_capacity(n * 8, GFP_KERNEL)?;
            for i in buf.iter().take(n) {
                bytes.extend_from_slice(&i.to_ne_bytes(), GFP_KERNEL)?;
            }
            let addr = usize::try_from(req.buf).map_err(|_| EFAULT)?;
            UserSlice::new(addr as UserPtr, bytes.len())
                .writer()
                .write_slice(&bytes)?;
            req.count = n as u64;
        }
        _ => return Err(EINVAL),
    }
    let s = engine.ws_status();
    req.flags = if s.recording {
        abi::WORKINGSET_RECORDING
    } else {
        0
    };
    req.recorded = s.recorded;
    req.loadset = s.loadset;
    req.stream = s.stream;
    req.loadset_pages = fetch::STATS.workingset_pages.get();
    req.loadset_bytes = fetch::STATS.workingset_bytes.get();
    writer.write(&req)?;
    Ok(0)
}

fn timeline(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::TIMELINE_SIZE).reader_writer();
    let mut req: abi::Timeline = reader.read()?;
    let engine = ctx.engine();
    match req.op {
        abi::TIMELINE_READ => {
            let room = if req.samples == 0 {
                0
            } else {
                (req.count as usize).min(fetch::timeline::RING)
            };
            let mut buf = KVVec::from_elem(abi::TimelineSample::default(), room, GFP_KERNEL)?;
            let (n, total, period) = engine.samples(&mut buf);
            if n > 0 {
                let addr = usize::try_from(req.samples).map_err(|_| EFAULT)?;
                let mut w = UserSlice::new(addr as UserPtr, n * abi::TIMELINE_SAMPLE_SIZE).writer();
                for s in buf.iter().take(n) {
                    w.write(s)?;
                }
            }
            req.count = n as u32;
            req.total = total as u32;
            req.period_ms = period;
        }
        abi::TIMELINE_MARK => {
            if !sys_admin() {
                return Err(EPERM);
            }
            engine.timeline().user_mark(req.event, req.mark_ns)?;
        }
        _ => return Err(EINVAL),
    }
    engine.timeline().fill(&mut req);
    writer.write(&req)?;
    Ok(0)
}

/// `LAZYRESUME_IOC_MIRRORS`: sets the mirrors of the next resume, or
/// reports the servers pages come from and their counters.
fn mirrors(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::MIRRORS_SIZE).reader_writer();
    let mut req: abi::Mirrors = reader.read()?;
    match req.op {
        abi::MIRRORS_SET => {
            if !sys_admin() || !net_admin() {
                return Err(EPERM);
            }
            let n = req.count as usize;
            let given = req.server.get(..n).ok_or(EINVAL)?;
            if n > abi::MIRRORS_MAX || given.iter().any(|s| s.returns != 0) {
                return Err(EINVAL);
            }
            let mut list = [SockAddrV4 {
                addr: [0; 4],
                port: 0,
            }; abi::MIRRORS_MAX];
            for (dst, s) in list.iter_mut().zip(given) {
                *dst = unicast_server(s.addr, s.port)?;
            }
            ctx.mirrors.set(&list[..n])?;
        }
        abi::MIRRORS_GET => {
            let fs = &fetch::STATS;
            let remote = ctx.store().remote();
            let servers = remote.as_ref().map_or(&[][..], |r| r.servers());
            req.count = servers.len() as u32;
            req.server = [abi::Server::default(); abi::SERVERS_MAX];
            for ((dst, s), r) in req.server.iter_mut().zip(servers).zip(&fs.server_returns) {
                dst.addr = s.addr;
                dst.port = s.port;
                dst.returns = u16::try_from(r.get()).unwrap_or(u16::MAX);
            }
            for (k, (t, f)) in fs
                .server_transfers
                .iter()
                .zip(&fs.server_failovers)
                .enumerate()
            {
                if let (Some(dt), Some(df)) = (req.transfers.get_mut(k), req.failovers.get_mut(k)) {
                    *dt = t.get();
                    *df = f.get();
                }
            }
        }
        _ => return Err(EINVAL),
    }
    writer.write(&req)?;
    Ok(0)
}
