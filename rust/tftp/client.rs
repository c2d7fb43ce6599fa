// SPDX-License-Identifier: GPL-2.0

//! The in-kernel TFTP client: the shared protocol core ([`super::proto`]) driven over
//! a kernel UDP socket, with retransmission on a timer that adapts to the
//! measured round trip ([`super::rtt`]), bounded exponential backoff and
//! a deadline per transfer.
//!
//! A one-shot transfer ([`fetch`], [`upload`]) has a socket and buffers of
//! its own (TFTP gives each transfer its own transfer ID anyway), so any
//! number of them run at once without sharing state; they only add to the
//! global statistics. An [`Endpoint`] keeps the buffers for the fetches of
//! one long-lived worker, one after the other; each still gets a socket of
//! its own.

use kernel::prelude::*;
use kernel::str::BStr;
use kernel::time::{msecs_to_jiffies, Ktime};

use super::proto::{
    keeps_socket, refuses_first_reply, ErrorCode, Opcode, OptionSet, Receiver, RecvEvent,
    RecvTimeout, SendEvent, SendTimeout, Sender, TransferError, DATA_HEADER_LEN, DEFAULT_BLKSIZE,
    MIN_OUT_LEN, WRITE_REQUEST_RTO_MS,
};
use super::rtt::{MAX_RTO_MS, RTT};
use super::stats::STATS;
use crate::sys::errno::{eaddrinuse, ecanceled, emsgsize, eproto, etimedout};
use crate::sys::net::{SockAddrV4, UdpSocket};

/// Room for a request: opcode, a 255-byte name, mode and four options.
const REQUEST_LEN: usize = 512;
/// Room for any reply to an upload (ACK, OACK, ERROR with its message): a
/// whole Ethernet frame's payload.
const REPLY_LEN: usize = 1500;
/// Upper bound of a transfer socket's receive buffer.
const MAX_RCVBUF: usize = 4 << 20;
/// Below this the socket keeps the system's default receive buffer.
const MIN_RCVBUF: usize = 256 << 10;

/// How to run one transfer.
#[derive(Clone, Copy)]
pub(crate) struct TransferOptions {
    /// `blksize` to ask for; [`DEFAULT_BLKSIZE`] asks for none.
    pub(crate) blksize: u16,
    /// `windowsize` to ask for; 1 asks for none.
    pub(crate) windowsize: u16,
    /// Initial retransmission timeout, until the round trip was measured
    /// ([`super::rtt`]); then the measured timeout applies. Doubled on
    /// every retry without progress, up to [`MAX_RTO_MS`], and set
    /// again from the estimate by progress.
    pub(crate) rto_ms: u32,
    /// Deadline for the whole transfer.
    pub(crate) deadline_ms: u32,
    /// Gives up (`ETIMEDOUT`) once the server has sent nothing for this
    /// long and [`SILENT_RETRANSMITS`] retransmissions in a row went
    /// unanswered ([`SILENT_REQUESTS`] before the server answered the
    /// request), 0 for never: where another server can take over, a
    /// silent one is left sooner than at the deadline
    /// ([`FAILOVER_SILENCE_MS`]).
    pub(crate) silence_ms: u32,
    /// Log a line naming server, file and reason when the transfer fails
    /// (callers that log their own summary turn it off).
    pub(crate) log_failures: bool,
    /// Take the local port from [`POOL_PORTS`] rather than a new ephemeral
    /// one: for the many one-page transfers of the tftp backend, so that
    /// a NAT on the way (QEMU's user network keeps a host socket for every
    /// client port for four minutes, and searches them linearly) sees a
    /// few hundred clients rather than one per page. A stale packet of an
    /// earlier transfer on the same port can at worst deliver another
    /// page, which its SHA-256 check refuses.
    pub(crate) pool_port: bool,
}

/// [`TransferOptions::silence_ms`] where another server can take over:
/// long enough for a few retransmissions at the smallest timeout, short
/// enough that a failover costs less than 2 s.
pub(crate) const FAILOVER_SILENCE_MS: u32 = 1000;

/// Retransmissions in a row that nothing from the server's address
/// followed before it counts as silent: a lost packet or two is not
/// silence. After a loss the server sends a window again, so a retry
/// goes unanswered only if it is lost itself (at 5 % loss one time in
/// 20, four in a row about once in 10^5).
pub(crate) const SILENT_RETRANSMITS: u32 = 4;

/// The same for a server that has not answered the transfer's request
/// yet: before any round trip is measured, the request is sent again
/// after the caller's initial timeout (500 ms at boot), which doubles,
/// so that four retries would take 7.5 s. Two unanswered requests lose
/// a live server one transfer in a hundred at 5 % loss (the request or
/// its answer lost twice), which costs that transfer a failover.
pub(crate) const SILENT_REQUESTS: u32 = 2;

