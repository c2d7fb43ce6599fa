// SPDX-License-Identifier: GPL-2.0

//! The retransmission timer's round-trip estimate, as RFC 6298 computes
//! TCP's: a smoothed round trip (SRTT) and its variation (RTTVAR) from
//! samples of exchanges that were not retransmitted (Karn's rule), and a
//! timeout of `SRTT + max(G, 4 * RTTVAR)` with a floor ([`MIN_RTO_MS`]).
//!
//! One estimate for the module: the transfers of a client go to the same
//! image server over the same link, and a new transfer (one per pageset2
//! file) starts from what the earlier ones measured instead of from the
//! configured initial timeout. Until the first sample the caller's
//! initial timeout applies (RFC 6298's 1 s; the callers use 200-500 ms).

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sys::counter::Counter;
use crate::sys::debugfs::SeqBuf;

/// Floor of the adaptive timeout. Below the RFC's 1 s (which is for the
/// Internet): a LAN answers in well under a millisecond, but a guest's
/// virtual CPU can be off its host CPU for tens of milliseconds, and a
/// timer that fires then only resends a packet that was not lost.
pub(crate) const MIN_RTO_MS: u32 = 50;

/// Upper bound of the retransmission timeout after backoff.
pub(crate) const MAX_RTO_MS: u32 = 4000;

/// The clock granularity G of RFC 6298 (a jiffy at HZ=250).
const GRANULARITY_US: u64 = 4000;

/// SRTT and RTTVAR in microseconds, packed into one word so that an
/// update is atomic: SRTT in the high half, RTTVAR in the low half; 0
/// before the first sample.
pub(crate) struct RttEstimate {
    packed: AtomicU64,
    samples: Counter,
}

/// Packs SRTT and RTTVAR (microseconds, saturated to 32 bits).
fn pack(srtt_us: u64, rttvar_us: u64) -> u64 {
    (srtt_us.min(u64::from(u32::MAX)) << 32) | rttvar_us.min(u64::from(u32::MAX))
}

/// SRTT and RTTVAR of a packed word.
fn unpack(word: u64) -> (u64, u64) {
    (word >> 32, word & u64::from(u32::MAX))
}

impl RttEstimate {
    /// No sample yet.
    pub(crate) const fn new() -> Self {
        Self {
            packed: AtomicU64::new(0),
            samples: Counter::new(),
        }
    }

    /// Takes the round trip `rtt_us` of an exchange that was sent once
    /// (RFC 6298, 2.2 and 2.3: alpha 1/8, beta 1/4).
    pub(crate) fn sample(&self, rtt_us: u64) {
        // A sample of 0 µs would read as "no sample": count it as 1.
        let r = rtt_us.max(1);
        let update = |word: u64| {
            let (srtt, rttvar) = unpack(word);
            Some(if srtt == 0 {
                pack(r, r / 2)
            } else {
                let rttvar = (3 * rttvar + srtt.abs_diff(r)) / 4;
                let srtt = (7 * srtt + r) / 8;
                pack(srtt.max(1), rttvar)
            })
        };
        // The closure never declines, so this cannot fail.
        let _ = self
            .packed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, update);
        self.samples.inc();
    }

    /// The timeout for the next exchange, in milliseconds: from the
    /// estimate, never below [`MIN_RTO_MS`] nor above `max_ms`;
    /// `initial_ms` (clamped to the same bounds) before the first sample.
    pub(crate) fn rto_ms(&self, initial_ms: u32, max_ms: u32) -> u32 {
        let (srtt, rttvar) = unpack(self.packed.load(Ordering::Relaxed));
        if srtt == 0 {
            return initial_ms.clamp(1, max_ms);
        }
        let us = srtt.saturating_add(GRANULARITY_US.max(rttvar.saturating_mul(4)));
        let ms = us.div_ceil(1000).min(u64::from(max_ms)) as u32;
        ms.max(MIN_RTO_MS.min(max_ms))
    }

    /// Writes `tftp_srtt_us`, `tftp_rttvar_us`, `tftp_rto_ms` (what the
    /// next transfer starts with; 0 before the first sample, when it is
    /// the caller's initial timeout) and `tftp_rtt_samples` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        let (srtt, rttvar) = unpack(self.packed.load(Ordering::Relaxed));
        let rto = if srtt == 0 {
            0
        } else {
            self.rto_ms(0, MAX_RTO_MS)
        };
        writeln!(out, "tftp_srtt_us {}", srtt)?;
        writeln!(out, "tftp_rttvar_us {}", rttvar)?;
        writeln!(out, "tftp_rto_ms {}", rto)?;
        writeln!(out, "tftp_rtt_samples {}", self.samples.get())
    }
}

/// The module's round-trip estimate.
pub(crate) static RTT: RttEstimate = RttEstimate::new();
