// SPDX-License-Identifier: GPL-2.0

//! The resume as a timeline (`LAZYRESUME_IOC_TIMELINE`,
//! `lazyresume status --timeline`): when each step of a resume happened,
//! in both kernels, on one clock, and the pages of each lane over time.
//!
//! **The clock** is the boot kernel's `CLOCK_MONOTONIC` (`ktime_get()`,
//! nanoseconds since it started keeping time, early in its boot). The
//! boot kernel notes its events on it and hands them over with the
//! hand-off page, with the jump's time. The restored kernel's monotonic
//! clock is another one (the image's kernel's, which went on from where
//! it stopped at the capture), so its events are placed on the boot
//! kernel's clock by one offset, fixed when it adopts the hand-off: the
//! adoption is at the jump plus the time from the jump to the adoption.
//! That time is measured with the CPU's time-stamp counter, which runs on
//! across the jump, at the rate the boot kernel measured between the
//! module's load and the jump (`TIMELINE_GAP_MEASURED`); without one, the
//! adoption is placed at the jump.
//!
//! Events are times of the kernel they happened in (`ktime_get()`) plus
//! an offset (0 in the boot kernel), noted in atomics of the fetch
//! engine's [`Events`], which every place that notes one reaches through
//! the engine: the fault path notes the first fault with one atomic load
//! once it is known.
//!
//! **The samples** (pages fetched per lane, installed) are taken by the
//! engine's sampler thread every 100 ms from the adoption until the
//! client is complete, into a ring of [`RING`] samples: when it is full,
//! every other sample is dropped and the period doubles, so a long
//! resume keeps its whole span at a coarser step and memory stays fixed.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::time::Ktime;

use super::STATS;
use crate::shared::abi;
use crate::sys::clock;

/// Samples kept at most.
pub(crate) const RING: usize = 1024;
/// The first sampling period.
pub(crate) const PERIOD_MS: u32 = 100;
/// The sampler's sleep while nothing is to sample.
pub(crate) const IDLE_MS: u32 = 1000;
/// Longest time from the jump to the adoption believed (a longer one
/// means the counter did not run on across the jump).
const MAX_GAP_NS: u64 = 300 * 1_000_000_000;
/// Earliest a user-space mark may be, before now.
const MAX_MARK_AGE_NS: i64 = 600 * 1_000_000_000;

/// The events of the timeline: when each happened, on this kernel's
/// clock, and how to place them on the timeline's.
pub(crate) struct Events {
    /// Each event's time, in this kernel's `ktime_get()` nanoseconds.
    times: [AtomicI64; abi::TL_EVENT_SLOTS],
    /// Bit `TL_*` set once that event's time is in `times`.
    known: AtomicU64,
    /// Timeline clock minus this kernel's `ktime_get()`.
    offset: AtomicI64,
    /// `TIMELINE_RESUMED`, `TIMELINE_GAP_MEASURED`, `TIMELINE_SAMPLING`.
    flags: AtomicU32,
    /// `ktime_get()` and the cycle counter when the module was loaded: the
    /// boot kernel measures the counter's rate from there to the jump.
    loaded_ns: i64,
    loaded_cycles: u64,
}

fn now_ns() -> i64 {
    Ktime::ktime_get().to_ns()
}

impl Events {
    /// At module load: the first event, and the counter's start.
    pub(crate) fn loaded() -> Self {
        let ns = now_ns();
        let events = Self {
            times: [const { AtomicI64::new(0) }; abi::TL_EVENT_SLOTS],
            known: AtomicU64::new(0),
            offset: AtomicI64::new(0),
            flags: AtomicU32::new(0),
            loaded_ns: ns,
            loaded_cycles: clock::cycles().unwrap_or(0),
        };
        events.mark_at(abi::TL_MODULE_LOADED, ns);
        events
    }

    /// Notes that `event` happened now.
    pub(crate) fn mark(&self, event: u32) {
        self.mark_at(event, now_ns());
    }

    /// Notes that `event` happened at `ns` (`ktime_get()` of this kernel).
    fn mark_at(&self, event: u32, ns: i64) {
        let Some(t) = self.times.get(event as usize) else {
            return;
        };
        t.store(ns, Ordering::Relaxed);
        self.known.fetch_or(1 << event, Ordering::Release);
    }