/// The local ports of [`TransferOptions::pool_port`]: just above Linux's
/// default ephemeral range (32768-60999).
const POOL_PORTS: core::ops::Range<u16> = 61000..61256;

/// The next port of [`POOL_PORTS`] to try.
static NEXT_POOL_PORT: core::sync::atomic::AtomicU16 = core::sync::atomic::AtomicU16::new(0);

/// A socket on a free port of [`POOL_PORTS`], or an ephemeral one if all
/// are taken.
fn pool_socket() -> Result<UdpSocket> {
    let n = POOL_PORTS.end - POOL_PORTS.start;
    for _ in 0..n {
        let i = NEXT_POOL_PORT.fetch_add(1, core::sync::atomic::Ordering::Relaxed) % n;
        match UdpSocket::bind(POOL_PORTS.start + i) {
            Err(e) if e == eaddrinuse() => continue,
            r => return r,
        }
    }
    UdpSocket::bind_ephemeral()
}

/// Largest `windowsize` a request may ask for: bounds what one burst of
/// an upload sends.
pub(crate) const MAX_WINDOWSIZE: u16 = 64;

/// The option fields of an ioctl request, 0 meaning "the default".
pub(crate) struct Requested {
    pub(crate) blksize: u16,
    pub(crate) windowsize: u16,
    pub(crate) rto_ms: u32,
    pub(crate) deadline_ms: u32,
}

impl TransferOptions {
    /// The options of `req`, with the given defaults for its zero fields;
    /// `EINVAL` for a block size outside 8..65464 or a window above
    /// [`MAX_WINDOWSIZE`].
    pub(crate) fn from_request(req: Requested, defaults: Requested) -> Result<Self> {
        let or = |v: u32, d: u32| if v == 0 { d } else { v };
        let blksize = match req.blksize {
            0 => defaults.blksize,
            b @ 8..=65464 => b,
            _ => return Err(EINVAL),
        };
        if req.windowsize > MAX_WINDOWSIZE {
            return Err(EINVAL);
        }
        Ok(Self {
            blksize,
            windowsize: req.windowsize.max(1),
            rto_ms: or(req.rto_ms, defaults.rto_ms),
            deadline_ms: or(req.deadline_ms, defaults.deadline_ms),
            silence_ms: 0,
            log_failures: true,
            pool_port: false,
        })
    }

    fn requested(&self, tsize: Option<u64>) -> OptionSet {
        OptionSet {
            blksize: (self.blksize != DEFAULT_BLKSIZE).then_some(self.blksize),
            timeout: None,
            tsize,
            windowsize: (self.windowsize > 1).then_some(self.windowsize),
        }
    }
}

/// Where fetched data goes, in order.
pub(crate) trait Sink {
    /// Stores `data`, the bytes of the file at `offset`; offsets arrive in
    /// order without gaps. An error aborts the transfer.
    fn write(&mut self, offset: u64, data: &[u8]) -> Result;
}

/// Where uploaded data comes from, by offset (retransmissions read again).
pub(crate) trait Source {
    /// Total length of the data.
    fn len(&self) -> u64;
    /// Fills `buf` with the bytes at `offset`; `buf` never reaches past
    /// [`Source::len`]. An error aborts the transfer.
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result;
}

/// What a completed transfer reports. Only the test requests
/// (`LAZYRESUME_IOC_TFTP_GET`/`_PUT`, `lazyresume_test.ko`) report more
/// than the length.
pub(crate) struct Report {
    /// Bytes transferred.
    pub(crate) length: u64,
    /// Requests, acknowledgements and blocks sent again.
    #[cfg_attr(not(lazyresume_test), allow(dead_code))]
    pub(crate) retransmits: u32,
    /// Wall time of the transfer.
    pub(crate) elapsed_ns: u64,
    /// The block size in use.
    #[cfg_attr(not(lazyresume_test), allow(dead_code))]
    pub(crate) blksize: u16,
    /// The window size in use.
    #[cfg_attr(not(lazyresume_test), allow(dead_code))]
    pub(crate) windowsize: u16,
    /// The server's transfer ID.
    server_tid: Option<SockAddrV4>,
    /// The server's first reply was an OACK.
    options_acknowledged: bool,
}

