// SPDX-License-Identifier: GPL-2.0

//! Resuming an image (`LAZYRESUME_IOC_RESUME`) and, in the restored
//! kernel, taking over the boot kernel's network identity
//! (`LAZYRESUME_IOC_ADOPT`).
//!
//! The boot kernel fetches the manifest, checks it (format, page size,
//! kernel build), checks its signature (`manifest.sig`) with the kernel's
//! trusted keys, its name and its generation, fetches `pageset1.sums`
//! (the SHA-256 of each 128 KiB segment of `pageset1`) and checks it
//! against the manifest, then streams `pageset1` through a segment
//! checker: each segment goes on to the LZ4 decoder (if it is in LZ4
//! blocks) and the hibernation loader only once it matched its SHA-256,
//! so no byte that is not the signed image's reaches those parsers. It
//! checks its length and decoded length, writes the hand-off page and
//! jumps. Anything that fails before the jump gives the load up and says
//! why; the system runs on as before.
//!
//! The image may be on mirrors of the primary server too
//! (`LAZYRESUME_IOC_MIRRORS`). A transfer that finds no answer goes on
//! from the next server: from the file's start, since TFTP cannot resume
//! a transfer, and for `pageset1` skipping the segments already checked
//! and loaded. Whatever the server, everything is checked as above, so a
//! mirror cannot change what is restored. The hand-off carries the list
//! to the restored kernel, whose fetchers spread over it.
//!
//! `resume` uses `store` (to point it at the client's server), `tftp` and
//! `sys`.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use kernel::alloc::KVVec;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::time::Ktime;

use crate::fetch::{self, timeline, Engine};
use crate::shared::abi::{self, MIRRORS_MAX, REASON_LEN, SERVERS_MAX, SERVER_SIZE};
use crate::shared::image::{
    self, Encoding, FormatError, Manifest, SegmentChecker, SegmentError, SegmentSums,
    KERNEL_ID_LEN, SEGMENT_LEN,
};
use crate::shared::image_blocks::{DecodeError, Decoder, BLOCK_LEN};
use crate::shared::image_loadset;
use crate::sys::abi::{as_bytes, read_from_bytes};
use crate::sys::errno::{ebadmsg, ekeyrejected, enokey, estale, etimedout, is_transient_net};
use crate::sys::hibernate::{self, Loader};
use crate::sys::lz4;
use crate::sys::net::SockAddrV4;
use crate::sys::sha256;
use crate::sys::signature::{self, Rejection};
use crate::tftp::client::{self, Requested, Sink, TransferOptions, MAX_WINDOWSIZE};

mod stats;
pub(crate) use stats::STATS;

/// Largest manifest read. A valid one is `image::MANIFEST_LEN` bytes; the
/// room above lets the parser say what is wrong with another file (an
/// image of format version 1, for one).
const MAX_MANIFEST: usize = 64 << 10;
/// Defaults of `struct lazyresume_resume` fields left at zero.
const DEFAULT_BLKSIZE: u16 = 65464;
const DEFAULT_RTO_MS: u32 = 500;
/// Deadline of a transfer when the request gives none: a minute, and two
/// more seconds per MiB of pageset1 (slow debug kernels under emulation).
const DEFAULT_DEADLINE_MS: u32 = 60_000;
const DEFAULT_DEADLINE_MS_PER_MIB: u64 = 2000;
/// With mirrors, the last server to try is left after this long without
/// progress (the others after [`client::FAILOVER_SILENCE_MS`]): when it
/// is left too, the resume fails and the boot goes on as without an
/// image, so it gets more patience.
const LAST_SERVER_SILENCE_MS: u32 = 5000;

/// First bytes of a hand-off written by this module.
const HANDOFF_MAGIC: [u8; 8] = *b"LZRHANDO";
/// Layout of the hand-off page: magic, kernel identity, then the
/// `struct lazyresume_adopt` the restored kernel returns.
const HANDOFF_ID: usize = HANDOFF_MAGIC.len();
const HANDOFF_ADOPT: usize = HANDOFF_ID + KERNEL_ID_LEN;
const HANDOFF_END: usize = HANDOFF_ADOPT + abi::ADOPT_SIZE;
/// Then the image's manifest, which the restored kernel needs to check a
/// loading set against.
const HANDOFF_MANIFEST_END: usize = HANDOFF_END + image::MANIFEST_LEN;
/// Then the boot kernel's events of the timeline, the time-stamp counter
/// at the jump and its rate (`fetch::timeline`).
const HANDOFF_TIMELINE_END: usize = HANDOFF_MANIFEST_END + timeline::HANDOFF_LEN;
/// Then the mirrors: their number and the index of the server the boot
/// kernel fetched from last (two `u32`s), and [`MIRRORS_MAX`] `struct
/// lazyresume_server`s. A hand-off without (zeros) has none.
const HANDOFF_MIRRORS: usize = HANDOFF_TIMELINE_END + 8;
const HANDOFF_MIRRORS_END: usize = HANDOFF_MIRRORS + MIRRORS_MAX * SERVER_SIZE;
/// Then the boot kernel's counters per server, the primary first:
/// [`SERVERS_MAX`] `u32`s of transfers each answered, then as many of
/// transfers that found no answer from it (after which it went on from
/// the next). A hand-off without (zeros) counts none.
const HANDOFF_COUNTS_LEN: usize = size_of::<[u32; SERVERS_MAX]>();
const HANDOFF_FAILOVERS: usize = HANDOFF_MIRRORS_END + HANDOFF_COUNTS_LEN;
const HANDOFF_COUNTS_END: usize = HANDOFF_FAILOVERS + HANDOFF_COUNTS_LEN;
const _: () = assert!(HANDOFF_COUNTS_END <= PAGE_SIZE);

