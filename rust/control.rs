// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` ioctl interface (see `include/uapi/linux/lazyresume.h`).

use kernel::bindings;
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

use crate::abi;
use crate::miscdev::MiscDevice;
use crate::net::SockAddrV4;
use crate::sha256::Sha256;
use crate::stats::STATS;
use crate::tftp_client::{self, Sink, Source, TransferOptions};

/// Feature bits this module implements (`lazyresume_version.features`).
const FEATURES: u64 = 0;

/// Defaults of `struct lazyresume_tftp_xfer` fields left at zero.
const DEFAULT_PORT: u16 = 69;
const DEFAULT_RTO_MS: u32 = 500;
const DEFAULT_DEADLINE_MS: u32 = 30_000;
/// Largest window accepted: bounds what one burst of an upload sends.
const MAX_WINDOWSIZE: u16 = 64;

/// The control device.
pub(crate) struct Control;

impl MiscDevice for Control {
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize> {
        STATS.dev.ioctls.inc();
        match cmd {
            abi::IOC_GET_VERSION => get_version(arg),
            abi::IOC_TFTP_GET | abi::IOC_TFTP_PUT if !net_admin() => Err(EPERM),
            abi::IOC_TFTP_GET => tftp_xfer(arg, Direction::Get),
            abi::IOC_TFTP_PUT => tftp_xfer(arg, Direction::Put),
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
    let blksize = match req.blksize {
        0 => 512,
        b @ 8..=65464 => b,
        _ => return Err(EINVAL),
    };
    if req.windowsize > MAX_WINDOWSIZE {
        return Err(EINVAL);
    }
    // A unicast server: replies from anything else could never match it.
    let [a, _, _, _] = req.server;
    if req.server == [0; 4] || req.server == [255; 4] || (224..=239).contains(&a) {
        return Err(EINVAL);
    }
    let opts = TransferOptions {
        blksize,
        windowsize: req.windowsize.max(1),
        rto_ms: if req.rto_ms == 0 {
            DEFAULT_RTO_MS
        } else {
            req.rto_ms
        },
        deadline_ms: if req.deadline_ms == 0 {
            DEFAULT_DEADLINE_MS
        } else {
            req.deadline_ms
        },
    };
    let server = SockAddrV4 {
        addr: req.server,
        port: if req.port == 0 {
            DEFAULT_PORT
        } else {
            req.port
        },
    };
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