/// The errno for a failed transfer.
fn errno_of(error: &TransferError<'_>) -> Error {
    match error {
        TransferError::Remote { code, message } => match code {
            ErrorCode::FileNotFound => ENOENT,
            ErrorCode::AccessViolation | ErrorCode::NoSuchUser => EACCES,
            ErrorCode::DiskFull => ENOSPC,
            ErrorCode::FileExists => EEXIST,
            // Some servers (tftpd-hpa) report system errors as code 0 with
            // strerror() as the message.
            ErrorCode::NotDefined if message.starts_with(b"Permission denied") => EACCES,
            ErrorCode::NotDefined if message.starts_with(b"No such file") => ENOENT,
            _ => eproto(),
        },
        TransferError::BufferTooSmall => emsgsize(),
        TransferError::Overflow => EFBIG,
        _ => eproto(),
    }
}

/// What [`Transport::wait`] got.
enum Wait {
    /// A datagram of this length from this address.
    Packet(usize, SockAddrV4),
    /// The retransmission timer expired; the caller retransmits.
    Timeout,
}

/// A failed transfer: its errno, logged by [`finish`].
struct Failure {
    errno: Error,
}

/// Logs a failure with server, file and reason, and makes it a [`Failure`].
macro_rules! fail {
    ($t:expr, $err:expr, $($reason:tt)*) => {{
        if $t.opts.log_failures {
            pr_warn!(
                "tftp: {} {}: {}\n",
                $t.server,
                BStr::from_bytes($t.file),
                format_args!($($reason)*)
            );
        }
        return Err(Failure { errno: $err });
    }};
}

/// What the server is told when the sink refuses data with `e`: a
/// receiver that no longer wants the file (`ECANCELED`) says so; anything
/// else is a lack of room.
fn refusal(e: Error) -> (ErrorCode, &'static [u8]) {
    if e == ecanceled() {
        (ErrorCode::NotDefined, b"cancelled")
    } else {
        (ErrorCode::DiskFull, b"no room")
    }
}

/// The I/O half of a transfer: socket, peer, clocks and retransmission.
struct Transport<'a> {
    sock: &'a UdpSocket,
    server: SockAddrV4,
    file: &'a [u8],
    /// The server's transfer ID once it answered.
    tid: Option<SockAddrV4>,
    /// What is refused as the server's first reply (see [`Endpoint`]).
    refuse: FirstReply<'a>,
    /// The server's first reply was an OACK.
    options_acknowledged: bool,
    opts: TransferOptions,
    start: Ktime,
    rto_ms: u32,
    /// When the retransmission timer was last restarted (by progress or a
    /// retransmission): it measures time without progress.
    last_progress_ms: u64,
    /// When the server last made the transfer progress or sent anything
    /// from its address (not restarted by retransmissions): for
    /// [`TransferOptions::silence_ms`].
    answered_ms: u64,
    retransmits: u32,
    /// Retransmissions since the server was last heard from.
    unanswered: u32,
    /// When the last packet to the server that asks for an answer left
    /// (nanoseconds since `start`, 0 for none): the start of a round-trip
    /// sample, taken when progress answers it.
    sent_ns: core::cell::Cell<u64>,
    /// A timer expired since the last progress: no round-trip sample
    /// until the next progress (Karn's rule: the answer may be to either
    /// copy).
    retransmitted: bool,
}

impl<'a> Transport<'a> {
    fn new(
        sock: &'a UdpSocket,
        server: SockAddrV4,
        file: &'a [u8],
        opts: &TransferOptions,
    ) -> Self {
        Self {
            sock,
            server,
            file,
            tid: None,
            refuse: FirstReply::ANY,
            options_acknowledged: false,
            opts: *opts,
            start: Ktime::ktime_get(),
            rto_ms: RTT.rto_ms(opts.rto_ms, MAX_RTO_MS),
            last_progress_ms: 0,
            answered_ms: 0,
            retransmits: 0,
            unanswered: 0,
            sent_ns: core::cell::Cell::new(0),
            retransmitted: false,
        }
    }

    /// Nanoseconds since the transfer started (at least 1).
    fn elapsed_ns(&self) -> u64 {
        ((Ktime::ktime_get() - self.start).to_ns().max(1)) as u64
    }

    fn elapsed_ms(&self) -> u64 {
        self.elapsed_ns() / 1_000_000
    }

    /// The server's transfer ID, or its request port before it answered.
    fn peer(&self) -> SockAddrV4 {
        self.tid.unwrap_or(self.server)
    }

    /// Sends the request: failing here (no route, bad address) fails the
    /// transfer at once with a clear reason.
    fn send_request(&self, bytes: &[u8]) -> Result<(), Failure> {
        self.mark_sent(self.server);
        if let Err(e) = self.sock.send_to(self.server, bytes) {
            fail!(self, e, "cannot send the request");
        }
        Ok(())
    }

    /// A packet to `to` left: if it goes to the server and no timer
    /// expired since the last progress, the next progress measures the
    /// round trip from now.
    fn mark_sent(&self, to: SockAddrV4) {
        if !self.retransmitted && (to == self.peer() || to == self.server) {
            self.sent_ns.set(self.elapsed_ns());
        }
    }

