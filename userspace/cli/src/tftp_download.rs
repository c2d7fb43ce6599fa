// SPDX-License-Identifier: GPL-2.0

//! Downloads from a TFTP server in user space, driving the shared
//! protocol core over a UDP socket the way the module's client drives it
//! over a kernel socket (`rust/tftp/client.rs`): the same options asked
//! for, the same receive buffer, the same retransmission timer. Used by
//! the `/dev/snapshot` benchmark of `lazyresume resume --via-snapshot-dev`,
//! and to read an image's files on a server (`lazyresume workingset`,
//! `lazyresume sign`).

use anyhow::{anyhow, bail, Context, Result};
use lazyresume_tftp::{
    keeps_socket, refuses_first_reply, ErrorCode, Opcode, OptionSet, Receiver, RecvEvent,
    RecvTimeout, TransferError, MIN_OUT_LEN,
};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The block size of RFC 1350, which asking for no option gets.
const DEFAULT_BLKSIZE: u16 = 512;
/// Header of a DATA packet: opcode and block number.
const DATA_HEADER_LEN: usize = 4;
/// Room for a request: opcode, a 255-byte name, mode and four options.
const REQUEST_LEN: usize = 512;
/// Receive buffer bounds, as the module's (`MAX_RCVBUF`, `MIN_RCVBUF`).
const MAX_RCVBUF: usize = 4 << 20;
const MIN_RCVBUF: usize = 256 << 10;
/// Retransmission timeout bounds, as the module's.
const MAX_RTO: Duration = Duration::from_millis(4000);
/// Floor of the adaptive timeout and the clock granularity of RFC 6298,
/// as the module's (`rust/tftp/rtt.rs`).
const MIN_ADAPTIVE_RTO: Duration = Duration::from_millis(50);
const GRANULARITY_US: u64 = 4000;

/// A round-trip estimate as the module keeps one (`rust/tftp/rtt.rs`,
/// RFC 6298): SRTT and RTTVAR from exchanges sent once (Karn's rule), a
/// timeout of `SRTT + max(G, 4 * RTTVAR)`, at least 50 ms; shared by the
/// transfers of a client ([`fetch_adaptive`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rtt {
    srtt_us: u64,
    rttvar_us: u64,
}

impl Rtt {
    /// Takes the round trip `us` of an exchange that was sent once
    /// (alpha 1/8, beta 1/4).
    pub fn sample(&mut self, us: u64) {
        let r = us.max(1);
        if self.srtt_us == 0 {
            self.srtt_us = r;
            self.rttvar_us = r / 2;
        } else {
            self.rttvar_us = (3 * self.rttvar_us + self.srtt_us.abs_diff(r)) / 4;
            self.srtt_us = ((7 * self.srtt_us + r) / 8).max(1);
        }
    }

    /// The timeout of the next exchange; `initial` before the first
    /// sample.
    pub fn rto(&self, initial: Duration) -> Duration {
        if self.srtt_us == 0 {
            return initial.clamp(Duration::from_millis(1), MAX_RTO);
        }
        let us = self
            .srtt_us
            .saturating_add(GRANULARITY_US.max(self.rttvar_us.saturating_mul(4)));
        Duration::from_micros(us).clamp(MIN_ADAPTIVE_RTO, MAX_RTO)
    }
}

/// How to run a download.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// blksize to ask for ([`DEFAULT_BLKSIZE`] asks for none).
    pub blksize: u16,
    /// windowsize to ask for (1 asks for none).
    pub windowsize: u16,
    /// Initial retransmission timeout.
    pub rto: Duration,
    /// Deadline of the whole transfer.
    pub deadline: Duration,
}

/// What a download measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Timeouts that made the client resend.
    pub retransmits: u32,
    /// The block size the server granted.
    pub blksize: u16,
    /// The window size the server granted.
    pub windowsize: u16,
    /// The server's TID (address and port) of the transfer.
    pub server_tid: Option<SocketAddr>,
    /// The server's first reply was an OACK.
    pub options_acknowledged: bool,
}

