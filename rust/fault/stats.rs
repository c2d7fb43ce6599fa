// SPDX-License-Identifier: GPL-2.0

//! Counters of the fault path (lazy entries filled by the module), the
//! `fault_*` lines of the debugfs `stats`.

use core::fmt::Write;

use crate::sys::counter::{Counter, Latency};
use crate::sys::debugfs::SeqBuf;

/// Counters of the fault path.
pub(crate) struct FaultStats {
    /// Fills asked for by mm (faults on lazy entries, GUP included).
    pub(crate) fills: Counter,
    /// Fills that returned a page.
    pub(crate) served: Counter,
    /// Bytes of the pages returned.
    pub(crate) bytes: Counter,
    /// Fills that found their page not at hand (the fault then waits).
    pub(crate) retries: Counter,
    /// Fills that found their page not at hand and counted as major faults
    /// for the first time: faults that waited for the network.
    pub(crate) waited: Counter,
    /// Pages whose content did not match their hash (each is fetched again).
    pub(crate) hash_mismatches: Counter,
    /// Failed fills: the page kept failing its hash check.
    pub(crate) failed_integrity: Counter,
    /// Failed fills: the backend stayed unreachable past the deadline.
    pub(crate) failed_deadline: Counter,
    /// Failed fills: no such page in the backend.
    pub(crate) failed_missing: Counter,
    /// Failed fills: the backend failed in a way retrying does not fix.
    pub(crate) failed_backend: Counter,
    /// Fills abandoned because the faulting task was killed.
    pub(crate) interrupted: Counter,
    /// Fills served at once from a fetched page (one that came with
    /// another page's file, or by the background lane).
    pub(crate) read_ahead_hits: Counter,
    /// Duration of the faults that returned a page, from the first fill
    /// (waits included).
    pub(crate) latency: Latency,
}

impl FaultStats {
    /// Fills that failed, for any reason.
    pub(crate) fn failures(&self) -> u64 {
        self.failed_integrity.get()
            + self.failed_deadline.get()
            + self.failed_missing.get()
            + self.failed_backend.get()
    }

    /// Writes the counters as `fault_<name> <value>` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        writeln!(out, "fault_fills {}", self.fills.get())?;
        writeln!(out, "fault_served {}", self.served.get())?;
        writeln!(out, "fault_bytes {}", self.bytes.get())?;
        writeln!(out, "fault_retries {}", self.retries.get())?;
        writeln!(out, "fault_waited {}", self.waited.get())?;
        writeln!(out, "fault_hash_mismatches {}", self.hash_mismatches.get())?;
        writeln!(
            out,
            "fault_failed_integrity {}",
            self.failed_integrity.get()
        )?;
        writeln!(out, "fault_failed_deadline {}", self.failed_deadline.get())?;
        writeln!(out, "fault_failed_missing {}", self.failed_missing.get())?;
        writeln!(out, "fault_failed_backend {}", self.failed_backend.get())?;
        writeln!(out, "fault_interrupted {}", self.interrupted.get())?;
        writeln!(out, "fault_read_ahead_hits {}", self.read_ahead_hits.get())?;
        self.latency.render(out, "fault_latency")
    }
}

/// The fault path's statistics.
pub(crate) static STATS: FaultStats = FaultStats {
    fills: Counter::new(),
    served: Counter::new(),
    bytes: Counter::new(),
    retries: Counter::new(),
    waited: Counter::new(),
    hash_mismatches: Counter::new(),
    failed_integrity: Counter::new(),
    failed_deadline: Counter::new(),
    failed_missing: Counter::new(),
    failed_backend: Counter::new(),
    interrupted: Counter::new(),
    read_ahead_hits: Counter::new(),
    latency: Latency::new(),
};
