// SPDX-License-Identifier: GPL-2.0

//! Whole transfers over a simulated network that drops, duplicates and
//! reorders packets, against reference servers written here from the RFCs
//! (they share no code with the crate).
//!
//! Time is simulated: timeouts fire only when no packet is in flight, on
//! the client, on the server or on both (chosen at random).

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, VecDeque};

use lazyresume_tftp::{
    OptionSet, Receiver, RecvEvent, RecvTimeout, SendEvent, SendTimeout, Sender, MIN_OUT_LEN,
};
use proptest::prelude::*;

/// The client's port.
const CLIENT: u16 = 50_000;
/// The server's well-known port.
const LISTEN: u16 = 69;
/// Server timeouts without progress before a session gives up.
const SERVER_PATIENCE: u32 = 80;

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.below(100) < u64::from(percent)
    }
}

#[derive(Clone, Copy, Debug)]
struct Faults {
    drop: u8,
    dup: u8,
    reorder: u8,
}

const NO_FAULTS: Faults = Faults {
    drop: 0,
    dup: 0,
    reorder: 0,
};

struct Dgram {
    src: u16,
    dst: u16,
    bytes: Vec<u8>,
}

/// The network: a queue of datagrams in flight.
struct Net {
    queue: VecDeque<Dgram>,
    rng: Rng,
    faults: Faults,
    /// Datagrams handed to the network, per source port class
    /// (client, servers).
    sent_by_client: u64,
    sent_by_servers: u64,
}

impl Net {
    fn new(seed: u64, faults: Faults) -> Self {
        Self {
            queue: VecDeque::new(),
            rng: Rng(seed),
            faults,
            sent_by_client: 0,
            sent_by_servers: 0,
        }
    }

    fn send(&mut self, src: u16, dst: u16, bytes: &[u8]) {
        if src == CLIENT {
            self.sent_by_client += 1;
        } else {
            self.sent_by_servers += 1;
        }
        if self.rng.chance(self.faults.drop) {
            return;
        }
        let copies = if self.rng.chance(self.faults.dup) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.queue.push_back(Dgram {
                src,
                dst,
                bytes: bytes.to_vec(),
            });
        }
    }

    fn recv(&mut self) -> Option<Dgram> {
        if self.queue.is_empty() {
            return None;
        }
        let index = if self.rng.chance(self.faults.reorder) {
            self.rng.below(self.queue.len().min(8) as u64) as usize
        } else {
            0
        };
        self.queue.remove(index)
    }

    /// Who times out when the network is idle: (client, servers).
    fn who_times_out(&mut self) -> (bool, bool) {
        match self.rng.below(4) {
            0 => (false, true),
            1 => (true, false),
            _ => (true, true),
        }
    }
}

// --- Wire helpers of the reference servers (independent of the crate). ---

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn mk_data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 3];
    v.extend_from_slice(&block.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn mk_ack(block: u16) -> Vec<u8> {
    let mut v = vec![0, 4];
    v.extend_from_slice(&block.to_be_bytes());
    v
}

fn mk_oack(options: &[(&str, u64)]) -> Vec<u8> {
    let mut v = vec![0, 6];
    for (name, value) in options {
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        v.extend_from_slice(value.to_string().as_bytes());
        v.push(0);
    }
    v
}

/// Parses an RRQ (opcode 1) or WRQ (2): its options, names lower-cased.
fn parse_request(bytes: &[u8], opcode: u16) -> Option<BTreeMap<String, u64>> {
    if be16(bytes, 0)? != opcode || bytes.last() != Some(&0) {
        return None;
    }
    let fields: Vec<&[u8]> = bytes[2..bytes.len() - 1].split(|&b| b == 0).collect();
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return None;
    }
    if !fields[1].eq_ignore_ascii_case(b"octet") {
        return None;
    }
    let mut options = BTreeMap::new();
    for pair in fields[2..].chunks(2) {
        let name = String::from_utf8(pair[0].to_ascii_lowercase()).ok()?;
        let value = std::str::from_utf8(pair[1]).ok()?.parse().ok()?;
        options.insert(name, value);
    }
    Some(options)
}

