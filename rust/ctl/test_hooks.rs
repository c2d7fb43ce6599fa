// SPDX-License-Identifier: GPL-2.0

//! The requests of `/dev/lazyresume` that only the tests and benchmarks
//! use: evicting the caller's own pages (`LAZYRESUME_IOC_EVICT`), fault
//! injection (`LAZYRESUME_IOC_MEM_INJECT`) and transfers by the TFTP
//! client (`LAZYRESUME_IOC_TFTP_GET`, `LAZYRESUME_IOC_TFTP_PUT`).
//!
//! Compiled into `lazyresume_test.ko` only (`--cfg lazyresume_test`);
//! `lazyresume.ko` answers these requests with `ENOTTY`.

use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

use super::{evict_range, unicast_server, Context};
use crate::shared::abi;
use crate::sys::lazy_entry::TaskMm;
use crate::sys::sha256::Sha256;
use crate::sys::task::{net_admin, sys_admin};
use crate::tftp::client::{self, Endpoint, Requested, Sink, Source, TransferOptions};

/// Defaults of `struct lazyresume_tftp_xfer` fields left at zero.
const DEFAULT_RTO_MS: u32 = 500;
const DEFAULT_DEADLINE_MS: u32 = 30_000;

/// Serves `cmd` if it is one of the test requests: `None` if it is not.
pub(super) fn ioctl(ctx: &Context, cmd: u32, arg: UserPtr) -> Option<Result<isize>> {
    Some(match cmd {
        abi::IOC_TFTP_GET | abi::IOC_TFTP_PUT if !net_admin() => Err(EPERM),
        abi::IOC_TFTP_GET => tftp_xfer(arg, Direction::Get),
        abi::IOC_TFTP_PUT => tftp_xfer(arg, Direction::Put),
        abi::IOC_EVICT | abi::IOC_MEM_INJECT if !sys_admin() => Err(EPERM),
        abi::IOC_EVICT => evict(ctx, arg),
        abi::IOC_MEM_INJECT => mem_inject(ctx, arg),
        _ => return None,
    })
}

/// `LAZYRESUME_IOC_EVICT`: evicts a range of the caller's own pages.
fn evict(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::EVICT_SIZE).reader_writer();
    let mut req: abi::Evict = reader.read()?;
    evict_range(ctx, &TaskMm::current()?, &mut req, false)?;
    writer.write(&req)?;
    Ok(0)
}

/// `LAZYRESUME_IOC_MEM_INJECT`: sets the page store's fault injection.
fn mem_inject(ctx: &Context, arg: UserPtr) -> Result<isize> {
    let req: abi::MemInject = UserSlice::new(arg, abi::MEM_INJECT_SIZE).reader().read()?;
    if req.flags & !abi::MEM_NO_VERIFY != 0 || req.reserved != 0 {
        return Err(EINVAL);
    }
    ctx.store().set_injection(
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
    /// A fetch (`LAZYRESUME_IOC_TFTP_GET`).
    Get,
    /// An upload (`LAZYRESUME_IOC_TFTP_PUT`).
    Put,
}

/// `LAZYRESUME_IOC_TFTP_GET` and `_PUT`: one transfer by the TFTP client.
fn tftp_xfer(arg: UserPtr, dir: Direction) -> Result<isize> {
    let (mut reader, mut writer) = UserSlice::new(arg, abi::TFTP_XFER_SIZE).reader_writer();
    let mut req: abi::TftpXfer = reader.read()?;
    let file = match req.filename_bytes() {
        Some(name) if !name.is_empty() => name,
        _ => return Err(EINVAL),
    };
    let known_flags = match dir {
        Direction::Get => abi::TFTP_NO_DIGEST | abi::TFTP_TWICE,
        Direction::Put => abi::TFTP_NO_DIGEST,
    };
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
        Direction::Get if req.flags & abi::TFTP_TWICE != 0 => {
            let mut endpoint = Endpoint::new(opts.blksize)?;
            endpoint.fetch(server, file, &opts, &mut DigestSink { digest: None })?;
            let mut sink = DigestSink { digest };
            let report = endpoint.fetch(server, file, &opts, &mut sink)?;
            (report, sink.digest)
        }
        Direction::Get => {
            let mut sink = DigestSink { digest };
            let report = client::fetch(server, file, &opts, &mut sink)?;
            (report, sink.digest)
        }
        Direction::Put => {
            let mut source = PatternSource {
                len: req.length,
                digest,
                hashed: 0,
            };
            let report = client::upload(server, file, &opts, &mut source)?;
            (report, source.digest)
        }
    };
    req.length = report.length;
    req.elapsed_ns = report.elapsed_ns;
    req.retransmits = report.retransmits;
    req.blksize_used = report.blksize;
    req.windowsize_used = report.windowsize;
    req.sha256 = digest.map(Sha256::finish).unwrap_or([0; 32]);
    writer.write(&req)?;
    Ok(0)
}