    /// Sends a packet of the transfer. A failed send is a lost packet: the
    /// retransmission timer resends, the deadline ends it. (Failing the
    /// transfer here would let one forged datagram, say from port 0 or a
    /// broadcast address, abort it.)
    fn send(&self, to: SockAddrV4, bytes: &[u8]) {
        self.mark_sent(to);
        if self.sock.send_to(to, bytes).is_err() {
            STATS.send_errors.inc();
        }
    }

    /// Best effort: tells the server why we stop (once it has answered:
    /// before that there is no transfer on its side to abort).
    fn send_error(&self, bytes: Option<&[u8]>) {
        if let (Some(tid), Some(bytes)) = (self.tid, bytes) {
            let _ = self.sock.send_to(tid, bytes);
        }
    }

    /// Progress was made (call it before sending what answers it): take
    /// the round-trip sample it completes, if any, and restart the timer
    /// from the estimate.
    fn progress(&mut self) {
        let now_ns = self.elapsed_ns();
        let sent_ns = self.sent_ns.replace(0);
        if sent_ns != 0 && !self.retransmitted {
            RTT.sample(now_ns.saturating_sub(sent_ns) / 1000);
        }
        self.retransmitted = false;
        self.last_progress_ms = now_ns / 1_000_000;
        self.answered_ms = self.last_progress_ms;
        self.unanswered = 0;
        self.rto_ms = RTT.rto_ms(self.opts.rto_ms, MAX_RTO_MS);
    }

    /// Whether `pkt` from `from` is from the server's transfer ID: until
    /// the server answered, any port of its address but what
    /// [`Self::refuse`] says; then only its TID.
    fn is_server_tid(&self, from: SockAddrV4, pkt: &[u8]) -> bool {
        match self.tid {
            None => from.addr == self.server.addr && !self.refuse.refuses(from, pkt),
            Some(t) => from == t,
        }
    }

    /// Locks the TID to `from` when `pkt` ended the wait for a reply.
    fn lock_tid(&mut self, was_waiting: bool, still_waiting: bool, from: SockAddrV4, pkt: &[u8]) {
        if self.tid.is_none() && was_waiting && !still_waiting {
            self.tid = Some(from);
            self.options_acknowledged = Opcode::of(pkt) == Some(Opcode::Oack);
        }
    }

    /// Waits for a datagram into `buf` until the retransmission timer or
    /// the deadline expires. `ETIMEDOUT` at the deadline, `EINTR` on a
    /// signal; the caller then tells the server with an ERROR.
    fn wait(&mut self, buf: &mut [u8]) -> Result<Wait, Failure> {
        loop {
            let now_ms = self.elapsed_ms();
            let deadline_ms = u64::from(self.opts.deadline_ms);
            if now_ms >= deadline_ms {
                STATS.deadlines.inc();
                fail!(
                    self,
                    etimedout(),
                    "not done within the {} ms deadline ({} retransmits)",
                    deadline_ms,
                    self.retransmits
                );
            }
            let silence_ms = u64::from(self.opts.silence_ms);
            let retries = if self.tid.is_none() {
                SILENT_REQUESTS
            } else {
                SILENT_RETRANSMITS
            };
            let silent = silence_ms != 0 && self.unanswered >= retries;
            if silent && now_ms.saturating_sub(self.answered_ms) >= silence_ms {
                fail!(
                    self,
                    etimedout(),
                    "no answer for {} ms ({} retransmits)",
                    silence_ms,
                    self.retransmits
                );
            }
            let timer_ms = self.last_progress_ms + u64::from(self.rto_ms);
            if now_ms >= timer_ms {
                self.retransmits = self.retransmits.saturating_add(1);
                self.unanswered = self.unanswered.saturating_add(1);
                STATS.retransmits.inc();
                STATS
                    .retransmit_wait_ms
                    .add(now_ms.saturating_sub(self.last_progress_ms));
                self.retransmitted = true;
                self.sent_ns.set(0);
                self.rto_ms = self.rto_ms.saturating_mul(2).min(MAX_RTO_MS);
                self.last_progress_ms = now_ms;
                return Ok(Wait::Timeout);
            }
            let mut until_ms = timer_ms.min(deadline_ms);
            if silent {
                until_ms = until_ms.min(self.answered_ms + silence_ms);
            }
            let wait_ms = (until_ms - now_ms) as u32;
            match self.sock.recv_from(buf, msecs_to_jiffies(wait_ms)) {
                Ok((n, from)) => {
                    // Not progress, perhaps, but the server is there.
                    if from.addr == self.server.addr {
                        self.answered_ms = self.elapsed_ms();
                        self.unanswered = 0;
                    }
                    return Ok(Wait::Packet(n, from));
                }
                Err(e) if e == EAGAIN => continue,
                Err(e) if e == ERESTARTSYS || e == EINTR => {
                    fail!(self, EINTR, "interrupted by a signal")
                }
                Err(e) => fail!(self, e, "receive failed"),
            }
        }
    }
}

