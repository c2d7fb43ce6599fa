// SPDX-License-Identifier: GPL-2.0

//! The primitives of the module's statistics: event counters and latency
//! histograms. Each layer keeps its own and renders them into the debugfs
//! file `stats`, which the crate root assembles.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use super::debugfs::SeqBuf;

/// A monotonic event counter.
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Counts one event.
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    /// Counts `n` (events, bytes...).
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Buckets of a [`Latency`] histogram: bucket `i` counts durations below
/// 2^i microseconds (and at least 2^(i-1)); the last one everything longer.
const LATENCY_BUCKETS: usize = 24;

/// Count, mean and maximum of a [`Latency`].
pub(crate) struct LatencySummary {
    /// Durations recorded.
    pub(crate) count: u64,
    /// Their mean.
    pub(crate) mean_ns: u64,
    /// The longest.
    pub(crate) max_ns: u64,
}

/// A latency distribution: count, sum, maximum and a log2 histogram.
pub(crate) struct Latency {
    count: Counter,
    sum_ns: Counter,
    max_ns: AtomicU64,
    buckets: [Counter; LATENCY_BUCKETS],
}

impl Latency {
    /// An empty distribution.
    pub(crate) const fn new() -> Self {
        Self {
            count: Counter::new(),
            sum_ns: Counter::new(),
            max_ns: AtomicU64::new(0),
            buckets: [const { Counter::new() }; LATENCY_BUCKETS],
        }
    }

    /// Records one duration.
    pub(crate) fn record(&self, ns: u64) {
        self.count.inc();
        self.sum_ns.add(ns);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
        let us = ns / 1000;
        let bucket = (u64::BITS - us.leading_zeros()) as usize;
        self.buckets[bucket.min(LATENCY_BUCKETS - 1)].inc();
    }

    /// Count, mean and maximum.
    pub(crate) fn summary(&self) -> LatencySummary {
        let count = self.count.get();
        LatencySummary {
            count,
            mean_ns: self.sum_ns.get().checked_div(count).unwrap_or(0),
            max_ns: self.max_ns.load(Ordering::Relaxed),
        }
    }

    /// An upper bound of the `pct`-th percentile, in nanoseconds: the upper
    /// end of the histogram bucket it falls in (the maximum for the last
    /// bucket); 0 without durations.
    pub(crate) fn percentile_ns(&self, pct: u64) -> u64 {
        let count = self.count.get();
        if count == 0 {
            return 0;
        }
        let rank = (count * pct.min(100)).div_ceil(100).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate().take(LATENCY_BUCKETS - 1) {
            seen += b.get();
            if seen >= rank {
                // Bucket i holds durations below 2^i microseconds.
                return (1u64 << i) * 1000;
            }
        }
        self.max_ns.load(Ordering::Relaxed)
    }

    /// Writes the distribution as `<name>_count`, `_mean_ns`, `_max_ns` and
    /// `_hist_us` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>, name: &str) -> core::fmt::Result {
        let count = self.count.get();
        let mean = self.sum_ns.get().checked_div(count).unwrap_or(0);
        writeln!(out, "{name}_count {count}")?;
        writeln!(out, "{name}_mean_ns {mean}")?;
        writeln!(out, "{name}_max_ns {}", self.max_ns.load(Ordering::Relaxed))?;
        write!(out, "{name}_hist_us")?;
        for (i, b) in self.buckets.iter().enumerate() {
            let n = b.get();
            if n != 0 {
                // Bucket i holds durations below 2^i microseconds.
                write!(out, " <{}:{n}", 1u64 << i)?;
            }
        }
        writeln!(out)
    }
}
