// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` ioctl interface (see `include/uapi/linux/lazyresume.h`).

use kernel::alloc::KVVec;
use kernel::bindings;
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

use crate::abi;
use crate::fault::{self, Policy};
use crate::lazy_entry::{self, TaskMm};
use crate::miscdev::MiscDevice;
use crate::net::SockAddrV4;
use crate::resume;
use crate::sha256::{Sha256, DIGEST_LEN};
use crate::stats::STATS;
use crate::tftp_backend::{self, TftpSource};
use crate::tftp_client::{self, Requested, Sink, Source, TransferOptions};

/// Feature bits this module implements (`lazyresume_version.features`).
const FEATURES: u64 = 0;

/// Defaults of `struct lazyresume_tftp_xfer` fields left at zero.
const DEFAULT_PORT: u16 = 69;
const DEFAULT_RTO_MS: u32 = 500;
const DEFAULT_DEADLINE_MS: u32 = 30_000;

/// The control device.
pub(crate) struct Control;

impl MiscDevice for Control {
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize> {
        STATS.dev.ioctls.inc();
        match cmd {
            abi::IOC_GET_VERSION => get_version(arg),
            abi::IOC_STATUS => status(arg),
            abi::IOC_TFTP_GET | abi::IOC_TFTP_PUT if !net_admin() => Err(EPERM),
            abi::IOC_TFTP_GET => tftp_xfer(arg, Direction::Get),
            abi::IOC_TFTP_PUT => tftp_xfer(arg, Direction::Put),
            abi::IOC_GET_POLICY => get_policy(arg),
            abi::IOC_EVICT | abi::IOC_SET_POLICY | abi::IOC_MEM_INJECT if !sys_admin() => {
                Err(EPERM)
            }
            abi::IOC_EVICT_TASK | abi::IOC_PAGE_HASHES | abi::IOC_READ_PAGES if !sys_admin() => {
                Err(EPERM)
            }
            abi::IOC_TFTP_BACKEND | abi::IOC_RESUME | abi::IOC_ADOPT
                if !sys_admin() || !net_admin() =>
            {
                Err(EPERM)
            }
            abi::IOC_TFTP_BACKEND => tftp_backend(arg),
            abi::IOC_EVICT => evict(arg),
            abi::IOC_EVICT_TASK => evict_task(arg),
            abi::IOC_PAGE_HASHES => page_hashes(arg),
            abi::IOC_READ_PAGES => read_pages(arg),
            abi::IOC_RESUME => resume(arg),
            abi::IOC_ADOPT => adopt(arg),
            abi::IOC_SET_POLICY => set_policy(arg),
            abi::IOC_MEM_INJECT => mem_inject(arg),
            _ => {
                STATS.dev.unknown_ioctls.inc();
                Err(ENOTTY)
            }
        }
    }
}

fn get_version(arg: UserPtr) -> Result<isize> {
    let answer = abi::Version::new(crate::VERSION, FEATURES).to_bytes();
    UserSlice::new(arg, answer.len())
        .writer()
        .write_slice(&answer)?;
    STATS.dev.version_queries.inc();
    Ok(0)
}

/// Whether the caller may send UDP from the initial network namespace,
/// which the module's sockets live in.
fn net_admin() -> bool {
    // SAFETY: `capable()` only reads the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) }
}

/// Whether the caller may change how faults behave system-wide.
fn sys_admin() -> bool {
    // SAFETY: `capable()` only reads the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
}

fn evict(arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::EVICT_SIZE).reader_writer();
    let mut raw = [0u8; abi::EVICT_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::Evict::from_bytes(&raw);
    evict_range(&TaskMm::current()?, &mut req, false)?;
    writer.write_slice(&req.to_bytes())?;
    Ok(0)
}

fn evict_task(arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::EVICT_TASK_SIZE).reader_writer();
    let mut raw = [0u8; abi::EVICT_TASK_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::EvictTask::from_bytes(&raw);
    if req.flags & !abi::EVICT_SHARED != 0 {
        return Err(EINVAL);
    }
    let mm = match req.pid {
        0 => TaskMm::current()?,
        pid => TaskMm::of_pid(i32::try_from(pid).map_err(|_| EINVAL)?)?,
    };
    evict_range(&mm, &mut req.range, req.flags & abi::EVICT_SHARED != 0)?;
    writer.write_slice(&req.to_bytes())?;
    Ok(0)
}