/// Runs a transfer and accounts for it in the statistics.
fn finish(run: impl FnOnce() -> Result<Report, Failure>) -> Result<Report> {
    STATS.transfers.inc();
    let start = Ktime::ktime_get();
    let result = run();
    let elapsed_ns = (Ktime::ktime_get() - start).to_ns().max(0) as u64;
    match result {
        Ok(mut report) => {
            STATS.completed.inc();
            STATS.bytes.add(report.length);
            STATS.latency.record(elapsed_ns);
            report.elapsed_ns = elapsed_ns;
            Ok(report)
        }
        Err(f) => {
            STATS.count_error(f.errno);
            Err(f.errno)
        }
    }
}

/// A UDP socket for transfers of up to `blksize` bytes per block and
/// `windowsize` blocks per window, from the pool of ports if `pool_port`.
fn open_socket(blksize: u16, windowsize: u16, pool_port: bool) -> Result<UdpSocket> {
    let sock = if pool_port {
        pool_socket()
    } else {
        UdpSocket::bind_ephemeral()
    }?;
    // Room for two whole windows, so that a window in flight is not
    // dropped while the previous one is being consumed; never less than
    // the system default.
    let block = usize::from(blksize.max(DEFAULT_BLKSIZE)) + DATA_HEADER_LEN;
    let window = usize::from(windowsize.max(1));
    let want = window
        .saturating_mul(block)
        .saturating_mul(2)
        .min(MAX_RCVBUF);
    if want > MIN_RCVBUF {
        sock.set_receive_buffer(want);
    }
    Ok(sock)
}

/// The buffers of a fetch: the request, and room for one DATA packet of
/// up to `blksize` bytes (and one byte more, so that an oversized block is
/// seen as such rather than truncated).
struct FetchBuffers {
    packet: KVVec<u8>,
    request: KVec<u8>,
}

impl FetchBuffers {
    fn new(blksize: u16) -> Result<Self> {
        let len = usize::from(blksize.max(DEFAULT_BLKSIZE)) + DATA_HEADER_LEN + 1;
        Ok(Self {
            packet: KVVec::from_elem(0u8, len, GFP_KERNEL)?,
            request: KVec::from_elem(0u8, REQUEST_LEN, GFP_KERNEL)?,
        })
    }

    /// The largest block these buffers take.
    fn blksize(&self) -> usize {
        self.packet.len() - DATA_HEADER_LEN - 1
    }
}

/// How many finished transfers' server TIDs an [`Endpoint`] refuses.
const RECENT_TIDS: usize = 32;
/// How long an [`Endpoint`] refuses a finished transfer's server TID: ten
/// of tftpd-hpa's first retransmission timeouts (1 s). A server that
/// sends again later than that meets the DATA rule of [`FirstReply`].
const RECENT_TID_MS: i64 = 10_000;

/// The server TIDs of an endpoint's recent transfers, each until
/// [`RECENT_TID_MS`] after its transfer ended.
struct RecentTids {
    slots: [Option<(SockAddrV4, Ktime)>; RECENT_TIDS],
    next: usize,
}

impl RecentTids {
    const fn new() -> Self {
        Self {
            slots: [None; RECENT_TIDS],
            next: 0,
        }
    }

    /// Remembers `tid`, whose transfer just ended, in place of the oldest.
    fn push(&mut self, tid: SockAddrV4) {
        self.slots[self.next] = Some((tid, Ktime::ktime_get()));
        self.next = (self.next + 1) % RECENT_TIDS;
    }

    /// Forgets every TID (the socket they were for is gone).
    fn clear(&mut self) {
        *self = Self::new();
    }

    /// Whether `from` is the TID of a transfer that ended less than
    /// [`RECENT_TID_MS`] ago.
    fn contains(&self, from: SockAddrV4) -> bool {
        let now = Ktime::ktime_get();
        self.slots
            .iter()
            .flatten()
            .any(|&(tid, ended)| tid == from && (now - ended).to_ms() < RECENT_TID_MS)
    }
}

/// What a transfer of an [`Endpoint`] refuses as the server's first reply.
#[derive(Clone, Copy)]
struct FirstReply<'a> {
    /// Packets from these server TIDs (of the socket's earlier transfers).
    recent: Option<&'a RecentTids>,
    /// DATA packets: the server answers requests with an OACK.
    data: bool,
}