/// The mirrors of the next resume (`LAZYRESUME_IOC_MIRRORS`): set by the
/// control device before the resume, read by it. The device's context
/// owns them.
pub(crate) struct Mirrors {
    /// Each as [`pack`] makes it.
    slots: [AtomicU64; MIRRORS_MAX],
    /// How many of `slots` count.
    count: AtomicUsize,
}

impl Mirrors {
    /// None.
    pub(crate) const fn new() -> Self {
        Self {
            slots: [const { AtomicU64::new(0) }; MIRRORS_MAX],
            count: AtomicUsize::new(0),
        }
    }

    /// Names the mirrors of the primary server of the next resume (at
    /// most [`MIRRORS_MAX`], checked unicast by the caller); none clears
    /// them.
    pub(crate) fn set(&self, list: &[SockAddrV4]) -> Result {
        if list.len() > MIRRORS_MAX {
            return Err(EINVAL);
        }
        // A resume that reads meanwhile sees no mirrors or these.
        self.count.store(0, Ordering::Release);
        for (slot, m) in self.slots.iter().zip(list) {
            slot.store(pack(*m), Ordering::Relaxed);
        }
        self.count.store(list.len(), Ordering::Release);
        Ok(())
    }
}

/// A server as one word: its address, then its port.
fn pack(s: SockAddrV4) -> u64 {
    (u64::from(u32::from_be_bytes(s.addr)) << 16) | u64::from(s.port)
}

/// The server [`pack`] made `v` of.
fn unpack(v: u64) -> SockAddrV4 {
    SockAddrV4 {
        addr: ((v >> 16) as u32).to_be_bytes(),
        port: v as u16,
    }
}

/// The servers of a resume, the primary first, and the one its
/// transfers go to now.
struct Servers {
    list: [SockAddrV4; SERVERS_MAX],
    count: usize,
    at: usize,
    /// Per server of `list`: transfers it answered, and transfers that
    /// found no answer from it.
    transfers: [u32; SERVERS_MAX],
    failovers: [u32; SERVERS_MAX],
}

impl Servers {
    /// `primary` and the `mirrors` set for this resume.
    fn new(primary: SockAddrV4, mirrors: &Mirrors) -> Self {
        let mut list = [primary; SERVERS_MAX];
        let n = mirrors.count.load(Ordering::Acquire).min(MIRRORS_MAX);
        for (dst, src) in list[1..].iter_mut().zip(&mirrors.slots[..n]) {
            *dst = unpack(src.load(Ordering::Relaxed));
        }
        Self {
            list,
            count: n + 1,
            at: 0,
            transfers: [0; SERVERS_MAX],
            failovers: [0; SERVERS_MAX],
        }
    }

    /// `primary` and the mirrors of the hand-off's bytes `b` (from its
    /// mirror count on), the current one the boot kernel's last.
    fn from_handoff(primary: SockAddrV4, b: &[u8]) -> Self {
        let mut list = [primary; SERVERS_MAX];
        let word = |at: usize| {
            b.get(at..)
                .and_then(|w| w.first_chunk::<4>())
                .map_or(0, |c| u32::from_ne_bytes(*c) as usize)
        };
        let n = word(0).min(MIRRORS_MAX);
        let at = word(4).min(n);
        let slots = b.get(8..).unwrap_or(&[]).chunks_exact(SERVER_SIZE);
        for (dst, src) in list[1..=n].iter_mut().zip(slots) {
            if let Some(m) = read_from_bytes::<abi::Server>(src) {
                *dst = SockAddrV4 {
                    addr: m.addr,
                    port: m.port,
                };
            }
        }
        // `b` starts at the hand-off's mirror count.
        let counts = |at: usize| {
            let at = at - HANDOFF_TIMELINE_END;
            b.get(at..at + HANDOFF_COUNTS_LEN)
                .and_then(read_from_bytes)
                .unwrap_or([0; SERVERS_MAX])
        };
        let transfers = counts(HANDOFF_MIRRORS_END);
        let failovers = counts(HANDOFF_FAILOVERS);
        Self {
            list,
            count: n + 1,
            at,
            transfers,
            failovers,
        }
    }