    /// Notes `event` now unless its time is known already.
    pub(crate) fn mark_once(&self, event: u32) {
        if self.known.load(Ordering::Relaxed) & (1 << event) == 0 {
            self.mark(event);
        }
    }

    /// Whether `event` happened.
    pub(crate) fn known(&self, event: u32) -> bool {
        self.known.load(Ordering::Acquire) & (1 << event) != 0
    }

    /// Nanoseconds since `event`, if it happened.
    pub(crate) fn since_ns(&self, event: u32) -> Option<u64> {
        let t = self.times.get(event as usize)?;
        self.known(event)
            .then(|| (now_ns() - t.load(Ordering::Relaxed)).max(0) as u64)
    }

    /// User space marks an event it sees: `ns` is its `CLOCK_MONOTONIC`
    /// time (0: now). `EINVAL` for another event, or a time in the future
    /// or long past.
    pub(crate) fn user_mark(&self, event: u32, ns: u64) -> Result {
        if ![
            abi::TL_DEVICES_RESUMED,
            abi::TL_THAWED,
            abi::TL_HOOK_DONE,
            abi::TL_FIRST_ANSWER,
        ]
        .contains(&event)
        {
            return Err(EINVAL);
        }
        let now = now_ns();
        let at = match ns {
            0 => now,
            ns => i64::try_from(ns).map_err(|_| EINVAL)?,
        };
        if at > now || now - at > MAX_MARK_AGE_NS {
            return Err(EINVAL);
        }
        // An application marks each of its answers: the first counts.
        if event == abi::TL_FIRST_ANSWER && self.known(event) {
            return Ok(());
        }
        self.mark_at(event, at);
        Ok(())
    }

    /// In the boot kernel, at the jump: notes it and returns the events,
    /// the counter at the jump and its rate, for the hand-off page.
    pub(crate) fn to_handoff(&self) -> [u8; HANDOFF_LEN] {
        let ns = now_ns();
        let cycles = clock::cycles();
        self.mark_at(abi::TL_JUMP, ns);
        let mut out = [0u8; HANDOFF_LEN];
        let mut words = out.chunks_exact_mut(8);
        let mut put = |v: u64| {
            if let Some(w) = words.next() {
                w.copy_from_slice(&v.to_ne_bytes());
            }
        };
        let known = self.known.load(Ordering::Acquire);
        let offset = self.offset.load(Ordering::Relaxed);
        put(known);
        for t in &self.times {
            put((t.load(Ordering::Relaxed) + offset) as u64);
        }
        // Counter cycles per millisecond, from the load to the jump (at
        // least 100 ms apart, for a rate to trust).
        let rate = match cycles {
            Some(c) => {
                let dns = ns - self.loaded_ns;
                let dc = c.wrapping_sub(self.loaded_cycles);
                if dns >= 100_000_000 {
                    dc.saturating_mul(1000) / (dns as u64 / 1000)
                } else {
                    0
                }
            }
            None => 0,
        };
        put(cycles.unwrap_or(0));
        put(rate);
        out
    }

