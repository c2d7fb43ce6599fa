// SPDX-License-Identifier: GPL-2.0

//! The `tftp` backend: one file per page on a TFTP server, fetched with the
//! in-kernel client when a lazy entry faults (and uploaded by
//! `LAZYRESUME_IOC_TFTP_BACKEND`). Page `i` is the file
//! `<prefix><i as 16 lowercase hex digits>`, so any TFTP server can serve
//! the pages in any order.

use core::fmt::Write;

use kernel::bindings;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use crate::abi::TFTP_PREFIX_LEN;
use crate::fault::FetchError;
use crate::lazy_entry::Folio;
use crate::net::SockAddrV4;
use crate::tftp_client::{self, Sink, Source, TransferOptions};

/// Default `blksize`: a page and a little more, so that a page is one DATA
/// packet shorter than a block, which ends the transfer (the largest block
/// TFTP allows where pages are bigger).
pub(crate) const DEFAULT_BLKSIZE: u16 = if PAGE_SIZE + 8 < 65464 {
    (PAGE_SIZE + 8) as u16
} else {
    65464
};
/// Default initial retransmission timeout.
pub(crate) const DEFAULT_RTO_MS: u32 = 200;
/// Deadline of one attempt to fetch a page; the fault policy decides what
/// happens after it.
const FETCH_DEADLINE_MS: u32 = 2000;
/// Deadline of one page upload.
const UPLOAD_DEADLINE_MS: u32 = 10_000;
/// Length of a page's file name: the prefix and 16 hex digits.
const NAME_LEN: usize = TFTP_PREFIX_LEN + 16;

/// Where the pages are, and how to fetch them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TftpSource {
    server: SockAddrV4,
    prefix: [u8; TFTP_PREFIX_LEN],
    prefix_len: usize,
    blksize: u16,
    rto_ms: u32,
}

impl TftpSource {
    /// Pages under `prefix` (without NUL, shorter than
    /// [`TFTP_PREFIX_LEN`]) on `server`.
    pub(crate) fn new(
        server: SockAddrV4,
        prefix: &[u8],
        blksize: u16,
        rto_ms: u32,
    ) -> Result<Self> {
        let mut p = [0u8; TFTP_PREFIX_LEN];
        p.get_mut(..prefix.len())
            .ok_or(EINVAL)?
            .copy_from_slice(prefix);
        Ok(Self {
            server,
            prefix: p,
            prefix_len: prefix.len(),
            blksize,
            rto_ms,
        })
    }

    /// Fetches from `server`, under `prefix`, from now on.
    pub(crate) fn retarget(&mut self, server: SockAddrV4, prefix: &[u8]) -> Result {
        let mut p = [0u8; TFTP_PREFIX_LEN];
        p.get_mut(..prefix.len())
            .ok_or(EINVAL)?
            .copy_from_slice(prefix);
        self.server = server;
        self.prefix = p;
        self.prefix_len = prefix.len();
        Ok(())
    }

    /// The server.
    pub(crate) fn server(&self) -> SockAddrV4 {
        self.server
    }