    /// The boot kernel's counters in the order of [`Self::current_first`]:
    /// per server, transfers answered and transfers that found no answer.
    fn counts_current_first(&self) -> [(u32, u32); SERVERS_MAX] {
        let mut out = [(0, 0); SERVERS_MAX];
        for (k, dst) in out[..self.count].iter_mut().enumerate() {
            let j = (self.at + k) % self.count;
            *dst = (self.transfers[j], self.failovers[j]);
        }
        out
    }

    /// The servers from the current one on, then those before it, and
    /// how many: the restored kernel's fetchers start on the first ones,
    /// so after a failover of the boot kernel they start on the server
    /// that answered rather than wait for the silent one again.
    fn current_first(&self) -> ([SockAddrV4; SERVERS_MAX], usize) {
        let mut out = self.list;
        for (k, dst) in out[..self.count].iter_mut().enumerate() {
            *dst = self.list[(self.at + k) % self.count];
        }
        (out, self.count)
    }

    /// The server transfers go to now.
    fn current(&self) -> SockAddrV4 {
        self.list[self.at]
    }

    /// The mirrors, for the hand-off.
    fn mirrors(&self) -> &[SockAddrV4] {
        &self.list[1..self.count]
    }

    /// `opts` for try `tries` (from 1) of a file: with mirrors, a silence
    /// limit, short while other servers remain to try.
    fn options(&self, opts: &TransferOptions, tries: usize) -> TransferOptions {
        TransferOptions {
            silence_ms: match self.count {
                1 => 0,
                n if tries < n => client::FAILOVER_SILENCE_MS,
                _ => LAST_SERVER_SILENCE_MS,
            },
            ..*opts
        }
    }

    /// Fetches `name` into `sink` from the current server. A transfer
    /// that finds no answer (not one the server or the sink refused) goes
    /// on from the next server, once `restart` made the sink ready for
    /// the file from its start (it says `false` if it cannot), until
    /// every server had its turn.
    fn fetch<S: Sink>(
        &mut self,
        name: &[u8],
        opts: &TransferOptions,
        sink: &mut S,
        mut restart: impl FnMut(&mut S) -> bool,
    ) -> Result<client::Report> {
        let mut tries = 1;
        loop {
            let server = self.current();
            let e = match client::fetch(server, name, &self.options(opts, tries), sink) {
                Ok(report) => {
                    self.transfers[self.at] = self.transfers[self.at].saturating_add(1);
                    return Ok(report);
                }
                Err(e) => e,
            };
            if !no_answer(e) || tries >= self.count || !restart(sink) {
                return Err(e);
            }
            self.failovers[self.at] = self.failovers[self.at].saturating_add(1);
            tries += 1;
            self.at = (self.at + 1) % self.count;
            pr_warn!(
                "{}: no answer from {server}; going on from {}\n",
                text(name),
                self.current()
            );
        }
    }
}

/// Whether a transfer failed for lack of an answer: another server may
/// give one.
fn no_answer(e: Error) -> bool {
    is_transient_net(e) && e != EINTR
}

/// Why a resume failed, for the log and the caller; truncated to what
/// `struct lazyresume_resume` holds.
pub(crate) struct Reason {
    buf: [u8; REASON_LEN - 1],
    len: usize,
}

impl Reason {
    /// No reason yet.
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; REASON_LEN - 1],
            len: 0,
        }
    }

    /// The reason as text.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for Reason {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Sets `reason` and returns `error`.
fn fail(reason: &mut Reason, error: Error, args: fmt::Arguments<'_>) -> Error {
    let _ = reason.write_fmt(args);
    error
}

/// Sets `reason` to say that `name` could not be fetched from the
/// current server of `servers`, and why; returns `error`.
fn fetch_failed(reason: &mut Reason, error: Error, name: &[u8], servers: &Servers) -> Error {
    fail(
        reason,
        error,
        format_args!(
            "cannot fetch {} from {}: {}",
            text(name),
            servers.current(),
            why(error)
        ),
    )
}

/// The identity of this kernel build, as image manifests record it.
fn kernel_id() -> [u8; KERNEL_ID_LEN] {
    let (release, version) = hibernate::build_release_version();
    image::kernel_id(release, version, sha256::digest)
}

/// What a failed transfer's errno means, in words where it is common.
fn why(e: Error) -> &'static str {
    if e == ENOENT {
        "file not found"
    } else if e == etimedout() {
        "no answer (timed out)"
    } else if e == EACCES {
        "access denied"
    } else if e == EFBIG {
        "file too large"
    } else if e == EINTR {
        "interrupted"
    } else {
        "transfer failed"
    }
}