impl FirstReply<'_> {
    /// Refuses nothing: a one-shot transfer on a new socket.
    const ANY: Self = Self {
        recent: None,
        data: false,
    };

    /// Whether `pkt` from `from` is refused as the first reply.
    fn refuses(&self, from: SockAddrV4, pkt: &[u8]) -> bool {
        refuses_first_reply(
            pkt,
            self.recent.is_some_and(|r| r.contains(from)),
            self.data,
        )
    }
}

/// A socket and fetch buffers kept from one fetch to the next, for a
/// worker that fetches many files: nothing is allocated and no socket is
/// opened per fetch while transfers go well.
///
/// TFTP tells transfers apart by port only, and the first reply of a
/// transfer may come from any server port. On a kept socket, a block the
/// server of an earlier transfer sends again late (its acknowledgement
/// came after the server's timer) would be taken for the next file's
/// first block: under load that happened file after file, each failing
/// its hash check three times (SIGBUS). A new socket is no cure either:
/// its port may be one that a transfer ended a moment ago used, whose
/// server still sends. So once the server answered a request with an
/// OACK (every request of the engine carries options), the first reply
/// must be one: a DATA packet before it is an earlier transfer's, refused
/// with ERROR 5 as RFC 1350 wants, until a transfer fails (a server that
/// stopped taking options then gets through again). On a kept socket, so
/// are packets from the server TIDs of the last [`RECENT_TIDS`] transfers
/// (less than [`RECENT_TID_MS`] ago), which covers an OACK sent again
/// late. A socket is kept only after a transfer that began with an OACK
/// and sent nothing twice: a request sent again may have left the server
/// a second transfer of the same file, from a TID never seen.
///
/// Opening a socket for every transfer instead costs little in the
/// kernel, but a NAT on the way pays for each port: QEMU's user network
/// keeps a host socket per guest port for minutes and its main loop walks
/// them all, which slowed the background stream five-fold.
pub(crate) struct Endpoint {
    bufs: FetchBuffers,
    /// The kept socket, with the block and window size it was sized for.
    sock: Option<(UdpSocket, u16, u16)>,
    recent: RecentTids,
    /// The last transfer's server answered with an OACK.
    server_takes_options: bool,
}

impl Endpoint {
    /// An endpoint for fetches of up to `blksize` bytes per block.
    pub(crate) fn new(blksize: u16) -> Result<Self> {
        Ok(Self {
            bufs: FetchBuffers::new(blksize)?,
            sock: None,
            recent: RecentTids::new(),
            server_takes_options: false,
        })
    }

    /// Fetches `file` from `server` into `sink` as [`fetch`] does, with
    /// this endpoint's buffers and socket; `EINVAL` if `opts` asks for
    /// larger blocks than the endpoint was made for.
    pub(crate) fn fetch(
        &mut self,
        server: SockAddrV4,
        file: &[u8],
        opts: &TransferOptions,
        sink: &mut dyn Sink,
    ) -> Result<Report> {
        if usize::from(opts.blksize) > self.bufs.blksize() {
            return Err(EINVAL);
        }
        let (blksize, windowsize) = (opts.blksize, opts.windowsize);
        let Self {
            bufs,
            sock,
            recent,
            server_takes_options,
        } = self;
        let kept = sock
            .take()
            .filter(|&(_, b, w)| (b, w) == (blksize, windowsize));
        finish(|| {
            let (socket, history) = match kept {
                Some((kept, _, _)) => (kept, Some(&*recent)),
                None => {
                    recent.clear();
                    STATS.sockets_opened.inc();
                    let socket = open_socket(blksize, windowsize, false)
                        .map_err(|e| setup_failed(server, file, opts, "UDP socket", e))?;
                    (socket, None)
                }
            };
            let refuse = FirstReply {
                recent: history,
                data: *server_takes_options,
            };
            let r = run_fetch(&socket, bufs, server, file, opts, refuse, sink);
            *server_takes_options = matches!(
                r,
                Ok(Report {
                    options_acknowledged: true,
                    ..
                })
            );
            // Keep the socket only after a clean transfer that began with
            // an OACK (see above).
            if let Ok(Report {
                retransmits,
                server_tid: Some(tid),
                options_acknowledged,
                ..
            }) = r
            {
                if keeps_socket(retransmits, options_acknowledged) {
                    recent.push(tid);
                    *sock = Some((socket, blksize, windowsize));
                }
            }
            r
        })
    }
}

/// Logs that a transfer of `file` could not get `what`.
fn setup_failed(
    server: SockAddrV4,
    file: &[u8],
    opts: &TransferOptions,
    what: &str,
    e: Error,
) -> Failure {
    if opts.log_failures {
        pr_warn!("tftp: {} {}: no {}\n", server, BStr::from_bytes(file), what);
    }
    Failure { errno: e }
}