/// How a reference server treats the client's options.
#[derive(Clone, Copy, Debug)]
struct ServerPolicy {
    /// Behave as an RFC 1350 server: no OACK, 512-byte blocks, lockstep.
    ignore_options: bool,
    /// Largest block size it accepts (it lowers bigger requests).
    max_blksize: u16,
    /// Largest window it accepts; 0: does not know `windowsize`.
    max_windowsize: u16,
    /// Whether it knows `tsize`.
    tsize: bool,
}

/// What a server answers to the options of a request: (blksize,
/// windowsize, OACK to send if any).
fn server_negotiate(
    policy: &ServerPolicy,
    asked: &BTreeMap<String, u64>,
    file_size: Option<u64>,
) -> (usize, u64, Option<Vec<u8>>) {
    if policy.ignore_options {
        return (512, 1, None);
    }
    let mut blksize = 512;
    let mut windowsize = 1;
    let mut acked: Vec<(&str, u64)> = Vec::new();
    if let Some(&b) = asked.get("blksize") {
        let b = b.min(u64::from(policy.max_blksize));
        blksize = b as usize;
        acked.push(("blksize", b));
    }
    if let Some(&t) = asked.get("timeout") {
        acked.push(("timeout", t));
    }
    if let (Some(&t), true) = (asked.get("tsize"), policy.tsize) {
        acked.push(("tsize", file_size.unwrap_or(t)));
    }
    if let (Some(&w), true) = (asked.get("windowsize"), policy.max_windowsize > 0) {
        windowsize = w.min(u64::from(policy.max_windowsize));
        acked.push(("windowsize", windowsize));
    }
    if acked.is_empty() {
        (blksize, windowsize, None)
    } else {
        (blksize, windowsize, Some(mk_oack(&acked)))
    }
}

/// A read (RRQ) session of the reference server: sends windows of blocks,
/// goes back to the block after any ACK inside the window (RFC 7440), and
/// resends the window on its timeout.
struct ReadSession {
    tid: u16,
    file: Vec<u8>,
    blksize: usize,
    windowsize: u64,
    /// An OACK waiting for ACK 0.
    oack: Option<Vec<u8>>,
    acked: u64,
    next: u64,
    sent_max: u64,
    blocks: u64,
    done: bool,
    dead: bool,
    idle: u32,
}

impl ReadSession {
    fn start(
        tid: u16,
        request: &[u8],
        file: &[u8],
        policy: &ServerPolicy,
        net: &mut Net,
    ) -> Option<Self> {
        let asked = parse_request(request, 1)?;
        let (blksize, windowsize, oack) = server_negotiate(policy, &asked, Some(file.len() as u64));
        let mut session = Self {
            tid,
            file: file.to_vec(),
            blksize,
            windowsize,
            oack,
            acked: 0,
            next: 1,
            sent_max: 0,
            blocks: (file.len() / blksize) as u64 + 1,
            done: false,
            dead: false,
            idle: 0,
        };
        match &session.oack {
            Some(oack) => net.send(tid, CLIENT, oack),
            None => session.send_window(net),
        }
        Some(session)
    }

    fn send_window(&mut self, net: &mut Net) {
        let end = (self.acked + self.windowsize).min(self.blocks);
        while self.next <= end {
            let start = (self.next as usize - 1) * self.blksize;
            let stop = (start + self.blksize).min(self.file.len());
            net.send(
                self.tid,
                CLIENT,
                &mk_data(self.next as u16, &self.file[start..stop]),
            );
            self.sent_max = self.sent_max.max(self.next);
            self.next += 1;
        }
    }

    fn on_packet(&mut self, src: u16, bytes: &[u8], net: &mut Net) {
        if self.done || self.dead {
            return;
        }
        if src != CLIENT {
            return;
        }
        match be16(bytes, 0) {
            Some(5) => self.dead = true,
            Some(4) if bytes.len() == 4 => {
                let block = be16(bytes, 2).unwrap();
                self.idle = 0;
                if self.oack.is_some() {
                    if block == 0 {
                        self.oack = None;
                        self.send_window(net);
                    }
                    return;
                }
                let ahead = u64::from(block.wrapping_sub(self.acked as u16));
                if ahead > self.sent_max - self.acked {
                    return; // stale
                }
                if ahead == 0 {
                    // The client asks for the window again (a gap).
                    if self.acked < self.sent_max {
                        self.next = self.acked + 1;
                        self.send_window(net);
                    }
                    return;
                }
                self.acked += ahead;
                if self.acked == self.blocks {
                    self.done = true;
                    return;
                }
                self.next = self.acked + 1;
                self.send_window(net);
            }
            _ => panic!("read server got {bytes:?}"),
        }
    }

