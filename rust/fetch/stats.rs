// SPDX-License-Identifier: GPL-2.0

//! Counters of the fetch engine, the `fetch_*` lines of the debugfs
//! `stats`.

use core::fmt::Write;

use crate::shared::abi::SERVERS_MAX;
use crate::sys::counter::{Counter, Latency};
use crate::sys::debugfs::SeqBuf;

/// Counters of the fetch engine, per lane.
pub(crate) struct FetchStats {
    /// Files fetched because a fault waited for them.
    pub(crate) urgent_files: Counter,
    /// Pages they brought that were still needed.
    pub(crate) urgent_pages: Counter,
    /// Their bytes on the wire.
    pub(crate) urgent_bytes: Counter,
    /// Time from an urgent request to the arrival of its file.
    pub(crate) urgent_latency: Latency,
    /// Pages the loading set brought that were still needed.
    pub(crate) workingset_pages: Counter,
    /// Bytes of the loading set received.
    pub(crate) workingset_bytes: Counter,
    /// Files fetched by the background lane.
    pub(crate) background_files: Counter,
    /// Pages they brought that were still needed.
    pub(crate) background_pages: Counter,
    /// Their bytes on the wire.
    pub(crate) background_bytes: Counter,
    /// Time the background lane had a transfer in flight, in nanoseconds.
    pub(crate) background_busy_ns: Counter,
    /// Transfers that found no answer (retried after a pause).
    pub(crate) unreachable: Counter,
    /// Pages whose content did not match their hash on arrival (their file
    /// is fetched again, up to a limit).
    pub(crate) hash_mismatches: Counter,
    /// Files given up: missing on the server, or failing their checks.
    pub(crate) failed_files: Counter,
    /// LZ4-encoded files that did not decode (fetched again, up to a
    /// limit, as pages that fail their check).
    pub(crate) undecodable: Counter,
    /// Install passes run.
    pub(crate) install_passes: Counter,
    /// Pages the install passes put into page tables.
    pub(crate) installed: Counter,
    /// Per server (in the page store's order): transfers it answered
    /// (files, the loading set, the stream).
    pub(crate) server_transfers: [Counter; SERVERS_MAX],
    /// Per server: transfers that found no answer, after which the
    /// fetcher went on with the next server (or back to the one it came
    /// from, when it tried its own server again).
    pub(crate) server_failovers: [Counter; SERVERS_MAX],
    /// Per server: a fetcher that had left it for silence came back to
    /// it and it answered.
    pub(crate) server_returns: [Counter; SERVERS_MAX],
}

/// The fetch engine's statistics.
pub(crate) static STATS: FetchStats = FetchStats {
    urgent_files: Counter::new(),
    urgent_pages: Counter::new(),
    urgent_bytes: Counter::new(),
    urgent_latency: Latency::new(),
    workingset_pages: Counter::new(),
    workingset_bytes: Counter::new(),
    background_files: Counter::new(),
    background_pages: Counter::new(),
    background_bytes: Counter::new(),
    background_busy_ns: Counter::new(),
    unreachable: Counter::new(),
    hash_mismatches: Counter::new(),
    failed_files: Counter::new(),
    undecodable: Counter::new(),
    install_passes: Counter::new(),
    installed: Counter::new(),
    server_transfers: [const { Counter::new() }; SERVERS_MAX],
    server_failovers: [const { Counter::new() }; SERVERS_MAX],
    server_returns: [const { Counter::new() }; SERVERS_MAX],
};

impl FetchStats {
    /// Writes the counters as `fetch_<name> <value>` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        writeln!(out, "fetch_urgent_files {}", self.urgent_files.get())?;
        writeln!(out, "fetch_urgent_pages {}", self.urgent_pages.get())?;
        writeln!(out, "fetch_urgent_bytes {}", self.urgent_bytes.get())?;
        self.urgent_latency.render(out, "fetch_urgent_latency")?;
        writeln!(
            out,
            "fetch_urgent_p50_ns {}",
            self.urgent_latency.percentile_ns(50)
        )?;
        writeln!(
            out,
            "fetch_urgent_p99_ns {}",
            self.urgent_latency.percentile_ns(99)
        )?;
        writeln!(
            out,
            "fetch_workingset_pages {}",
            self.workingset_pages.get()
        )?;
        writeln!(
            out,
            "fetch_workingset_bytes {}",
            self.workingset_bytes.get()
        )?;
        writeln!(
            out,
            "fetch_background_files {}",
            self.background_files.get()
        )?;
        writeln!(
            out,
            "fetch_background_pages {}",
            self.background_pages.get()
        )?;
        writeln!(
            out,
            "fetch_background_bytes {}",
            self.background_bytes.get()
        )?;
        writeln!(
            out,
            "fetch_background_busy_ns {}",
            self.background_busy_ns.get()
        )?;
        writeln!(out, "fetch_unreachable {}", self.unreachable.get())?;
        writeln!(out, "fetch_hash_mismatches {}", self.hash_mismatches.get())?;
        writeln!(out, "fetch_failed_files {}", self.failed_files.get())?;
        writeln!(out, "fetch_undecodable_files {}", self.undecodable.get())?;
        writeln!(out, "fetch_install_passes {}", self.install_passes.get())?;
        writeln!(out, "fetch_installed {}", self.installed.get())?;
        for (k, ((t, f), r)) in self
            .server_transfers
            .iter()
            .zip(&self.server_failovers)
            .zip(&self.server_returns)
            .enumerate()
        {
            writeln!(out, "fetch_server{k}_transfers {}", t.get())?;
            writeln!(out, "fetch_server{k}_failovers {}", f.get())?;
            writeln!(out, "fetch_server{k}_returns {}", r.get())?;
        }
        Ok(())
    }
}