/// Fetches `file` from `server` into `sink`, in order, chunk by chunk.
///
/// Errors: `ENOENT`, `EACCES`, ... from the server's ERROR packet,
/// `ETIMEDOUT` when the deadline passes, `EPROTO` for a protocol violation,
/// `EINTR` on a signal, or the sink's error. Each failure is logged with
/// server, file and reason.
pub(crate) fn fetch(
    server: SockAddrV4,
    file: &[u8],
    opts: &TransferOptions,
    sink: &mut dyn Sink,
) -> Result<Report> {
    finish(|| {
        let sock = open_socket(opts.blksize, opts.windowsize, opts.pool_port)
            .map_err(|e| setup_failed(server, file, opts, "UDP socket", e))?;
        let mut bufs = FetchBuffers::new(opts.blksize)
            .map_err(|e| setup_failed(server, file, opts, "memory for buffers", e))?;
        run_fetch(&sock, &mut bufs, server, file, opts, FirstReply::ANY, sink)
    })
}

fn run_fetch(
    sock: &UdpSocket,
    bufs: &mut FetchBuffers,
    server: SockAddrV4,
    file: &[u8],
    opts: &TransferOptions,
    refuse: FirstReply<'_>,
    sink: &mut dyn Sink,
) -> Result<Report, Failure> {
    let mut t = Transport::new(sock, server, file, opts);
    t.refuse = refuse;
    let mut rx = Receiver::new(opts.requested(None));
    let FetchBuffers {
        packet: buf,
        request,
    } = bufs;
    let buf: &mut [u8] = buf;
    let mut out = [0u8; MIN_OUT_LEN];
    let request_len = match rx.write_request(file, request) {
        Ok(len) => len,
        Err(e) => fail!(t, EINVAL, "cannot encode the request: {}", e),
    };
    let request = &request[..request_len];
    t.send_request(request)?;

    loop {
        let wait = match t.wait(buf) {
            Ok(wait) => wait,
            Err(f) => {
                let abort = rx.abort(ErrorCode::NotDefined, b"giving up", &mut out);
                t.send_error(abort.map(|len| &out[..len]));
                return Err(f);
            }
        };
        let (n, from) = match wait {
            Wait::Packet(n, from) => (n, from),
            Wait::Timeout => {
                match rx.on_timeout(&mut out) {
                    RecvTimeout::ResendRequest => t.send(server, request),
                    RecvTimeout::Send(len) => t.send(t.peer(), &out[..len]),
                    RecvTimeout::Idle => fail!(t, eproto(), "timeout in a finished transfer"),
                }
                continue;
            }
        };
        let waiting = rx.awaiting_reply();
        let event = rx.on_packet(t.is_server_tid(from, &buf[..n]), &buf[..n], &mut out);
        t.lock_tid(waiting, rx.awaiting_reply(), from, &buf[..n]);
        match event {
            RecvEvent::Ignored => {}
            RecvEvent::Reject(len) => {
                STATS.strangers.inc();
                t.send(from, &out[..len]);
            }
            RecvEvent::Send(len) => {
                t.progress();
                t.send(t.peer(), &out[..len]);
            }
            RecvEvent::Data { offset, data, ack } => {
                if let Err(e) = sink.write(offset, data) {
                    let (code, why) = refusal(e);
                    t.send_error(rx.abort(code, why, &mut out).map(|l| &out[..l]));
                    fail!(t, e, "cannot store {} bytes at {}", data.len(), offset);
                }
                t.progress();
                if let Some(len) = ack {
                    t.send(t.peer(), &out[..len]);
                }
            }
            RecvEvent::Done { offset, data, ack } => {
                // Store before acknowledging: a sink error still reaches the
                // server as an ERROR instead of a final ACK.
                if let Err(e) = sink.write(offset, data) {
                    let (code, why) = refusal(e);
                    t.send_error(rx.abort(code, why, &mut out).map(|l| &out[..l]));
                    fail!(t, e, "cannot store {} bytes at {}", data.len(), offset);
                }
                t.send(t.peer(), &out[..ack]);
                let params = rx.negotiated().copied().unwrap_or_default();
                return Ok(Report {
                    length: rx.offset(),
                    retransmits: t.retransmits,
                    elapsed_ns: 0,
                    blksize: params.blksize,
                    windowsize: params.windowsize,
                    server_tid: t.tid,
                    options_acknowledged: t.options_acknowledged,
                });
            }
            RecvEvent::Failed { error, send } => {
                t.send_error(send.map(|len| &out[..len]));
                fail!(t, errno_of(&error), "{}", error);
            }
        }
    }
}

