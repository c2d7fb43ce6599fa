// SPDX-License-Identifier: GPL-2.0

//! Module-wide statistics, shown in `/sys/kernel/debug/lazyresume/stats`.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::debugfs::SeqBuf;

/// A monotonic event counter.
pub(crate) struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Counts one event.
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters of the control device.
pub(crate) struct Stats {
    /// ioctls received, known or not.
    pub(crate) ioctls: Counter,
    /// ioctls rejected with `ENOTTY`.
    pub(crate) unknown_ioctls: Counter,
    /// `LAZYRESUME_IOC_GET_VERSION` calls answered.
    pub(crate) version_queries: Counter,
}

/// The module's statistics.
pub(crate) static STATS: Stats = Stats {
    ioctls: Counter::new(),
    unknown_ioctls: Counter::new(),
    version_queries: Counter::new(),
};

/// Writes the statistics as `name value` lines.
pub(crate) fn show(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    let s = &STATS;
    writeln!(out, "ioctls {}", s.ioctls.get())?;
    writeln!(out, "unknown_ioctls {}", s.unknown_ioctls.get())?;
    writeln!(out, "version_queries {}", s.version_queries.get())
}