/// The server has no such file (TFTP error 1), as opposed to a failed
/// transfer: the error of [`fetch`] then downcasts to it.
#[derive(Debug)]
pub struct NotFound {
    /// What was asked for, and where.
    what: String,
}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: file not found", self.what)
    }
}

impl std::error::Error for NotFound {}

/// How the tool fetches an image's files from a server.
const GET_OPTIONS: Options = Options {
    blksize: 65464,
    windowsize: 16,
    rto: Duration::from_millis(200),
    deadline: Duration::from_secs(120),
};

/// The whole file `path` from `server`.
pub fn get(server: SocketAddrV4, path: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    fetch(server, path, &GET_OPTIONS, &mut |_, b| {
        data.extend_from_slice(b);
        Ok(())
    })
    .with_context(|| format!("fetching {path} from {server}"))?;
    Ok(data)
}

/// Asks for a receive buffer of `bytes`, above `rmem_max` if allowed
/// (`SO_RCVBUFFORCE` needs `CAP_NET_ADMIN`, as root in the test guests),
/// as the module does with `sock_set_rcvbuf()`.
fn set_rcvbuf(sock: &UdpSocket, bytes: usize) {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: `v` is a c_int that lives across the call, and its size
        // is passed.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

/// Fetches `file` from `server`, handing its bytes in order to `sink`
/// (offset, data). The sink's error ends the transfer with an ERROR to
/// the server.
pub fn fetch(
    server: SocketAddrV4,
    file: &str,
    opts: &Options,
    sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<Report> {
    fetch_adaptive(server, file, opts, None, sink)
}

/// [`fetch`], with the retransmission timeout taken from `rtt` and fed
/// back into it (the module's adaptive timer) if given; `opts.rto` before
/// its first sample.
pub fn fetch_adaptive(
    server: SocketAddrV4,
    file: &str,
    opts: &Options,
    rtt: Option<&std::sync::Mutex<Rtt>>,
    sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<Report> {
    let sock = open_socket(opts)?;
    run_fetch(&sock, server, file, opts, rtt, FirstReply::default(), sink)
}

/// A UDP socket for transfers of `opts`, its receive buffer sized as the
/// module sizes its own.
fn open_socket(opts: &Options) -> Result<UdpSocket> {
    let sock = UdpSocket::bind("0.0.0.0:0").context("binding a UDP socket")?;
    let block = usize::from(opts.blksize.max(DEFAULT_BLKSIZE)) + DATA_HEADER_LEN;
    let want = usize::from(opts.windowsize.max(1))
        .saturating_mul(block)
        .saturating_mul(2)
        .min(MAX_RCVBUF);
    if want > MIN_RCVBUF {
        set_rcvbuf(&sock, want);
    }
    Ok(sock)
}

/// How many finished transfers' server TIDs an [`Endpoint`] refuses, and
/// for how long (the module's `RECENT_TIDS`, `RECENT_TID_MS`).
const RECENT_TIDS: usize = 32;
const RECENT_TID: Duration = Duration::from_secs(10);

/// A socket kept from one fetch to the next, as the module's fetchers
/// keep theirs, with the same rules (`Endpoint` in `rust/tftp/client.rs`):
/// once the server answered with an OACK, a first reply that is DATA is
/// refused; on a kept socket, so is one from the server TID of one of the
/// last 32 transfers (a block that a server of an earlier transfer sends
/// again late would otherwise be taken for the next file's first block);
/// the socket is kept only after a transfer that began with an OACK and
/// sent nothing twice.
#[derive(Default)]
pub struct Endpoint {
    sock: Option<(UdpSocket, u16, u16)>,
    recent: std::collections::VecDeque<(SocketAddr, Instant)>,
    /// The last transfer's server answered with an OACK: a first reply
    /// that is DATA is refused, on a new socket too (its port may be one
    /// whose earlier transfer's server still sends).
    server_takes_options: bool,
    /// Sockets opened.
    pub sockets: u64,
}

impl Endpoint {
    /// [`fetch_adaptive`] with this endpoint's socket.
    pub fn fetch(
        &mut self,
        server: SocketAddrV4,
        file: &str,
        opts: &Options,
        rtt: Option<&std::sync::Mutex<Rtt>>,
        sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<Report> {
        let kept = self
            .sock
            .take()
            .filter(|&(_, b, w)| (b, w) == (opts.blksize, opts.windowsize));
        let now = Instant::now();
        self.recent
            .retain(|(_, t)| now.duration_since(*t) < RECENT_TID);
        let recent: Vec<SocketAddr> = self.recent.iter().map(|(a, _)| *a).collect();
        let (sock, history) = match kept {
            Some((s, _, _)) => (s, recent.as_slice()),
            None => {
                self.recent.clear();
                self.sockets += 1;
                (open_socket(opts)?, &[][..])
            }
        };
        let refuse = FirstReply {
            recent: history,
            data: self.server_takes_options,
        };
        let r = run_fetch(&sock, server, file, opts, rtt, refuse, sink);
        self.server_takes_options = matches!(
            r,
            Ok(Report {
                options_acknowledged: true,
                ..
            })
        );
        if let Ok(Report {
            retransmits,
            server_tid: Some(tid),
            options_acknowledged,
            ..
        }) = r
        {
            if !keeps_socket(retransmits, options_acknowledged) {
                return r;
            }
            if self.recent.len() >= RECENT_TIDS {
                self.recent.pop_front();
            }
            self.recent.push_back((tid, Instant::now()));
            self.sock = Some((sock, opts.blksize, opts.windowsize));
        }
        r
    }
}

/// What a transfer of an [`Endpoint`] refuses as the server's first reply
/// (the module's `FirstReply`).
#[derive(Clone, Copy, Default)]
struct FirstReply<'a> {
    /// Packets from these server TIDs (of the socket's earlier transfers).
    recent: &'a [SocketAddr],
    /// DATA packets: the server answers requests with an OACK.
    data: bool,
}

/// A fetch on `sock`; what `refuse` says is a stranger's while the server
/// has not answered.
fn run_fetch(
    sock: &UdpSocket,
    server: SocketAddrV4,
    file: &str,
    opts: &Options,
    rtt: Option<&std::sync::Mutex<Rtt>>,
    refuse: FirstReply<'_>,
    sink: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<Report> {
    let current_rto = || match rtt {
        Some(m) => m.lock().map_or(opts.rto, |r| r.rto(opts.rto)),
        None => opts.rto.clamp(Duration::from_millis(1), MAX_RTO),
    };
    // Karn's rule: a sample from the last packet sent to the first
    // progress that answers it, unless it was resent.
    let mut sent_at: Option<Instant>;
    let take_sample = |sent_at: &mut Option<Instant>| {
        if let (Some(t), Some(m)) = (sent_at.take(), rtt) {
            if let Ok(mut r) = m.lock() {
                r.sample(t.elapsed().as_micros() as u64);
            }
        }
    };
    let block = usize::from(opts.blksize.max(DEFAULT_BLKSIZE)) + DATA_HEADER_LEN;
    let mut rx = Receiver::new(OptionSet {
        blksize: (opts.blksize != DEFAULT_BLKSIZE).then_some(opts.blksize),
        timeout: None,
        tsize: None,
        windowsize: (opts.windowsize > 1).then_some(opts.windowsize),
    });
    let mut request = [0u8; REQUEST_LEN];
    let n = rx
        .write_request(file.as_bytes(), &mut request)
        .map_err(|e| anyhow!("{file}: cannot encode the request: {e:?}"))?;
    let request = &request[..n];
    // One byte more than the largest block, so that an oversized block is
    // seen as such.
    let mut buf = vec![0u8; block + 1];
    let mut out = [0u8; MIN_OUT_LEN];
    let start = Instant::now();
    let mut rto = current_rto();
    let mut last_progress = start;
    let mut retransmits = 0u32;
    let mut peer: Option<SocketAddr> = None;
    let mut options_acknowledged = false;
    sock.send_to(request, server)?;
    sent_at = Some(Instant::now());
    let fail = |rx: &mut Receiver, peer: Option<SocketAddr>, code, msg: &[u8]| {
        let mut out = [0u8; MIN_OUT_LEN];
        if let (Some(l), Some(p)) = (rx.abort(code, msg, &mut out), peer) {
            let _ = sock.send_to(&out[..l], p);
        }
    };
    loop {
        let now = Instant::now();
        if now.duration_since(start) >= opts.deadline {
            fail(&mut rx, peer, ErrorCode::NotDefined, b"giving up");
            bail!(
                "{file} from {server}: not done within {:?} ({retransmits} retransmits)",
                opts.deadline
            );
        }
        let timer = last_progress + rto;
        if now >= timer {
            retransmits += 1;
            rto = (rto * 2).min(MAX_RTO);
            last_progress = now;
            sent_at = None;
            match rx.on_timeout(&mut out) {
                RecvTimeout::ResendRequest => {
                    sock.send_to(request, server)?;
                }
                RecvTimeout::Send(len) => {
                    if let Some(p) = peer {
                        sock.send_to(&out[..len], p)?;
                    }
                }
                RecvTimeout::Idle => bail!("{file}: timeout in a finished transfer"),
            }
            continue;
        }
        let wait = timer
            .min(start + opts.deadline)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))?;
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => return Err(e).context("receiving from the TFTP server"),
        };
        let waiting = rx.awaiting_reply();
        let ok = match peer {
            Some(p) => p == from,
            None => {
                from.ip() == std::net::IpAddr::V4(*server.ip())
                    && !refuses_first_reply(&buf[..n], refuse.recent.contains(&from), refuse.data)
            }
        };
        let event = rx.on_packet(ok, &buf[..n], &mut out);
        if waiting && ok && !rx.awaiting_reply() {
            peer = Some(from);
            options_acknowledged = Opcode::of(&buf[..n]) == Some(Opcode::Oack);
        }
        match event {
            RecvEvent::Ignored => {}
            RecvEvent::Reject(len) => {
                sock.send_to(&out[..len], from)?;
            }
            RecvEvent::Send(len) => {
                take_sample(&mut sent_at);
                sock.send_to(&out[..len], from)?;
                last_progress = Instant::now();
                if rtt.is_some() {
                    sent_at = Some(last_progress);
                    rto = current_rto();
                }
            }
            RecvEvent::Data { offset, data, ack } => {
                take_sample(&mut sent_at);
                if let Err(e) = sink(offset, data) {
                    fail(&mut rx, peer, ErrorCode::DiskFull, b"no room");
                    return Err(e);
                }
                if let Some(len) = ack {
                    sock.send_to(&out[..len], from)?;
                    sent_at = Some(Instant::now());
                }
                last_progress = Instant::now();
                rto = current_rto();
            }
            RecvEvent::Done { offset, data, ack } => {
                take_sample(&mut sent_at);
                // Store before acknowledging, as the module does.
                if let Err(e) = sink(offset, data) {
                    fail(&mut rx, peer, ErrorCode::DiskFull, b"no room");
                    return Err(e);
                }
                sock.send_to(&out[..ack], from)?;
                let params = rx.negotiated().copied().unwrap_or_default();
                return Ok(Report {
                    retransmits,
                    blksize: params.blksize,
                    windowsize: params.windowsize,
                    server_tid: peer,
                    options_acknowledged,
                });
            }
            RecvEvent::Failed { error, send } => {
                if let (Some(l), Some(p)) = (send, peer) {
                    let _ = sock.send_to(&out[..l], p);
                }
                if let TransferError::Remote {
                    code: ErrorCode::FileNotFound,
                    ..
                } = error
                {
                    return Err(NotFound {
                        what: format!("{file} from {server}"),
                    }
                    .into());
                }
                bail!("{file} from {server}: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_estimate_as_rfc_6298() {
        let mut r = Rtt::default();
        let initial = Duration::from_millis(200);
        assert_eq!(r.rto(initial), initial);
        r.sample(10_000);
        // SRTT 10 ms, RTTVAR 5 ms: 10 + 4 * 5 = 30 ms, below the floor.
        assert_eq!(r.rto(initial), MIN_ADAPTIVE_RTO);
        for _ in 0..50 {
            r.sample(100_000);
        }
        let rto = r.rto(initial);
        assert!(rto > Duration::from_millis(100) && rto < Duration::from_millis(200));
        r.sample(u64::MAX / 16);
        assert_eq!(r.rto(initial), MAX_RTO);
    }
}
