// SPDX-License-Identifier: GPL-2.0

//! A model of a replayed client's network link (`lazyresume loadgen
//! --client-rate`): on a diskless network each client sits behind its
//! own switch port (100 Mbit/s or 1 Gbit/s), which the host's loopback
//! does not have. The client paces itself: every block it receives is
//! let through only once the link would have carried it, and it is
//! acknowledged only then, so that the server (which sends one block per
//! acknowledgement, or a window per acknowledgement) never gives a client
//! more than its link could. The servers' own link is not modelled.
//!
//! The model: a link that carries one frame after another at its rate
//! (a token bucket of depth zero, in its virtual-time form): a block is
//! through when the link has carried everything it received before and
//! then the block's frames ([`wire_bytes`]: the Ethernet, IPv4, UDP and
//! TFTP headers of a 1500-byte MTU counted). An idle link saves nothing
//! up: what the server sends to an idle client still takes its
//! serialisation time. Propagation is not modelled (zero on a switch to
//! within microseconds), nor the client's acknowledgements (the other
//! direction of a full-duplex port), nor loss.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// TFTP DATA header (opcode, block number) and UDP header.
const TFTP_UDP_HEADERS: u64 = 4 + 8;
/// IPv4 header, in every fragment.
const IP_HEADER: u64 = 20;
/// Payload of an IPv4 fragment with a 1500-byte MTU (a multiple of 8).
const FRAGMENT_PAYLOAD: u64 = 1480;
/// Ethernet header and FCS.
const ETHERNET_FRAME: u64 = 14 + 4;
/// Smallest Ethernet frame (header and FCS included); shorter ones are
/// padded.
const ETHERNET_MIN_FRAME: u64 = 64;
/// Preamble, start of frame and inter-frame gap: wire time of every
/// frame that carries no bytes of it.
const ETHERNET_GAP: u64 = 8 + 12;

/// The bytes a link carries, gaps included, for a TFTP DATA packet with
/// `data` bytes of file: the UDP datagram in IPv4 fragments of a
/// 1500-byte MTU, each in an Ethernet frame.
pub fn wire_bytes(data: usize) -> u64 {
    let payload = data as u64 + TFTP_UDP_HEADERS;
    let frames = payload.div_ceil(FRAGMENT_PAYLOAD).max(1);
    let last = payload - (frames - 1) * FRAGMENT_PAYLOAD;
    let frame = |fragment: u64| (fragment + IP_HEADER + ETHERNET_FRAME).max(ETHERNET_MIN_FRAME);
    (frames - 1) * frame(FRAGMENT_PAYLOAD) + frame(last) + frames * ETHERNET_GAP
}

/// Parses a rate in Mbit/s (decimal, fractions allowed: `100`, `1000`,
/// `2.5`) into bits per second; it must be at least 1 bit/s.
pub fn parse_mbit(s: &str) -> Result<u64, String> {
    let mbit: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of Mbit/s"))?;
    let bps = mbit * 1e6;
    if !bps.is_finite() || bps < 1.0 || bps > u64::MAX as f64 {
        return Err(format!("'{s}': a rate must be above 0 Mbit/s"));
    }
    Ok(bps.round() as u64)
}

/// The arithmetic of a link of a given rate, in time since an epoch of
/// the caller's (so that it can be tested without a clock): when the
/// bytes handed to it are through.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    bits_per_second: u64,
    /// When the link has carried everything taken so far.
    free_at: Duration,
}

impl Bucket {
    /// An idle link of `bits_per_second` (at least 1).
    pub fn new(bits_per_second: u64) -> Self {
        Self {
            bits_per_second: bits_per_second.max(1),
            free_at: Duration::ZERO,
        }
    }