    fn on_timeout(&mut self, net: &mut Net) {
        if self.done || self.dead {
            return;
        }
        self.idle += 1;
        if self.idle > SERVER_PATIENCE {
            self.dead = true;
            return;
        }
        match &self.oack {
            Some(oack) => net.send(self.tid, CLIENT, oack),
            None => {
                self.next = self.acked + 1;
                self.send_window(net);
            }
        }
    }
}

/// A write (WRQ) session of the reference server: an RFC 7440 receiver
/// that, like many RFC 1350 servers, also re-ACKs every duplicate block,
/// which is what provokes the Sorcerer's Apprentice in a naive sender.
struct WriteSession {
    tid: u16,
    blksize: usize,
    windowsize: u64,
    /// An OACK waiting for DATA 1.
    oack: Option<Vec<u8>>,
    expected: u64,
    data: Vec<u8>,
    unacked: u64,
    gap_reported: bool,
    done: bool,
    dead: bool,
    idle: u32,
}

impl WriteSession {
    fn start(tid: u16, request: &[u8], policy: &ServerPolicy, net: &mut Net) -> Option<Self> {
        let asked = parse_request(request, 2)?;
        let (blksize, windowsize, oack) = server_negotiate(policy, &asked, None);
        match &oack {
            Some(oack) => net.send(tid, CLIENT, oack),
            None => net.send(tid, CLIENT, &mk_ack(0)),
        }
        Some(Self {
            tid,
            blksize,
            windowsize,
            oack,
            expected: 1,
            data: Vec::new(),
            unacked: 0,
            gap_reported: false,
            done: false,
            dead: false,
            idle: 0,
        })
    }

    fn ack(&self, block: u64, net: &mut Net) {
        net.send(self.tid, CLIENT, &mk_ack(block as u16));
    }

    fn on_packet(&mut self, src: u16, bytes: &[u8], net: &mut Net) {
        if self.dead || src != CLIENT {
            return;
        }
        match be16(bytes, 0) {
            Some(5) => self.dead = true,
            Some(3) if bytes.len() >= 4 => {
                let block = be16(bytes, 2).unwrap();
                let payload = &bytes[4..];
                self.idle = 0;
                let last = self.expected - 1;
                if self.done {
                    // Dally: the client missed the final ACK.
                    if block == last as u16 {
                        self.ack(last, net);
                    }
                    return;
                }
                let ahead = u64::from(block.wrapping_sub(self.expected as u16));
                if ahead == 0 {
                    assert!(payload.len() <= self.blksize, "oversized block");
                    self.oack = None;
                    self.data.extend_from_slice(payload);
                    self.expected += 1;
                    self.gap_reported = false;
                    self.unacked += 1;
                    if payload.len() < self.blksize {
                        self.done = true;
                        self.ack(self.expected - 1, net);
                    } else if self.unacked == self.windowsize {
                        self.unacked = 0;
                        self.ack(self.expected - 1, net);
                    }
                } else if ahead <= self.windowsize {
                    if !self.gap_reported {
                        self.gap_reported = true;
                        self.unacked = 0;
                        self.ack(last, net);
                    }
                } else if self.oack.is_none() {
                    // A duplicate: re-ACK it, RFC 1350 style.
                    self.ack(last, net);
                }
            }
            _ => panic!("write server got {bytes:?}"),
        }
    }

    fn on_timeout(&mut self, net: &mut Net) {
        if self.done || self.dead {
            return;
        }
        self.idle += 1;
        if self.idle > SERVER_PATIENCE {
            self.dead = true;
            return;
        }
        match &self.oack {
            Some(oack) => net.send(self.tid, CLIENT, oack),
            None => {
                self.unacked = 0;
                self.ack(self.expected - 1, net);
            }
        }
    }
}

/// A file whose bytes differ from block to block and inside blocks.
fn make_file(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed ^ 0x5555);
    (0..size).map(|_| rng.next() as u8).collect()
}