/// Evicts the range of `req` of `mm` (with `shared`, pages shared
/// copy-on-write too) and fills in the counts.
fn evict_range(mm: &TaskMm, req: &mut abi::Evict, shared: bool) -> Result {
    let page = kernel::page::PAGE_SIZE as u64;
    let end = req.start.checked_add(req.length).ok_or(EINVAL)?;
    if req.length == 0 || req.start % page != 0 || req.length % page != 0 {
        return Err(EINVAL);
    }
    let start = usize::try_from(req.start).map_err(|_| EINVAL)?;
    let end = usize::try_from(end).map_err(|_| EINVAL)?;
    let s = fault::store()?.evict(mm, start, end, shared)?;
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

fn page_hashes(arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::PAGE_HASHES_SIZE).reader_writer();
    let mut raw = [0u8; abi::PAGE_HASHES_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::PageHashes::from_bytes(&raw);
    if req.count > MAX_HASHES {
        return Err(EINVAL);
    }
    let len = req.count as usize * DIGEST_LEN;
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    let (total, remote) = fault::store()?.hashes(req.first, &mut buf);
    let addr = usize::try_from(req.hashes).map_err(|_| EFAULT)?;
    UserSlice::new(addr as UserPtr, len)
        .writer()
        .write_slice(&buf)?;
    req.total = total;
    req.remote = remote;
    writer.write_slice(&req.to_bytes())?;
    Ok(0)
}

/// Largest number of pages one `LAZYRESUME_IOC_READ_PAGES` copies.
const MAX_READ_PAGES: u64 = 256;

fn read_pages(arg: UserPtr) -> Result<isize> {
    let mut raw = [0u8; abi::READ_PAGES_SIZE];
    UserSlice::new(arg, abi::READ_PAGES_SIZE)
        .reader()
        .read_slice(&mut raw)?;
    let req = abi::ReadPages::from_bytes(&raw);
    if req.count == 0 || req.count > MAX_READ_PAGES {
        return Err(EINVAL);
    }
    let len = req.count as usize * kernel::page::PAGE_SIZE;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
    fault::store()?.read_pages(req.first, &mut buf)?;
    let addr = usize::try_from(req.buf).map_err(|_| EFAULT)?;
    UserSlice::new(addr as UserPtr, len)
        .writer()
        .write_slice(&buf)?;
    Ok(0)
}

fn resume(arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::RESUME_SIZE).reader_writer();
    let mut raw = [0u8; abi::RESUME_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::Resume::from_bytes(&raw);
    let server = unicast_server(req.id.server, req.id.port)?;
    let mut reason = resume::Reason::new();
    match resume::resume(&req, server, &mut reason) {
        Ok(loaded) => {
            req.manifest_bytes = loaded.manifest_bytes;
            req.pageset1_bytes = loaded.pageset1_bytes;
            req.elapsed_ns = loaded.elapsed_ns;
            req.set_reason(b"");
            writer.write_slice(&req.to_bytes())?;
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
            writer.write_slice(&req.to_bytes())?;
            Err(e)
        }
    }
}

fn adopt(arg: UserPtr) -> Result<isize> {
    let answer = resume::adopt()?;
    UserSlice::new(arg, abi::ADOPT_SIZE)
        .writer()
        .write_slice(&answer.to_bytes())?;
    Ok(0)
}

fn status(arg: UserPtr) -> Result<isize> {
    let f = &STATS.fault;
    let latency = f.latency.summary();
    let mut answer = abi::Status {
        pages_outstanding: lazy_entry::entry_count(),
        pages_fetched: f.served.get(),
        bytes_fetched: f.bytes.get(),
        fetch_failures: f.failures(),
        latency_count: latency.count,
        latency_mean_ns: latency.mean_ns,
        latency_max_ns: latency.max_ns,
        since_resume_ns: 0,
        server: [0; 4],
        port: 0,
        flags: 0,
        prefix: [0; abi::TFTP_PREFIX_LEN],
    };
    if let Some(ns) = resume::since_resume_ns() {
        answer.since_resume_ns = ns;
        answer.flags |= abi::STATUS_RESUMED;
    }
    if let Some(r) = fault::store()?.remote() {
        answer.server = r.server().addr;
        answer.port = r.server().port;
        let p = r.prefix();
        answer.prefix[..p.len()].copy_from_slice(p);
    }
    UserSlice::new(arg, abi::STATUS_SIZE)
        .writer()
        .write_slice(&answer.to_bytes())?;
    Ok(0)
}

fn tftp_backend(arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::TFTP_BACKEND_SIZE).reader_writer();
    let mut raw = [0u8; abi::TFTP_BACKEND_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::TftpBackend::from_bytes(&raw);
    let chunk_bits = abi::TFTP_BACKEND_CHUNK_MASK << abi::TFTP_BACKEND_CHUNK_SHIFT;
    if req.flags & !(abi::TFTP_BACKEND_NO_UPLOAD | chunk_bits) != 0 {
        return Err(EINVAL);
    }
    let upload = req.flags & abi::TFTP_BACKEND_NO_UPLOAD == 0;
    let chunk_pages = abi::tftp_backend_chunk_pages(req.flags).ok_or(EINVAL)?;
    // The module uploads one page per file only.
    if upload && chunk_pages != 1 {
        return Err(EINVAL);
    }
    let prefix = req.prefix_bytes().ok_or(EINVAL)?;
    let server = unicast_server(req.server, req.port)?;
    let blksize = match req.blksize {
        0 => tftp_backend::default_blksize(chunk_pages),
        b @ 8..=65464 => b,
        _ => return Err(EINVAL),
    };
    let rto_ms = match req.rto_ms {
        0 => tftp_backend::DEFAULT_RTO_MS,
        r => r,
    };
    let source = TftpSource::new(server, prefix, blksize, rto_ms, chunk_pages)?;
    let (pages, ns) = fault::store()?.move_to_tftp(source, upload)?;
    req.pages = pages;
    req.elapsed_ns = ns;
    writer.write_slice(&req.to_bytes())?;
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

fn get_policy(arg: UserPtr) -> Result<isize> {
    let answer = match fault::policy() {
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
        .write_slice(&answer.to_bytes())?;
    Ok(0)
}

fn set_policy(arg: UserPtr) -> Result<isize> {
    let mut raw = [0u8; abi::POLICY_SIZE];
    UserSlice::new(arg, abi::POLICY_SIZE)
        .reader()
        .read_slice(&mut raw)?;
    let req = abi::Policy::from_bytes(&raw);
    let policy = match (req.policy, req.deadline_ms) {
        (abi::POLICY_BLOCK, 0) => Policy::Block,
        (abi::POLICY_SIGBUS, 0) => Policy::Sigbus {
            deadline_ms: fault::DEFAULT_DEADLINE_MS,
        },
        (abi::POLICY_SIGBUS, deadline_ms) => Policy::Sigbus { deadline_ms },
        _ => return Err(EINVAL),
    };
    fault::set_policy(policy);
    Ok(0)
}

fn mem_inject(arg: UserPtr) -> Result<isize> {
    let mut raw = [0u8; abi::MEM_INJECT_SIZE];
    UserSlice::new(arg, abi::MEM_INJECT_SIZE)
        .reader()
        .read_slice(&mut raw)?;
    let req = abi::MemInject::from_bytes(&raw);
    if req.flags & !abi::MEM_NO_VERIFY != 0 || req.reserved != 0 {
        return Err(EINVAL);
    }
    fault::store()?.set_injection(
        req.offline != 0,
        req.corrupt_fetches,
        req.flags & abi::MEM_NO_VERIFY == 0,
    );
    Ok(0)
}

/// A sink that keeps only the length and, optionally, the SHA-256.
struct DigestSink {
    digest: Option<Sha256>,
}

impl Sink for DigestSink {
    fn write(&mut self, _offset: u64, data: &[u8]) -> Result {
        if let Some(d) = &mut self.digest {
            d.update(data);
        }
        Ok(())
    }
}

/// A source of [`abi::test_pattern`] bytes, hashed as they are first read.
struct PatternSource {
    len: u64,
    digest: Option<Sha256>,
    /// Bytes hashed so far: retransmissions read again, hashed once.
    hashed: u64,
}

impl Source for PatternSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = abi::test_pattern(offset + i as u64);
        }
        let end = offset + buf.len() as u64;
        if let Some(d) = &mut self.digest {
            if offset <= self.hashed && end > self.hashed {
                d.update(&buf[(self.hashed - offset) as usize..]);
                self.hashed = end;
            }
        }
        Ok(())
    }
}