/// Text of a NUL-less byte string, or a placeholder.
fn text(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("<not UTF-8>")
}

/// What a resume found and measured (for a dry run).
pub(crate) struct Loaded {
    pub(crate) manifest_bytes: u64,
    pub(crate) pageset1_bytes: u64,
    pub(crate) elapsed_ns: u64,
    /// The image's generation.
    pub(crate) generation: u64,
    /// Whether its signature was checked and good.
    pub(crate) verified: bool,
}

/// `<image>/<name>` as a file name.
fn file_name(image: &[u8], name: &str) -> Result<KVec<u8>> {
    let mut f = KVec::with_capacity(image.len() + 1 + name.len(), GFP_KERNEL)?;
    f.extend_from_slice(image, GFP_KERNEL)?;
    f.push(b'/', GFP_KERNEL)?;
    f.extend_from_slice(name.as_bytes(), GFP_KERNEL)?;
    Ok(f)
}

/// Collects a whole file, up to a limit.
struct VecSink {
    data: KVVec<u8>,
    limit: usize,
}

impl VecSink {
    /// Drops what came, for the file from its start.
    fn restart(&mut self) -> bool {
        self.data = KVVec::new();
        true
    }
}

impl Sink for VecSink {
    fn write(&mut self, offset: u64, data: &[u8]) -> Result {
        if offset != self.data.len() as u64 || self.data.len() + data.len() > self.limit {
            return Err(EFBIG);
        }
        self.data.extend_from_slice(data, GFP_KERNEL)?;
        Ok(())
    }
}

/// Decodes an LZ4-encoded `pageset1`: the decoder and its two block
/// buffers.
struct Blocks {
    decoder: Decoder,
    stage: KVVec<u8>,
    out: KVVec<u8>,
}

impl Blocks {
    /// A decoder of a stream that decodes to `total` bytes.
    fn new(total: u64) -> Result<Self> {
        Ok(Self {
            decoder: Decoder::new(total),
            stage: KVVec::from_elem(0, BLOCK_LEN, GFP_KERNEL)?,
            out: KVVec::from_elem(0, BLOCK_LEN, GFP_KERNEL)?,
        })
    }
}

/// Streams `pageset1` into the hibernation loader: checks each segment
/// as stored against its SHA-256 in `pageset1.sums` first, then decodes
/// it if it is in LZ4 blocks.
struct LoaderSink<'a> {
    loader: &'a mut Loader,
    /// The segment checker, and its buffer of one segment.
    checker: SegmentChecker<'a>,
    segment: KVVec<u8>,
    len: u64,
    /// Bytes of a restarted transfer already checked and loaded from an
    /// earlier one: skipped.
    skip: u64,
    /// Bytes the manifest announces: more is refused.
    expected: u64,
    /// The decoder of an LZ4-encoded `pageset1`, `None` for a raw one.
    blocks: Option<Blocks>,
    /// The loader's error, kept to tell it from a network error.
    load_error: Option<Error>,
    /// What was wrong with the encoded stream, likewise.
    decode_error: Option<DecodeError<Error>>,
    /// The segment that did not match its SHA-256, likewise.
    segment_error: Option<SegmentError<Error>>,
}

impl LoaderSink<'_> {
    /// Makes ready for the file from its start, from another server: the
    /// segments checked and loaded stay, and are skipped when they come
    /// again; the bytes of the one not complete are dropped. `false` if
    /// the transfer ended for something else than a silent server.
    fn restart(&mut self) -> bool {
        if self.load_error.is_some() || self.decode_error.is_some() || self.segment_error.is_some()
        {
            return false;
        }
        self.skip = self.checker.restart();
        self.len = 0;
        true
    }
}

impl Sink for LoaderSink<'_> {
    fn write(&mut self, offset: u64, data: &[u8]) -> Result {
        if offset != self.len || self.len + data.len() as u64 > self.expected {
            return Err(EFBIG);
        }
        self.len += data.len() as u64;
        // Loaded already, from the server before.
        let seen = usize::try_from(self.skip.saturating_sub(offset)).unwrap_or(usize::MAX);
        let data = data.get(seen.min(data.len())..).unwrap_or(&[]);
        if data.is_empty() {
            return Ok(());
        }
        let Self {
            loader,
            checker,
            segment,
            blocks,
            load_error,
            decode_error,
            segment_error,
            ..
        } = self;
        // Only verified segments get here.
        let mut verified = |seg: &[u8]| -> Result {
            let mut load =
                |image: &[u8]| loader.write(image).inspect_err(|e| *load_error = Some(*e));
            let Some(b) = blocks.as_mut() else {
                return load(seg);
            };
            b.decoder
                .feed(seg, &mut b.stage, &mut b.out, lz4::decompress, &mut load)
                .map_err(|e| match e {
                    DecodeError::Sink(e) => e,
                    other => {
                        *decode_error = Some(other);
                        EINVAL
                    }
                })
        };
        checker
            .feed(data, segment, sha256::digest, &mut verified)
            .map_err(|e| match e {
                SegmentError::Sink(e) => e,
                other => {
                    *segment_error = Some(other);
                    ebadmsg()
                }
            })
    }
}