    /// The time the link takes to carry `bytes`, rounded up to the
    /// nanosecond (never faster than its rate).
    pub fn cost(&self, bytes: u64) -> Duration {
        let ns = (u128::from(bytes) * 8 * 1_000_000_000).div_ceil(u128::from(self.bits_per_second));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// `bytes` reach the link at `now`: when they are through (after what
    /// it carries already, then their own time).
    pub fn take(&mut self, now: Duration, bytes: u64) -> Duration {
        self.free_at = self.free_at.max(now) + self.cost(bytes);
        self.free_at
    }
}

/// A replayed client's link on the wall clock, shared by all its
/// transfers (the resume's, the fetchers', the stream's).
pub struct Link {
    epoch: Instant,
    bucket: Mutex<Bucket>,
}

impl Link {
    /// An idle link of `bits_per_second`.
    pub fn new(bits_per_second: u64) -> Self {
        Self {
            epoch: Instant::now(),
            bucket: Mutex::new(Bucket::new(bits_per_second)),
        }
    }

    /// A DATA packet with `data` bytes of file arrived from the server:
    /// returns once the link would have carried it (at once if the link
    /// is that much ahead, which it never is at depth zero).
    pub fn receive(&self, data: usize) {
        let now = self.epoch.elapsed();
        let through = self
            .bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(now, wire_bytes(data));
        if let Some(wait) = through.checked_sub(self.epoch.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn wire_bytes_count_every_header_of_a_1500_byte_mtu() {
        // A full frame: 1500 bytes of IP, 18 of Ethernet, 20 of gap.
        assert_eq!(wire_bytes(1480 - 12), 1538);
        // One byte more: a second frame, padded to 64 bytes.
        assert_eq!(wire_bytes(1480 - 12 + 1), 1538 + 64 + 20);
        // An empty last block: one minimum frame.
        assert_eq!(wire_bytes(0), 64 + 20);
        // The largest block: 45 fragments of the 65 476-byte datagram.
        assert_eq!(wire_bytes(65464), 65476 + 45 * (20 + 18 + 20));
    }

    #[test]
    fn rates_parse_in_mbit() {
        assert_eq!(parse_mbit("100"), Ok(100_000_000));
        assert_eq!(parse_mbit("1000"), Ok(1_000_000_000));
        assert_eq!(parse_mbit("2.5"), Ok(2_500_000));
        for bad in ["0", "-1", "x", "", "NaN", "inf"] {
            assert!(parse_mbit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_block_takes_its_serialisation_time() {
        let mut b = Bucket::new(100_000_000);
        // 1.25 MB at 100 Mbit/s: 100 ms.
        assert_eq!(b.cost(1_250_000), MS(100));
        assert_eq!(b.take(MS(0), 1_250_000), MS(100));
        // Rounded up: one byte at 3 bit/s is 2.666... s.
        assert_eq!(Bucket::new(3).cost(1), Duration::from_nanos(2_666_666_667));
    }

    #[test]
    fn blocks_that_arrive_together_queue() {
        let mut b = Bucket::new(8_000_000); // 1 MB/s: 1 byte a microsecond
        assert_eq!(b.take(MS(0), 1000), MS(1));
        assert_eq!(b.take(MS(0), 1000), MS(2));
        // One that comes while the link is busy waits its turn.
        assert_eq!(b.take(MS(1), 1000), MS(3));
    }

    #[test]
    fn an_idle_link_saves_nothing_up() {
        let mut b = Bucket::new(8_000_000);
        assert_eq!(b.take(MS(0), 1000), MS(1));
        assert_eq!(b.take(MS(50), 1000), MS(51));
        assert_eq!(b.take(MS(50), 0), MS(51));
    }

    #[test]
    fn a_busy_link_gives_exactly_its_rate() {
        // Many transfers at once: the bytes over the rate, to the
        // nanosecond.
        let mut b = Bucket::new(100_000_000);
        let mut through = Duration::ZERO;
        for _ in 0..1000 {
            through = b.take(Duration::ZERO, wire_bytes(65464));
        }
        assert_eq!(through, b.cost(1000 * wire_bytes(65464)));
        // One block per round trip (tftpd-hpa): the link's time and the
        // server's turnaround add up.
        let mut b = Bucket::new(100_000_000);
        let mut now = Duration::ZERO;
        for _ in 0..100 {
            now = b.take(now, 65536) + Duration::from_micros(100);
        }
        assert_eq!(now, 100 * (b.cost(65536) + Duration::from_micros(100)));
    }
}