fn step_limit(size: usize, blksize: u16) -> u64 {
    200_000 + 400 * (size as u64 / u64::from(blksize) + 1)
}

struct Outcome {
    client_packets: u64,
    server_packets: u64,
}

/// Downloads `file` from a reference server; checks it arrives intact.
fn download(
    file: &[u8],
    asked: OptionSet,
    policy: ServerPolicy,
    faults: Faults,
    seed: u64,
) -> Outcome {
    let mut net = Net::new(seed, faults);
    let mut sessions: BTreeMap<u16, ReadSession> = BTreeMap::new();
    let mut next_tid = 1000u16;
    let mut rx = Receiver::new(asked);
    let mut out = vec![0u8; MIN_OUT_LEN];
    let len = rx.write_request(b"image", &mut out).unwrap();
    let request = out[..len].to_vec();
    net.send(CLIENT, LISTEN, &request);
    let mut tid: Option<u16> = None;
    let mut got: Vec<u8> = Vec::new();
    let limit = step_limit(file.len(), asked.blksize.unwrap_or(512).min(512));
    let mut steps = 0u64;
    loop {
        steps += 1;
        assert!(steps < limit, "no progress after {steps} steps");
        let Some(d) = net.recv() else {
            let (client, servers) = net.who_times_out();
            if client {
                match rx.on_timeout(&mut out) {
                    RecvTimeout::ResendRequest => net.send(CLIENT, LISTEN, &request),
                    RecvTimeout::Send(n) => net.send(CLIENT, tid.unwrap(), &out[..n]),
                    RecvTimeout::Idle => panic!("idle client"),
                }
                assert!(rx.retries() < 200, "client retried too often");
            }
            if servers {
                for session in sessions.values_mut() {
                    session.on_timeout(&mut net);
                }
            }
            continue;
        };
        if d.dst == LISTEN {
            if let Some(s) = ReadSession::start(next_tid, &d.bytes, file, &policy, &mut net) {
                sessions.insert(next_tid, s);
            }
            next_tid += 1;
            continue;
        }
        if d.dst != CLIENT {
            if let Some(session) = sessions.get_mut(&d.dst) {
                session.on_packet(d.src, &d.bytes, &mut net);
            }
            continue;
        }
        let from_tid_ok = tid.is_none_or(|t| t == d.src);
        let waiting = rx.awaiting_reply();
        let event = rx.on_packet(from_tid_ok, &d.bytes, &mut out);
        if waiting && !rx.awaiting_reply() {
            tid = Some(d.src);
        }
        match event {
            RecvEvent::Ignored => {}
            RecvEvent::Send(n) => net.send(CLIENT, tid.unwrap(), &out[..n]),
            RecvEvent::Reject(n) => net.send(CLIENT, d.src, &out[..n]),
            RecvEvent::Data { offset, data, ack } => {
                assert_eq!(offset, got.len() as u64, "data out of order");
                got.extend_from_slice(data);
                if let Some(n) = ack {
                    net.send(CLIENT, tid.unwrap(), &out[..n]);
                }
            }
            RecvEvent::Done { offset, data, ack } => {
                assert_eq!(offset, got.len() as u64, "data out of order");
                got.extend_from_slice(data);
                net.send(CLIENT, tid.unwrap(), &out[..ack]);
                break;
            }
            RecvEvent::Failed { error, .. } => panic!("download failed: {error}"),
        }
    }
    assert!(rx.is_done());
    assert_eq!(got.len(), file.len());
    assert!(got == file, "downloaded file differs");
    assert_eq!(rx.offset(), file.len() as u64);
    let params = rx.negotiated().unwrap();
    if !policy.ignore_options {
        if let Some(b) = asked.blksize {
            assert_eq!(params.blksize, b.min(policy.max_blksize));
        }
        if asked.tsize.is_some() && policy.tsize {
            assert_eq!(params.tsize, Some(file.len() as u64));
        }
    }
    Outcome {
        client_packets: net.sent_by_client,
        server_packets: net.sent_by_servers,
    }
}