/// Fetches `<image>/manifest.sig` and checks that it signs `manifest`
/// with a trusted key: `Ok(true)` if it does. An image without one is
/// `Ok(false)` if the request allows unsigned images (the log says so),
/// an error otherwise. A signature that is there but does not verify is
/// an error either way (someone changed the image, or the kernel lacks
/// the key), as is a network error: an image that cannot be fetched is
/// not resumed.
fn check_signature(
    servers: &mut Servers,
    image: &[u8],
    opts: &TransferOptions,
    manifest: &[u8],
    allow_unsigned: bool,
    r: &mut Reason,
) -> Result<bool> {
    let name = file_name(image, image::SIGNATURE_NAME)
        .map_err(|e| fail(r, e, format_args!("out of memory")))?;
    let mut sig = VecSink {
        data: KVVec::new(),
        limit: image::MAX_SIGNATURE_LEN,
    };
    let (error, problem) = match servers.fetch(&name, opts, &mut sig, VecSink::restart) {
        Ok(_) => match signature::verify(manifest, &sig.data) {
            Ok(()) => return Ok(true),
            Err(rejection) => refusal(rejection),
        },
        Err(e) if e == ENOENT && allow_unsigned => {
            pr_warn!(
                "image {} is not signed: resumed anyway (unsigned images allowed)\n",
                text(image)
            );
            return Ok(false);
        }
        Err(e) if e == ENOENT => (enokey(), "image not signed (no manifest.sig)"),
        Err(e) if e == EFBIG => (ebadmsg(), "manifest.sig: too large"),
        Err(e) => return Err(fetch_failed(r, e, &name, servers)),
    };
    Err(fail(r, error, format_args!("{problem}")))
}

/// The errno and the reason line for a manifest signature that
/// [`signature::verify`] rejected.
fn refusal(rejection: Rejection) -> (Error, &'static str) {
    match rejection {
        Rejection::UntrustedKey => (
            enokey(),
            "manifest.sig: signed by a key this kernel does not trust",
        ),
        Rejection::Mismatch => (
            ekeyrejected(),
            "manifest.sig: bad signature (not of this manifest, or key revoked)",
        ),
        Rejection::Malformed => (
            ebadmsg(),
            "manifest.sig: not a PKCS#7 signature this kernel reads",
        ),
        Rejection::Unsupported => (
            ekeyrejected(),
            "manifest.sig: signature algorithm not in this kernel",
        ),
        Rejection::Other(e) => (e, "manifest.sig: signature check failed"),
    }
}

/// The transfer options of a request.
fn options(req: &abi::Resume, r: &mut Reason) -> Result<TransferOptions> {
    TransferOptions::from_request(
        Requested {
            blksize: req.blksize,
            windowsize: req.windowsize,
            rto_ms: req.rto_ms,
            deadline_ms: req.deadline_ms,
        },
        Requested {
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            rto_ms: DEFAULT_RTO_MS,
            deadline_ms: DEFAULT_DEADLINE_MS,
        },
    )
    .map_err(|e| {
        fail(
            r,
            e,
            format_args!("blksize not in 8..65464 or windowsize above {MAX_WINDOWSIZE}"),
        )
    })
}