    /// In the restored kernel, as it adopts the hand-off: forgets what
    /// this kernel noted before the capture, takes the boot kernel's
    /// events and places this kernel's on their clock. `bytes` is what
    /// [`Events::to_handoff`] wrote (all zeros from a boot kernel without
    /// a timeline: then this kernel's events start at the adoption, at 0).
    pub(crate) fn adopt(&self, bytes: &[u8; HANDOFF_LEN]) {
        let now = now_ns();
        let cycles = clock::cycles();
        let mut words = bytes
            .chunks_exact(8)
            .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])));
        let mut get = || words.next().unwrap_or(0);
        let known = get();
        let mut boot = [0i64; abi::TL_EVENT_SLOTS];
        for b in &mut boot {
            *b = get() as i64;
        }
        let jump_cycles = get();
        let rate = get();
        let jump = boot[abi::TL_JUMP as usize];
        let gap = match cycles {
            Some(c) if rate > 0 && c >= jump_cycles && known & (1 << abi::TL_JUMP) != 0 => (c
                - jump_cycles)
                .checked_mul(1_000_000)
                .map(|x| x / rate)
                .filter(|&g| g <= MAX_GAP_NS),
            _ => None,
        };
        let adopted_at = if known & (1 << abi::TL_JUMP) != 0 {
            jump + gap.unwrap_or(0) as i64
        } else {
            0
        };
        let offset = adopted_at - now;
        self.known.store(0, Ordering::Release);
        self.offset.store(offset, Ordering::Relaxed);
        for (i, t) in boot.iter().enumerate().take(abi::TL_JUMP as usize + 1) {
            if known & (1 << i) != 0 {
                self.mark_at(i as u32, t - offset);
            }
        }
        self.mark_at(abi::TL_ADOPTED, now);
        let mut flags = abi::TIMELINE_RESUMED | abi::TIMELINE_SAMPLING;
        if gap.is_some() {
            flags |= abi::TIMELINE_GAP_MEASURED;
        }
        self.flags.store(flags, Ordering::Release);
    }

    /// Whether the sampler is to take samples.
    pub(crate) fn sampling(&self) -> bool {
        self.flags.load(Ordering::Acquire) & abi::TIMELINE_SAMPLING != 0
    }

    /// Sampling is over (the client is complete).
    pub(crate) fn stop_sampling(&self) {
        self.flags
            .fetch_and(!abi::TIMELINE_SAMPLING, Ordering::AcqRel);
    }

    /// Timeline clock minus this kernel's `ktime_get()`.
    pub(crate) fn offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    /// Fills the event part of a `LAZYRESUME_IOC_TIMELINE` answer.
    pub(crate) fn fill(&self, out: &mut abi::Timeline) {
        let known = self.known.load(Ordering::Acquire);
        let offset = self.offset();
        out.known = known;
        out.flags = self.flags.load(Ordering::Acquire);
        for (i, (o, t)) in out.event_ns.iter_mut().zip(&self.times).enumerate() {
            *o = if known & (1 << i) != 0 {
                t.load(Ordering::Relaxed) + offset
            } else {
                0
            };
        }
    }
}

/// The boot kernel's events as the hand-off page carries them.
pub(crate) const HANDOFF_LEN: usize = 8 * (abi::TL_EVENT_SLOTS + 3);

/// The samples: a ring that keeps every other one when full.
pub(crate) struct Ring {
    samples: KVVec<abi::TimelineSample>,
    len: usize,
    period_ms: u32,
}

impl Ring {
    /// An empty ring, with room for [`RING`] samples.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            samples: KVVec::from_elem(abi::TimelineSample::default(), RING, GFP_KERNEL)?,
            len: 0,
            period_ms: PERIOD_MS,
        })
    }

    /// Starts over (at the adoption).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.period_ms = PERIOD_MS;
    }

    /// The period now.
    pub(crate) fn period_ms(&self) -> u32 {
        self.period_ms
    }

    /// Takes a sample of the counters now.
    pub(crate) fn sample(&mut self) {
        let s = self.samples.as_mut_slice();
        if self.len >= s.len() {
            // Keep samples 0, 2, 4...: the span stays, the step doubles.
            let half = self.len.div_ceil(2);
            for i in 0..half {
                s[i] = s[2 * i];
            }
            self.len = half;
            self.period_ms = self.period_ms.saturating_mul(2);
        }
        if let Some(slot) = s.get_mut(self.len) {
            *slot = abi::TimelineSample {
                t_ns: now_ns(),
                urgent_pages: STATS.urgent_pages.get(),
                workingset_pages: STATS.workingset_pages.get(),
                background_pages: STATS.background_pages.get(),
                installed_pages: STATS.installed.get(),
            };
            self.len += 1;
        }
    }

    /// Copies samples from the first into `out`, on the timeline's clock
    /// (this kernel's plus `offset`); returns how many and how many there
    /// are.
    pub(crate) fn copy(&self, out: &mut [abi::TimelineSample], offset: i64) -> (usize, usize) {
        let held = &self.samples[..self.len];
        let n = out.len().min(held.len());
        for (o, s) in out.iter_mut().zip(held) {
            *o = abi::TimelineSample {
                t_ns: s.t_ns + offset,
                ..*s
            };
        }
        (n, held.len())
    }
}