/// Uploads `file` to a reference server; checks it arrives intact.
fn upload(
    file: &[u8],
    asked: OptionSet,
    policy: ServerPolicy,
    faults: Faults,
    seed: u64,
) -> Outcome {
    let mut net = Net::new(seed, faults);
    let mut sessions: BTreeMap<u16, WriteSession> = BTreeMap::new();
    let mut next_tid = 1000u16;
    let mut tx = Sender::new(OptionSet {
        tsize: asked.tsize.map(|_| file.len() as u64),
        ..asked
    });
    let mut out = vec![0u8; 4 + 65_464];
    let len = tx.write_request(b"dump", &mut out).unwrap();
    let request = out[..len].to_vec();
    net.send(CLIENT, LISTEN, &request);
    let mut tid: Option<u16> = None;
    let limit = step_limit(file.len(), asked.blksize.unwrap_or(512).min(512));
    let mut steps = 0u64;

    let pump = |tx: &mut Sender, out: &mut [u8], net: &mut Net, tid: u16| {
        while let Some(req) = tx.next_block() {
            let start = (req.offset as usize).min(file.len());
            let end = (start + req.max_len).min(file.len());
            let n = tx.send_block(&file[start..end], out).unwrap();
            net.send(CLIENT, tid, &out[..n]);
        }
    };

    loop {
        steps += 1;
        assert!(steps < limit, "no progress after {steps} steps");
        let Some(d) = net.recv() else {
            let (client, servers) = net.who_times_out();
            if client {
                match tx.on_timeout() {
                    SendTimeout::ResendRequest => net.send(CLIENT, LISTEN, &request),
                    SendTimeout::Retransmit => pump(&mut tx, &mut out, &mut net, tid.unwrap()),
                    SendTimeout::Idle => panic!("idle client"),
                }
                assert!(tx.retries() < 200, "client retried too often");
            }
            if servers {
                for session in sessions.values_mut() {
                    session.on_timeout(&mut net);
                }
            }
            continue;
        };
        if d.dst == LISTEN {
            if let Some(s) = WriteSession::start(next_tid, &d.bytes, &policy, &mut net) {
                sessions.insert(next_tid, s);
            }
            next_tid += 1;
            continue;
        }
        if d.dst != CLIENT {
            if let Some(session) = sessions.get_mut(&d.dst) {
                session.on_packet(d.src, &d.bytes, &mut net);
            }
            continue;
        }
        let from_tid_ok = tid.is_none_or(|t| t == d.src);
        let waiting = tx.awaiting_reply();
        let event = tx.on_packet(from_tid_ok, &d.bytes, &mut out);
        if waiting && !tx.awaiting_reply() {
            tid = Some(d.src);
        }
        match event {
            SendEvent::Ignored => {}
            SendEvent::Reject(n) => net.send(CLIENT, d.src, &out[..n]),
            SendEvent::Transmit => pump(&mut tx, &mut out, &mut net, tid.unwrap()),
            SendEvent::Done => break,
            SendEvent::Failed { error, .. } => panic!("upload failed: {error}"),
        }
    }
    assert!(tx.is_done());
    let session = &sessions[&tid.unwrap()];
    assert!(session.done, "server did not finish");
    assert_eq!(session.data.len(), file.len());
    assert!(session.data == file, "uploaded file differs");
    let blksize = tx.negotiated().unwrap().blksize;
    assert_eq!(
        tx.blocks_acked(),
        (file.len() / usize::from(blksize)) as u64 + 1
    );
    Outcome {
        client_packets: net.sent_by_client,
        server_packets: net.sent_by_servers,
    }
}

const FULL_POLICY: ServerPolicy = ServerPolicy {
    ignore_options: false,
    max_blksize: 65464,
    max_windowsize: 65535,
    tsize: true,
};

fn asking(blksize: u16, windowsize: u16) -> OptionSet {
    OptionSet {
        blksize: Some(blksize),
        timeout: Some(1),
        tsize: Some(0),
        windowsize: Some(windowsize),
    }
}

