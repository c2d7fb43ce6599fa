// SPDX-License-Identifier: GPL-2.0

//! Module-wide statistics, shown in `/sys/kernel/debug/lazyresume/stats`.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;

use crate::debugfs::SeqBuf;
use crate::errno::{eproto, etimedout};
use crate::{fault, lazy_entry};

/// A monotonic event counter.
pub(crate) struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
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
    pub(crate) count: u64,
    pub(crate) mean_ns: u64,
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
    const fn new() -> Self {
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

    fn show(&self, out: &mut SeqBuf<'_>, name: &str) -> core::fmt::Result {
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

/// Counters of the control device.
pub(crate) struct DeviceStats {
    /// ioctls received, known or not.
    pub(crate) ioctls: Counter,
    /// ioctls rejected with `ENOTTY`.
    pub(crate) unknown_ioctls: Counter,
    /// `LAZYRESUME_IOC_GET_VERSION` calls answered.
    pub(crate) version_queries: Counter,
}

/// Counters of the TFTP client.
pub(crate) struct TftpStats {
    /// Transfers started.
    pub(crate) transfers: Counter,
    /// Transfers completed.
    pub(crate) completed: Counter,
    /// Bytes of completed transfers.
    pub(crate) bytes: Counter,
    /// Requests and acknowledgements sent again after a timeout.
    pub(crate) retransmits: Counter,
    /// Packets from a wrong transfer ID, answered with ERROR 5.
    pub(crate) strangers: Counter,
    /// Sends that failed (counted as lost packets).
    pub(crate) send_errors: Counter,
    /// Transfers that ran out of time.
    pub(crate) deadlines: Counter,
    /// Failed transfers: file not found.
    pub(crate) err_enoent: Counter,
    /// Failed transfers: access violation.
    pub(crate) err_eacces: Counter,
    /// Failed transfers: protocol violation.
    pub(crate) err_eproto: Counter,
    /// Failed transfers: interrupted.
    pub(crate) err_eintr: Counter,
    /// Failed transfers: anything else (timeouts are `deadlines`).
    pub(crate) err_other: Counter,
    /// Duration of completed transfers.
    pub(crate) latency: Latency,
}

impl TftpStats {
    /// Counts a failed transfer by its errno.
    pub(crate) fn count_error(&self, e: Error) {
        let c = if e == ENOENT {
            &self.err_enoent
        } else if e == EACCES {
            &self.err_eacces
        } else if e == eproto() {
            &self.err_eproto
        } else if e == EINTR {
            &self.err_eintr
        } else if e == etimedout() {
            return;
        } else {
            &self.err_other
        };
        c.inc();
    }
}

/// Counters of the fault path (lazy entries filled by the module).
pub(crate) struct FaultStats {
    /// Fills asked for by mm (faults on lazy entries, GUP included).
    pub(crate) fills: Counter,
    /// Fills that returned a page.
    pub(crate) served: Counter,
    /// Bytes of the pages returned.
    pub(crate) bytes: Counter,
    /// Backend retries while it did not answer.
    pub(crate) retries: Counter,
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
    /// Pages evicted into the memory backend.
    pub(crate) evicted: Counter,
    /// Pages fetched along with a faulting page of their file and kept.
    pub(crate) read_ahead: Counter,
    /// Fills served from a page kept by read-ahead.
    pub(crate) read_ahead_hits: Counter,
    /// Duration of the fills that returned a page.
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
}

/// All statistics of the module.
pub(crate) struct Stats {
    /// The control device.
    pub(crate) dev: DeviceStats,
    /// The TFTP client.
    pub(crate) tftp: TftpStats,
    /// The fault path.
    pub(crate) fault: FaultStats,
}

/// The module's statistics.
pub(crate) static STATS: Stats = Stats {
    dev: DeviceStats {
        ioctls: Counter::new(),
        unknown_ioctls: Counter::new(),
        version_queries: Counter::new(),
    },
    tftp: TftpStats {
        transfers: Counter::new(),
        completed: Counter::new(),
        bytes: Counter::new(),
        retransmits: Counter::new(),
        strangers: Counter::new(),
        send_errors: Counter::new(),
        deadlines: Counter::new(),
        err_enoent: Counter::new(),
        err_eacces: Counter::new(),
        err_eproto: Counter::new(),
        err_eintr: Counter::new(),
        err_other: Counter::new(),
        latency: Latency::new(),
    },
    fault: FaultStats {
        fills: Counter::new(),
        served: Counter::new(),
        bytes: Counter::new(),
        retries: Counter::new(),
        hash_mismatches: Counter::new(),
        failed_integrity: Counter::new(),
        failed_deadline: Counter::new(),
        failed_missing: Counter::new(),
        failed_backend: Counter::new(),
        interrupted: Counter::new(),
        evicted: Counter::new(),
        read_ahead: Counter::new(),
        read_ahead_hits: Counter::new(),
        latency: Latency::new(),
    },
};

/// Writes the statistics as `name value` lines.
pub(crate) fn show(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    let d = &STATS.dev;
    writeln!(out, "ioctls {}", d.ioctls.get())?;
    writeln!(out, "unknown_ioctls {}", d.unknown_ioctls.get())?;
    writeln!(out, "version_queries {}", d.version_queries.get())?;
    let t = &STATS.tftp;
    writeln!(out, "tftp_transfers {}", t.transfers.get())?;
    writeln!(out, "tftp_completed {}", t.completed.get())?;
    writeln!(out, "tftp_bytes {}", t.bytes.get())?;
    writeln!(out, "tftp_retransmits {}", t.retransmits.get())?;
    writeln!(out, "tftp_strangers {}", t.strangers.get())?;
    writeln!(out, "tftp_send_errors {}", t.send_errors.get())?;
    writeln!(out, "tftp_deadlines {}", t.deadlines.get())?;
    writeln!(out, "tftp_err_enoent {}", t.err_enoent.get())?;
    writeln!(out, "tftp_err_eacces {}", t.err_eacces.get())?;
    writeln!(out, "tftp_err_eproto {}", t.err_eproto.get())?;
    writeln!(out, "tftp_err_eintr {}", t.err_eintr.get())?;
    writeln!(out, "tftp_err_other {}", t.err_other.get())?;
    t.latency.show(out, "tftp_latency")?;
    let f = &STATS.fault;
    writeln!(out, "fault_fills {}", f.fills.get())?;
    writeln!(out, "fault_served {}", f.served.get())?;
    writeln!(out, "fault_bytes {}", f.bytes.get())?;
    writeln!(out, "fault_retries {}", f.retries.get())?;
    writeln!(out, "fault_hash_mismatches {}", f.hash_mismatches.get())?;
    writeln!(out, "fault_failed_integrity {}", f.failed_integrity.get())?;
    writeln!(out, "fault_failed_deadline {}", f.failed_deadline.get())?;
    writeln!(out, "fault_failed_missing {}", f.failed_missing.get())?;
    writeln!(out, "fault_failed_backend {}", f.failed_backend.get())?;
    writeln!(out, "fault_interrupted {}", f.interrupted.get())?;
    writeln!(out, "fault_read_ahead {}", f.read_ahead.get())?;
    writeln!(out, "fault_read_ahead_hits {}", f.read_ahead_hits.get())?;
    f.latency.show(out, "fault_latency")?;
    writeln!(out, "pages_outstanding {}", lazy_entry::entry_count())?;
    writeln!(out, "evicted {}", f.evicted.get())?;
    let (memory, remote, kept) = fault::store().map(|s| s.pages()).unwrap_or((0, 0, 0));
    writeln!(out, "memory_backend_pages {memory}")?;
    writeln!(out, "tftp_backend_pages {remote}")?;
    writeln!(out, "read_ahead_pages_kept {kept}")?;
    let (policy, deadline) = match fault::policy() {
        fault::Policy::Block => ("block", 0),
        fault::Policy::Sigbus { deadline_ms } => ("sigbus", deadline_ms),
    };
    writeln!(out, "policy {policy}")?;
    writeln!(out, "policy_deadline_ms {deadline}")
}
