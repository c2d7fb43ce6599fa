// SPDX-License-Identifier: GPL-2.0

//! The `tftp` backend of the page store: the pages in files on a TFTP
//! server, fetched by the fetch engine with the in-kernel client (and
//! uploaded by `LAZYRESUME_IOC_TFTP_BACKEND`). A file holds `chunk_pages` pages in
//! index order: page `i` is in the file `<prefix><c as 16 lowercase hex
//! digits>`, `c = i / chunk_pages`, so any TFTP server can serve the pages
//! in any order. A raw file holds every page in place; an LZ4-encoded one
//! (an image's chunk file, `Documentation/image-format.rst`) only the
//! pages that are not zero, in LZ4 blocks, and a file of zeros is not
//! there at all. Pages of zeros are never fetched (nor uploaded).
//!
//! The files may be on several servers that hold the same image: a
//! primary and its mirrors. Each transfer names the server it asks
//! (the fetch engine's fetchers each keep one, move to the next when it
//! stops answering, and go back to it once it answers again); uploads go
//! to the first (a capture has one).

use core::fmt::Write;
use core::num::NonZeroU64;

use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use super::FetchError;
use crate::shared::abi::{SERVERS_MAX, TFTP_PREFIX_LEN};
use crate::shared::image_blocks::max_encoded_len;
use crate::sys::errno::is_transient_net;
use crate::sys::net::SockAddrV4;
use crate::tftp::client::{self, Endpoint, Sink, Source, TransferOptions};

/// Largest `blksize` TFTP allows.
const MAX_BLKSIZE: usize = 65464;

/// Default `blksize` for files of `chunk_pages` pages: a file and a little
/// more, so that a file is one DATA packet shorter than a block, which
/// ends the transfer; the largest block TFTP allows for bigger files.
pub(crate) fn default_blksize(chunk_pages: u32) -> u16 {
    (chunk_pages as usize * PAGE_SIZE + 8).min(MAX_BLKSIZE) as u16
}
/// Default initial retransmission timeout.
pub(crate) const DEFAULT_RTO_MS: u32 = 200;
/// Deadline of one attempt to fetch a file; the engine decides what happens
/// after it.
const FETCH_DEADLINE_MS: u32 = 2000;
/// Deadline of one page upload.
const UPLOAD_DEADLINE_MS: u32 = 10_000;
/// Length of a page's file name: the prefix and 16 hex digits.
const NAME_LEN: usize = TFTP_PREFIX_LEN + 16;

/// An unset slot of [`TftpSource::servers`].
const NO_SERVER: SockAddrV4 = SockAddrV4 {
    addr: [0; 4],
    port: 0,
};

/// How long a fetch of a file waits for it.
#[derive(Clone, Copy)]
pub(crate) struct Patience {
    /// At most this long in all.
    pub(crate) deadline_ms: u32,
    /// At most this long without a packet from the server (0: no limit,
    /// see `TransferOptions::silence_ms`).
    pub(crate) silence_ms: u32,
}

/// Where the pages are, and how to fetch them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TftpSource {
    /// The servers, the first where the fetchers start; `count` of
    /// them, at least one.
    servers: [SockAddrV4; SERVERS_MAX],
    count: usize,
    /// The first this many answered the boot kernel (the others it found
    /// silent): where the fetchers start.
    answering: usize,
    prefix: [u8; TFTP_PREFIX_LEN],
    prefix_len: usize,
    blksize: u16,
    rto_ms: u32,
    chunk_pages: NonZeroU64,
    /// The files are LZ4-encoded chunk files.
    lz4: bool,
}

impl TftpSource {
    /// Pages under `prefix` (without NUL, shorter than
    /// [`TFTP_PREFIX_LEN`]) on `server`, `chunk_pages` (at least 1) per
    /// file, in LZ4-encoded chunk files if `lz4`.
    pub(crate) fn new(
        server: SockAddrV4,
        prefix: &[u8],
        blksize: u16,
        rto_ms: u32,
        chunk_pages: u32,
        lz4: bool,
    ) -> Result<Self> {
        let chunk_pages = NonZeroU64::new(u64::from(chunk_pages)).ok_or(EINVAL)?;
        let mut p = [0u8; TFTP_PREFIX_LEN];
        p.get_mut(..prefix.len())
            .ok_or(EINVAL)?
            .copy_from_slice(prefix);
        let mut servers = [NO_SERVER; SERVERS_MAX];
        servers[0] = server;
        Ok(Self {
            servers,
            count: 1,
            answering: 1,
            prefix: p,
            prefix_len: prefix.len(),
            blksize,
            rto_ms,
            chunk_pages,
            lz4,
        })
    }

