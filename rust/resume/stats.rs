// SPDX-License-Identifier: GPL-2.0

//! The boot kernel's counters per server, as the hand-off brought them to
//! the restored kernel: the `resume_*` lines of the debugfs `stats`.

use core::fmt::Write;

use crate::fetch;
use crate::shared::abi::SERVERS_MAX;
use crate::sys::counter::Counter;
use crate::sys::debugfs::SeqBuf;

/// The boot kernel's transfers, per server in the restored kernel's
/// order (the first is the one pageset1 came from).
pub(crate) struct ResumeStats {
    /// Transfers each server answered (the manifest, its signature,
    /// `pageset1.sums`, `pageset1`).
    pub(crate) server_transfers: [Counter; SERVERS_MAX],
    /// Transfers that found no answer from it, after which the boot
    /// kernel went on from the next server.
    pub(crate) server_failovers: [Counter; SERVERS_MAX],
}

/// The boot kernel's counters.
pub(crate) static STATS: ResumeStats = ResumeStats {
    server_transfers: [const { Counter::new() }; SERVERS_MAX],
    server_failovers: [const { Counter::new() }; SERVERS_MAX],
};

impl ResumeStats {
    /// The boot kernel had `transfers` answered by server `k` and
    /// `failovers` away from it: counted here, and in the fetch engine's
    /// counters of the server, which count the whole resume.
    pub(crate) fn note_boot(&self, k: usize, transfers: u64, failovers: u64) {
        let mine = self
            .server_transfers
            .get(k)
            .zip(self.server_failovers.get(k));
        let engine = fetch::STATS.server_transfers.get(k);
        let engine = engine.zip(fetch::STATS.server_failovers.get(k));
        for (t, f) in Iterator::chain(mine.into_iter(), engine) {
            t.add(transfers);
            f.add(failovers);
        }
    }

    /// Writes the counters as `resume_server<k>_<name> <value>` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        for (k, (t, f)) in self
            .server_transfers
            .iter()
            .zip(&self.server_failovers)
            .enumerate()
        {
            writeln!(out, "resume_server{k}_transfers {}", t.get())?;
            writeln!(out, "resume_server{k}_failovers {}", f.get())?;
        }
        Ok(())
    }
}