#[test]
fn clean_network_sends_each_packet_once() {
    // 10 full blocks and a short one, window of 4: RRQ, ACK 0, ACKs 4, 8
    // and 11 from the client; OACK and 11 blocks from the server.
    let file = make_file(10 * 64 + 5, 1);
    let o = download(&file, asking(64, 4), FULL_POLICY, NO_FAULTS, 1);
    assert_eq!((o.client_packets, o.server_packets), (5, 12));
    // Lockstep RFC 1350 server: RRQ and 3 ACKs; 3 blocks.
    let file = make_file(2 * 512, 2);
    let policy = ServerPolicy {
        ignore_options: true,
        ..FULL_POLICY
    };
    let o = download(&file, asking(64, 4), policy, NO_FAULTS, 2);
    assert_eq!((o.client_packets, o.server_packets), (4, 3));
    // Upload of 3 blocks with a window of 2: WRQ and 3 blocks; OACK and
    // ACKs 2 and 3.
    let file = make_file(2 * 100 + 1, 3);
    let o = upload(&file, asking(100, 2), FULL_POLICY, NO_FAULTS, 3);
    assert_eq!((o.client_packets, o.server_packets), (4, 3));
}

#[test]
fn rollover_download_blksize_8() {
    // 70000 full blocks and a short one: block numbers wrap once.
    let file = make_file(8 * 70_000 + 5, 4);
    let faults = Faults {
        drop: 5,
        dup: 5,
        reorder: 10,
    };
    download(&file, asking(8, 8), FULL_POLICY, faults, 4);
}

#[test]
fn rollover_download_exact_multiple_lockstep() {
    // 65536 full blocks: the last (empty) block is number 65537, wire 1.
    let file = make_file(8 * 65_536, 5);
    let faults = Faults {
        drop: 3,
        dup: 3,
        reorder: 5,
    };
    download(&file, asking(8, 1), FULL_POLICY, faults, 5);
}

#[test]
fn rollover_upload_blksize_8() {
    let faults = Faults {
        drop: 5,
        dup: 5,
        reorder: 10,
    };
    let file = make_file(8 * 66_000 + 7, 6);
    upload(&file, asking(8, 1), FULL_POLICY, faults, 6);
    let file = make_file(8 * 65_536, 7);
    upload(&file, asking(8, 6), FULL_POLICY, faults, 7);
}

fn policy() -> impl Strategy<Value = ServerPolicy> {
    (
        0u8..8,
        prop_oneof![Just(65464u16), 8u16..=600],
        prop_oneof![Just(65535u16), Just(0u16), 1u16..=8],
        any::<bool>(),
    )
        .prop_map(
            |(ignore, max_blksize, max_windowsize, tsize)| ServerPolicy {
                ignore_options: ignore == 0,
                max_blksize,
                max_windowsize,
                tsize,
            },
        )
}

fn faults() -> impl Strategy<Value = Faults> {
    (0u8..=25, 0u8..=15, 0u8..=30).prop_map(|(drop, dup, reorder)| Faults { drop, dup, reorder })
}

/// A file size up to 300 KiB, often an exact multiple of the block size,
/// and a block size that is often tiny (many blocks).
fn transfer() -> impl Strategy<Value = (usize, u16, u16)> {
    let blksize = prop_oneof![8u16..=32, 8u16..=512];
    (0usize..=300 * 1024, blksize, 1u16..=16, any::<bool>()).prop_map(
        |(size, blksize, windowsize, multiple)| {
            let size = if multiple {
                size - size % usize::from(blksize)
            } else {
                size
            };
            (size, blksize, windowsize)
        },
    )
}

fn options(blksize: u16, windowsize: u16, which: u8) -> OptionSet {
    OptionSet {
        blksize: Some(blksize),
        timeout: (which & 1 != 0).then_some(1),
        tsize: (which & 2 != 0).then_some(0),
        windowsize: (which & 4 != 0).then_some(windowsize),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn download_survives_a_bad_network(
        (size, blksize, windowsize) in transfer(),
        which in 0u8..8,
        policy in policy(),
        faults in faults(),
        seed in any::<u64>(),
    ) {
        let file = make_file(size, seed);
        download(&file, options(blksize, windowsize, which | 4), policy, faults, seed);
    }

    #[test]
    fn upload_survives_a_bad_network(
        (size, blksize, windowsize) in transfer(),
        which in 0u8..8,
        policy in policy(),
        faults in faults(),
        seed in any::<u64>(),
    ) {
        let file = make_file(size, seed);
        upload(&file, options(blksize, windowsize, which), policy, faults, seed);
    }
}