/// Uploads `source` to `server` as `file` (WRQ), announcing its size.
///
/// Errors as [`fetch`], with `EEXIST`, `ENOSPC`, `EACCES` from servers that
/// refuse the file.
pub(crate) fn upload(
    server: SockAddrV4,
    file: &[u8],
    opts: &TransferOptions,
    source: &mut dyn Source,
) -> Result<Report> {
    finish(|| {
        let sock = open_socket(opts.blksize, opts.windowsize, opts.pool_port)
            .map_err(|e| setup_failed(server, file, opts, "UDP socket", e))?;
        run_upload(&sock, server, file, opts, source)
    })
}

fn run_upload(
    sock: &UdpSocket,
    server: SockAddrV4,
    file: &[u8],
    opts: &TransferOptions,
    source: &mut dyn Source,
) -> Result<Report, Failure> {
    let mut t = Transport::new(sock, server, file, opts);
    // A repeated WRQ would truncate the file: the request waits long.
    t.rto_ms = t.rto_ms.max(WRITE_REQUEST_RTO_MS);
    let total = source.len();
    let mut tx = Sender::new(opts.requested(Some(total)));
    let data_len = usize::from(opts.blksize.max(DEFAULT_BLKSIZE)) + DATA_HEADER_LEN;
    let (mut buf, mut out, mut chunk) = match (
        KVec::from_elem(0u8, REPLY_LEN, GFP_KERNEL),
        KVVec::from_elem(0u8, data_len.max(MIN_OUT_LEN), GFP_KERNEL),
        KVVec::from_elem(0u8, data_len, GFP_KERNEL),
    ) {
        (Ok(b), Ok(o), Ok(c)) => (b, o, c),
        _ => fail!(t, ENOMEM, "no memory for {} bytes of buffers", data_len),
    };
    let request_len = match tx.write_request(file, &mut out) {
        Ok(len) => len,
        Err(e) => fail!(t, EINVAL, "cannot encode the request: {}", e),
    };
    let request = match KVec::from_elem(0u8, request_len, GFP_KERNEL) {
        Ok(mut r) => {
            r.copy_from_slice(&out[..request_len]);
            r
        }
        Err(_) => fail!(t, ENOMEM, "no memory for the request"),
    };
    t.send_request(&request)?;

    loop {
        let wait = match t.wait(&mut buf) {
            Ok(wait) => wait,
            Err(f) => {
                let abort = tx.abort(ErrorCode::NotDefined, b"giving up", &mut out);
                t.send_error(abort.map(|len| &out[..len]));
                return Err(f);
            }
        };
        let transmit = match wait {
            Wait::Packet(n, from) => {
                let waiting = tx.awaiting_reply();
                let event = tx.on_packet(t.is_server_tid(from, &buf[..n]), &buf[..n], &mut out);
                t.lock_tid(waiting, tx.awaiting_reply(), from, &buf[..n]);
                match event {
                    SendEvent::Ignored => false,
                    SendEvent::Reject(len) => {
                        STATS.strangers.inc();
                        t.send(from, &out[..len]);
                        false
                    }
                    SendEvent::Transmit => {
                        t.progress();
                        true
                    }
                    SendEvent::Done => {
                        let params = tx.negotiated().copied().unwrap_or_default();
                        return Ok(Report {
                            length: total,
                            retransmits: t.retransmits,
                            elapsed_ns: 0,
                            blksize: params.blksize,
                            windowsize: params.windowsize,
                            server_tid: t.tid,
                            options_acknowledged: t.options_acknowledged,
                        });
                    }
                    SendEvent::Failed { error, send } => {
                        t.send_error(send.map(|len| &out[..len]));
                        fail!(t, errno_of(&error), "{}", error);
                    }
                }
            }
            Wait::Timeout => match tx.on_timeout() {
                SendTimeout::ResendRequest => {
                    t.send(server, &request);
                    false
                }
                SendTimeout::Retransmit => true,
                SendTimeout::Idle => fail!(t, eproto(), "timeout in a finished transfer"),
            },
        };
        if !transmit {
            continue;
        }
        while let Some(next) = tx.next_block() {
            let len = (total.saturating_sub(next.offset)).min(next.max_len as u64) as usize;
            if let Err(e) = source.read(next.offset, &mut chunk[..len]) {
                t.send_error(
                    tx.abort(ErrorCode::NotDefined, b"read error", &mut out)
                        .map(|l| &out[..l]),
                );
                fail!(t, e, "cannot read {} bytes at {}", len, next.offset);
            }
            let pkt_len = match tx.send_block(&chunk[..len], &mut out) {
                Ok(l) => l,
                Err(e) => fail!(t, eproto(), "cannot send block at {}: {}", next.offset, e),
            };
            t.send(t.peer(), &out[..pkt_len]);
        }
    }
}