/// Fetches and checks the image of `req` and restores it: returns only on
/// failure or, for a dry run, once everything before the jump succeeded.
/// Notes its steps in the timeline of `engine`.
pub(crate) fn resume(
    engine: &Engine,
    req: &abi::Resume,
    server: SockAddrV4,
    mirrors: &Mirrors,
    r: &mut Reason,
) -> Result<Loaded> {
    let start = Ktime::ktime_get();
    let timeline = engine.timeline();
    timeline.mark(abi::TL_RESUME_REQUESTED);
    let image = match abi::c_str_bytes(&req.image) {
        Some(i) if !i.is_empty() => i,
        _ => return Err(fail(r, EINVAL, format_args!("no image name"))),
    };
    let known = abi::RESUME_DRY_RUN
        | abi::RESUME_BACKGROUND_OFF
        | abi::RESUME_RECORD_WORKINGSET
        | abi::RESUME_ALLOW_UNSIGNED;
    if req.flags & !known != 0 || req.reserved != 0 {
        return Err(fail(
            r,
            EINVAL,
            format_args!("unknown flags, or reserved not zero"),
        ));
    }
    let opts = options(req, r)?;
    let mut servers = Servers::new(server, mirrors);

    // The manifest.
    let name = file_name(image, image::MANIFEST_NAME)
        .map_err(|e| fail(r, e, format_args!("out of memory")))?;
    let mut manifest = VecSink {
        data: KVVec::new(),
        limit: MAX_MANIFEST,
    };
    servers
        .fetch(&name, &opts, &mut manifest, VecSink::restart)
        .map_err(|e| fetch_failed(r, e, &name, &servers))?;
    timeline.mark(abi::TL_MANIFEST_FETCHED);
    let m = Manifest::parse(&manifest.data, sha256::digest)
        .map_err(|e: FormatError| fail(r, EINVAL, format_args!("{}: {e}", text(&name))))?;
    let h = m.header;
    // The signature first: nothing else of the manifest is acted on
    // before it is known to come from a trusted key.
    let verified = check_signature(
        &mut servers,
        image,
        &opts,
        &manifest.data,
        req.flags & abi::RESUME_ALLOW_UNSIGNED != 0,
        r,
    )?;
    // A signature binds the manifest to its name and its generation: an
    // image copied under another name, or an older one, is refused.
    if h.name_str().as_bytes() != image {
        return Err(fail(
            r,
            EINVAL,
            format_args!("the manifest names image '{}'", h.name_str()),
        ));
    }
    if h.generation < req.min_generation {
        return Err(fail(
            r,
            estale(),
            format_args!(
                "image generation {} is older than {} (rollback)",
                h.generation, req.min_generation
            ),
        ));
    }
    if h.page_size as usize != PAGE_SIZE {
        return Err(fail(
            r,
            EINVAL,
            format_args!(
                "image has {}-byte pages, this kernel {PAGE_SIZE}",
                h.page_size
            ),
        ));
    }
    let ours = kernel_id();
    if h.kernel_id != ours {
        return Err(fail(
            r,
            EXDEV,
            format_args!(
                "image is of kernel '{}', this is '{}'",
                h.kernel_id_str(),
                text(abi::c_str_bytes(&ours).unwrap_or(b""))
            ),
        ));
    }
    // The parser checked whole pages of `page_size`, which is ours.
    if h.snapshot_len == 0 {
        return Err(fail(r, EINVAL, format_args!("pageset1 holds no image")));
    }
    timeline.mark(abi::TL_MANIFEST_VERIFIED);
    let mut opts = opts;
    if req.deadline_ms == 0 {
        let extra = (h.pageset1_len >> 20).saturating_mul(DEFAULT_DEADLINE_MS_PER_MIB);
        opts.deadline_ms =
            u32::try_from(u64::from(DEFAULT_DEADLINE_MS).saturating_add(extra)).unwrap_or(u32::MAX);
    }

    // The SHA-256 of each segment of pageset1, before any of it.
    let name = file_name(image, image::PAGESET1_SUMS_NAME)
        .map_err(|e| fail(r, e, format_args!("out of memory")))?;
    let sums_len = image::pageset1_sums_len(h.pageset1_len)
        .and_then(|l| usize::try_from(l).ok())
        .ok_or_else(|| fail(r, EINVAL, format_args!("pageset1 too large")))?;
    let mut sums = VecSink {
        data: KVVec::new(),
        limit: sums_len,
    };
    let fetched = servers.fetch(&name, &opts, &mut sums, VecSink::restart);
    fetched.map_err(|e| {
        if e == EFBIG {
            fail(
                r,
                ebadmsg(),
                format_args!(
                    "{}: longer than the {sums_len} bytes pageset1's length makes it",
                    text(&name)
                ),
            )
        } else {
            fetch_failed(r, e, &name, &servers)
        }
    })?;
    let sums = SegmentSums::parse(&h, &sums.data, sha256::digest)
        .map_err(|e: FormatError| fail(r, ebadmsg(), format_args!("{}: {e}", text(&name))))?;

    // pageset1, segment by segment into the loader.
    let name = file_name(image, image::PAGESET1_NAME)
        .map_err(|e| fail(r, e, format_args!("out of memory")))?;
    let mut loader = Loader::start().map_err(|e| {
        fail(
            r,
            e,
            format_args!("hibernation loader unavailable: error {}", e.to_errno()),
        )
    })?;
    let blocks = match h.pageset1_encoding {
        Encoding::Raw => None,
        Encoding::Lz4Blocks => Some(
            Blocks::new(h.snapshot_len).map_err(|e| fail(r, e, format_args!("out of memory")))?,
        ),
    };
    let segment = KVVec::from_elem(0, SEGMENT_LEN, GFP_KERNEL)
        .map_err(|e| fail(r, e.into(), format_args!("out of memory")))?;
    let mut sink = LoaderSink {
        loader: &mut loader,
        checker: SegmentChecker::new(sums),
        segment,
        len: 0,
        skip: 0,
        expected: h.pageset1_len,
        blocks,
        load_error: None,
        decode_error: None,
        segment_error: None,
    };
    if let Err(e) = servers.fetch(&name, &opts, &mut sink, LoaderSink::restart) {
        return Err(match sink.load_error {
            Some(l) if l == ENOMEM => fail(
                r,
                l,
                format_args!(
                    "not enough memory to load pageset1 ({} MiB)",
                    h.snapshot_len >> 20
                ),
            ),
            Some(l) => fail(
                r,
                l,
                format_args!(
                    "pageset1 refused by the hibernation loader: error {}",
                    l.to_errno()
                ),
            ),
            None => match (sink.segment_error, sink.decode_error) {
                (Some(s), _) => fail(r, ebadmsg(), format_args!("pageset1 corrupted: {s}")),
                (None, Some(d)) => fail(r, ebadmsg(), format_args!("pageset1 corrupted: {d}")),
                (None, None) => fetch_failed(r, e, &name, &servers),
            },
        });
    }
    timeline.mark(abi::TL_PAGESET1_FETCHED);
    let len = sink.len;
    if len != h.pageset1_len {
        return Err(fail(
            r,
            EINVAL,
            format_args!(
                "pageset1 is {len} bytes, the manifest says {}",
                h.pageset1_len
            ),
        ));
    }
    // Every segment, the last one too, was checked as it came.
    if let Err(s) = sink.checker.finish::<Error>() {
        return Err(fail(r, ebadmsg(), format_args!("pageset1 corrupted: {s}")));
    }
    if let Some(Err(d)) = sink.blocks.as_ref().map(|b| b.decoder.finish::<Error>()) {
        return Err(fail(r, ebadmsg(), format_args!("pageset1 corrupted: {d}")));
    }
    timeline.mark(abi::TL_PAGESET1_DECODED);
    let loaded = Loaded {
        manifest_bytes: manifest.data.len() as u64,
        pageset1_bytes: len,
        elapsed_ns: (Ktime::ktime_get() - start).to_ns().max(0) as u64,
        generation: h.generation,
        verified,
    };
    if req.flags & abi::RESUME_DRY_RUN != 0 {
        return Ok(loaded);
    }

    let adopt = abi::Adopt {
        id: req.id,
        image: req.image,
        flags: if req.flags & abi::RESUME_BACKGROUND_OFF != 0 {
            abi::ADOPT_BACKGROUND_OFF
        } else {
            0
        } | if req.flags & abi::RESUME_RECORD_WORKINGSET != 0 {
            abi::ADOPT_RECORD_WORKINGSET
        } else {
            0
        },
        reserved: 0,
    };
    hibernate::with_handoff(|page| {
        page[..HANDOFF_ID].copy_from_slice(&HANDOFF_MAGIC);
        page[HANDOFF_ID..HANDOFF_ADOPT].copy_from_slice(&ours);
        page[HANDOFF_ADOPT..HANDOFF_END].copy_from_slice(as_bytes(&adopt));
        // The parser checked it is exactly this long.
        if let Some(m) = manifest.data.get(..image::MANIFEST_LEN) {
            page[HANDOFF_END..HANDOFF_MANIFEST_END].copy_from_slice(m);
        }
        // The jump is now: nothing but the log line below is left.
        page[HANDOFF_MANIFEST_END..HANDOFF_TIMELINE_END].copy_from_slice(&timeline.to_handoff());
        let mirrors = servers.mirrors();
        page[HANDOFF_TIMELINE_END..HANDOFF_TIMELINE_END + 4]
            .copy_from_slice(&(mirrors.len() as u32).to_ne_bytes());
        page[HANDOFF_TIMELINE_END + 4..HANDOFF_MIRRORS]
            .copy_from_slice(&(servers.at as u32).to_ne_bytes());
        for (slot, m) in page[HANDOFF_MIRRORS..HANDOFF_MIRRORS_END]
            .chunks_exact_mut(SERVER_SIZE)
            .zip(mirrors)
        {
            let m = abi::Server {
                addr: m.addr,
                port: m.port,
                returns: 0,
            };
            slot.copy_from_slice(as_bytes(&m));
        }
        page[HANDOFF_MIRRORS_END..HANDOFF_FAILOVERS].copy_from_slice(as_bytes(&servers.transfers));
        page[HANDOFF_FAILOVERS..HANDOFF_COUNTS_END].copy_from_slice(as_bytes(&servers.failovers));
    })
    .map_err(|e| fail(r, e, format_args!("hand-off page busy")))?;
    pr_info!(
        "resuming image {} generation {} ({}) from {} ({} MiB of pageset1, {} MiB fetched)\n",
        text(image),
        h.generation,
        if verified {
            "signature verified"
        } else {
            "NOT signed"
        },
        servers.current(),
        h.snapshot_len >> 20,
        len >> 20
    );
    let e = loader.restore();
    // Still here: the restore failed; nobody is to find the hand-off.
    let _ = hibernate::with_handoff(|page| page.fill(0));
    Err(fail(
        r,
        e,
        format_args!("restoring the image failed: error {}", e.to_errno()),
    ))
}