    /// The page file prefix.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix[..self.prefix_len]
    }

    fn options(&self, deadline_ms: u32) -> TransferOptions {
        TransferOptions {
            blksize: self.blksize,
            windowsize: 1,
            rto_ms: self.rto_ms,
            deadline_ms,
            // The fault path logs its own, rate-limited, line.
            log_failures: false,
            pool_port: true,
        }
    }

    /// Calls `f` with the file name of page `index`.
    fn with_name<R>(&self, index: u64, f: impl FnOnce(&[u8]) -> R) -> R {
        let mut name = NameBuf {
            buf: [0; NAME_LEN],
            len: 0,
        };
        name.buf[..self.prefix_len].copy_from_slice(&self.prefix[..self.prefix_len]);
        name.len = self.prefix_len;
        // 16 hex digits always fit behind a prefix shorter than the buffer.
        let _ = write!(name, "{index:016x}");
        f(&name.buf[..name.len])
    }

    /// Fetches page `index` into `folio`, giving up after `budget_ms` at
    /// most. Only a fatal signal interrupts the wait (a page fault cannot
    /// return to handle other signals).
    pub(crate) fn fetch(
        &self,
        index: u64,
        folio: &mut Folio,
        budget_ms: Option<u32>,
    ) -> Result<(), FetchError> {
        let deadline = budget_ms.map_or(FETCH_DEADLINE_MS, |b| b.min(FETCH_DEADLINE_MS));
        let mut sink = FolioSink { folio };
        let _blocked = OnlyFatalSignals::new();
        let r = self.with_name(index, |name| {
            tftp_client::fetch(self.server, name, &self.options(deadline), &mut sink)
        });
        match r {
            Ok(report) if report.length == PAGE_SIZE as u64 => Ok(()),
            // The wrong file: asking again gives the same.
            Ok(_) => Err(FetchError::Failed(EFBIG)),
            Err(e) if e == ENOENT || e == EACCES => Err(FetchError::NoSuchPage),
            Err(e) if e == ENOMEM => Err(FetchError::NoMemory),
            // No answer in time, no route, a signal (SIGSTOP): maybe later.
            Err(e) if is_transient(e) => Err(FetchError::Unreachable),
            Err(e) => Err(FetchError::Failed(e)),
        }
    }

    /// Uploads `page` as the file of page `index`.
    pub(crate) fn upload(&self, index: u64, page: &[u8]) -> Result {
        let mut source = SliceSource(page);
        self.with_name(index, |name| {
            tftp_client::upload(
                self.server,
                name,
                &TransferOptions {
                    log_failures: true,
                    ..self.options(UPLOAD_DEADLINE_MS)
                },
                &mut source,
            )
        })?;
        Ok(())
    }
}

/// Whether a failed fetch may succeed if tried again.
fn is_transient(e: Error) -> bool {
    [
        bindings::ETIMEDOUT,
        bindings::EINTR,
        bindings::ENETUNREACH,
        bindings::EHOSTUNREACH,
        bindings::ENETDOWN,
        bindings::ECONNREFUSED,
        bindings::EAGAIN,
        bindings::ENOBUFS,
    ]
    .iter()
    .any(|&n| e.to_errno() == -(n as i32))
}

/// A file name being formatted.
struct NameBuf {
    buf: [u8; NAME_LEN],
    len: usize,
}

impl Write for NameBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes a fetched page into the folio being filled.
struct FolioSink<'a> {
    folio: &'a mut Folio,
}

impl Sink for FolioSink<'_> {
    fn write(&mut self, offset: u64, data: &[u8]) -> Result {
        let start = usize::try_from(offset).map_err(|_| EFBIG)?;
        let end = start.checked_add(data.len()).ok_or(EFBIG)?;
        self.folio.write(|page| {
            page.get_mut(start..end).ok_or(EFBIG)?.copy_from_slice(data);
            Ok(())
        })
    }
}

/// Uploads a byte slice.
struct SliceSource<'a>(&'a [u8]);

impl Source for SliceSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result {
        let start = usize::try_from(offset).map_err(|_| EINVAL)?;
        let src = self.0.get(start..start + buf.len()).ok_or(EINVAL)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Blocks every signal but SIGKILL while it lives, so that socket waits are
/// only interrupted by a fatal signal, as NFS's RPC waits once did
/// (`rpc_clnt_sigmask()`). Pending signals stay pending and are delivered
/// once the fault returns.
struct OnlyFatalSignals {
    saved: bindings::sigset_t,
}

impl OnlyFatalSignals {
    fn new() -> Self {
        // SAFETY: all-zeroes is a valid (empty) signal set.
        let mut saved: bindings::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        let mut all: bindings::sigset_t = unsafe { core::mem::zeroed() };
        all.sig.iter_mut().for_each(|w| *w = !0);
        // The in-kernel sigprocmask() takes the set as it is: SIGKILL must
        // stay deliverable, or a killed task would wait forever.
        all.sig[0] &= !(1 << (bindings::SIGKILL - 1));
        // SAFETY: changes the calling task's own mask and saves the old one
        // in `saved`; both sets are valid for the call.
        unsafe { bindings::sigprocmask(bindings::SIG_SETMASK as i32, &mut all, &mut saved) };
        Self { saved }
    }
}

impl Drop for OnlyFatalSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`, on the same task.
        unsafe {
            bindings::sigprocmask(
                bindings::SIG_SETMASK as i32,
                &mut self.saved,
                core::ptr::null_mut(),
            )
        };
    }
}