/// Which way an ioctl transfer goes.
enum Direction {
    Get,
    Put,
}

fn tftp_xfer(arg: UserPtr, dir: Direction) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::TFTP_XFER_SIZE).reader_writer();
    let mut raw = [0u8; abi::TFTP_XFER_SIZE];
    reader.read_slice(&mut raw)?;
    let mut req = abi::TftpXfer::from_bytes(&raw);
    let file = match req.filename_bytes() {
        Some(name) if !name.is_empty() => name,
        _ => return Err(EINVAL),
    };
    let known_flags = abi::TFTP_NO_DIGEST;
    if req.reserved != 0 || req.flags & !known_flags != 0 {
        return Err(EINVAL);
    }
    let server = unicast_server(req.server, req.port)?;
    let opts = TransferOptions::from_request(
        Requested {
            blksize: req.blksize,
            windowsize: req.windowsize,
            rto_ms: req.rto_ms,
            deadline_ms: req.deadline_ms,
        },
        Requested {
            blksize: 512,
            windowsize: 1,
            rto_ms: DEFAULT_RTO_MS,
            deadline_ms: DEFAULT_DEADLINE_MS,
        },
    )?;
    let digest = (req.flags & abi::TFTP_NO_DIGEST == 0).then(Sha256::new);
    let (report, digest) = match dir {
        Direction::Get => {
            let mut sink = DigestSink { digest };
            let report = tftp_client::fetch(server, file, &opts, &mut sink)?;
            (report, sink.digest)
        }
        Direction::Put => {
            let mut source = PatternSource {
                len: req.length,
                digest,
                hashed: 0,
            };
            let report = tftp_client::upload(server, file, &opts, &mut source)?;
            (report, source.digest)
        }
    };
    req.length = report.length;
    req.elapsed_ns = report.elapsed_ns;
    req.retransmits = report.retransmits;
    req.blksize_used = report.blksize;
    req.windowsize_used = report.windowsize;
    req.sha256 = digest.map(Sha256::finish).unwrap_or([0; 32]);
    writer.write_slice(&req.to_bytes())?;
    Ok(0)
}