/// In the restored kernel: takes over the identity the boot kernel left,
/// so that pageset2 comes from the client's own server, through `engine`,
/// from now on.
pub(crate) fn adopt(engine: &Engine) -> Result<abi::Adopt> {
    let mut manifest = [0u8; image::MANIFEST_LEN];
    let mut events = [0u8; timeline::HANDOFF_LEN];
    let mut mirrors = [0u8; HANDOFF_COUNTS_END - HANDOFF_TIMELINE_END];
    let (magic_ok, id, adopt) = hibernate::with_handoff(|page| {
        let magic_ok = page[..HANDOFF_ID] == HANDOFF_MAGIC;
        let mut id = [0u8; KERNEL_ID_LEN];
        id.copy_from_slice(&page[HANDOFF_ID..HANDOFF_ADOPT]);
        // `None` cannot be: the range is as long as the structure.
        let adopt: Option<abi::Adopt> = read_from_bytes(&page[HANDOFF_ADOPT..HANDOFF_END]);
        manifest.copy_from_slice(&page[HANDOFF_END..HANDOFF_MANIFEST_END]);
        events.copy_from_slice(&page[HANDOFF_MANIFEST_END..HANDOFF_TIMELINE_END]);
        mirrors.copy_from_slice(&page[HANDOFF_TIMELINE_END..HANDOFF_COUNTS_END]);
        // Taken once: a second call finds nothing.
        page.fill(0);
        (magic_ok, id, adopt)
    })?;
    if !magic_ok {
        return Err(ENOENT);
    }
    if id != kernel_id() {
        pr_err!(
            "hand-off from another kernel build ('{}') refused\n",
            text(abi::c_str_bytes(&id).unwrap_or(b""))
        );
        return Err(estale());
    }
    let adopt = adopt.ok_or(EINVAL)?;
    let port = if adopt.id.port == 0 {
        69
    } else {
        adopt.id.port
    };
    let image = abi::c_str_bytes(&adopt.image).ok_or(EINVAL)?;
    // "<image>/p2-": the image may have been renamed since the capture.
    let prefix = file_name(image, image::CHUNK_PREFIX)?;
    let servers = Servers::from_handoff(
        SockAddrV4 {
            addr: adopt.id.server,
            port,
        },
        &mirrors,
    );
    let (order, n) = servers.current_first();
    // The servers before the boot kernel's last, now at the end, were
    // silent to it: no fetcher starts there.
    engine
        .store()
        .retarget(&order[..n], n - servers.at, &prefix)?;
    // The boot kernel's transfers and failovers count in the restored
    // kernel's, server by server in its order; its own lines say how
    // many were the boot kernel's.
    for (k, (t, f)) in servers.counts_current_first()[..n].iter().enumerate() {
        STATS.note_boot(k, u64::from(*t), u64::from(*f));
    }
    // The timeline: the boot kernel's events, this kernel's from now on
    // (the adoption's time is the resume's, `since_resume_ns`), and the
    // lanes sampled until complete.
    engine.timeline().adopt(&events);
    // The rest of pageset2 streams in from now on, unless asked otherwise.
    if adopt.flags & abi::ADOPT_BACKGROUND_OFF != 0 {
        engine.set_background(abi::BACKGROUND_OFF, 0)?;
    }
    engine.reset(true)?;
    engine.start_samples();
    // The working set: recorded by this client, or replayed from the
    // image's loading set, if it has one, before the background lane.
    if adopt.flags & abi::ADOPT_RECORD_WORKINGSET != 0 {
        engine.start_recording(0, 0)?;
    }
    if let Ok(m) = Manifest::parse(&manifest, sha256::digest) {
        let file = |name| -> Result<fetch::SeqFile> {
            Ok(fetch::SeqFile {
                name: file_name(image, name)?,
                manifest_sha256: sha256::digest(&manifest),
                header: m.header,
            })
        };
        engine.set_loadset(file(image_loadset::LOADSET_NAME)?);
        // The rest in one transfer, if the image has a stream.
        engine.set_stream(file(image_loadset::STREAM_NAME)?);
    }
    pr_info!(
        "resumed image {}: identity {}.{}.{}.{}, pages from {} and {} more servers\n",
        text(abi::c_str_bytes(&adopt.image).unwrap_or(b"")),
        adopt.id.addr[0],
        adopt.id.addr[1],
        adopt.id.addr[2],
        adopt.id.addr[3],
        servers.current(),
        servers.count - 1,
    );
    Ok(adopt)
}

/// Nanoseconds since this kernel adopted a hand-off, if it did.
pub(crate) fn since_resume_ns(engine: &Engine) -> Option<u64> {
    engine.timeline().since_ns(abi::TL_ADOPTED)
}