    /// Fetches from `servers` (at most [`SERVERS_MAX`]; uploads go to the
    /// first), under `prefix`, from now on; the fetchers start on the
    /// first `answering` (at least one), the others having been found
    /// silent.
    pub(crate) fn retarget(
        &mut self,
        servers: &[SockAddrV4],
        answering: usize,
        prefix: &[u8],
    ) -> Result {
        let mut p = [0u8; TFTP_PREFIX_LEN];
        p.get_mut(..prefix.len())
            .ok_or(EINVAL)?
            .copy_from_slice(prefix);
        if servers.is_empty() {
            return Err(EINVAL);
        }
        let mut list = [NO_SERVER; SERVERS_MAX];
        list.get_mut(..servers.len())
            .ok_or(EINVAL)?
            .copy_from_slice(servers);
        self.servers = list;
        self.count = servers.len();
        self.answering = answering.clamp(1, servers.len());
        self.prefix = p;
        self.prefix_len = prefix.len();
        Ok(())
    }

    /// The first server (the primary, or where a resume found an answer).
    pub(crate) fn server(&self) -> SockAddrV4 {
        self.servers[0]
    }

    /// The servers, the first where the fetchers start.
    pub(crate) fn servers(&self) -> &[SockAddrV4] {
        &self.servers[..self.count]
    }

    /// How many of [`Self::servers`], from the first, the fetchers start
    /// on: those that answered the boot kernel (the others count as left
    /// for silence at the resume).
    pub(crate) fn answering(&self) -> usize {
        self.answering
    }

    /// The page file prefix.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix[..self.prefix_len]
    }

    /// Pages per file.
    pub(crate) fn chunk_pages(&self) -> NonZeroU64 {
        self.chunk_pages
    }

    /// Whether the files are LZ4-encoded chunk files.
    pub(crate) fn lz4(&self) -> bool {
        self.lz4
    }

    /// The longest a file may be: its pages, and in LZ4 blocks the frame
    /// headers of those stored as they are.
    pub(crate) fn max_file_len(&self) -> Option<usize> {
        let pages = usize::try_from(self.chunk_pages.get())
            .ok()?
            .checked_mul(PAGE_SIZE)?;
        if self.lz4 {
            max_encoded_len(pages)
        } else {
            Some(pages)
        }
    }

    fn options(&self, deadline_ms: u32) -> TransferOptions {
        TransferOptions {
            blksize: self.blksize,
            windowsize: 1,
            rto_ms: self.rto_ms,
            deadline_ms,
            // The deadline is short already.
            silence_ms: 0,
            // The engine logs its own, rate-limited, line.
            log_failures: false,
            pool_port: true,
        }
    }

    /// Calls `f` with the name of file `index`.
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

    /// The block size transfers ask for.
    pub(crate) fn blksize(&self) -> u16 {
        self.blksize
    }

    /// Fetches file `chunk` into `buf` from server `server` (an index
    /// into [`Self::servers`], taken modulo their number) with
    /// `endpoint`, asking for `windowsize`, giving up as `patience`
    /// says; returns its length, which is whole pages in a raw file.
    pub(crate) fn fetch_chunk(
        &self,
        endpoint: &mut Endpoint,
        server: usize,
        chunk: u64,
        buf: &mut [u8],
        windowsize: u16,
        patience: Patience,
    ) -> Result<usize, FetchError> {
        let opts = TransferOptions {
            windowsize,
            silence_ms: patience.silence_ms,
            ..self.options(patience.deadline_ms.min(FETCH_DEADLINE_MS))
        };
        let r = self.with_name(chunk, |name| {
            endpoint.fetch(
                self.servers[server % self.count],
                name,
                &opts,
                &mut SliceSink(buf),
            )
        });
        let length = match r {
            Ok(report) => report.length,
            Err(e) if e == ENOENT || e == EACCES => return Err(FetchError::NoSuchPage),
            Err(e) if e == ENOMEM => return Err(FetchError::NoMemory),
            // A file longer than the pages it may hold: the wrong file.
            Err(e) if e == EFBIG => return Err(FetchError::Failed(e)),
            // No answer in time, no route: maybe later.
            Err(e) if is_transient_net(e) => return Err(FetchError::Unreachable),
            Err(e) => return Err(FetchError::Failed(e)),
        };
        match usize::try_from(length) {
            Ok(n) if self.lz4 || n % PAGE_SIZE == 0 => Ok(n),
            _ => Err(FetchError::Failed(EFBIG)),
        }
    }

    /// Uploads `page` as the file of page `index`.
    pub(crate) fn upload(&self, index: u64, page: &[u8]) -> Result {
        let mut source = SliceSource(page);
        self.with_name(index, |name| {
            client::upload(
                self.server(),
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

/// Writes a fetched file into a buffer of the pages it may hold.
struct SliceSink<'a>(&'a mut [u8]);

impl Sink for SliceSink<'_> {
    fn write(&mut self, offset: u64, data: &[u8]) -> Result {
        let start = usize::try_from(offset).map_err(|_| EFBIG)?;
        let end = start.checked_add(data.len()).ok_or(EFBIG)?;
        self.0
            .get_mut(start..end)
            .ok_or(EFBIG)?
            .copy_from_slice(data);
        Ok(())
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
