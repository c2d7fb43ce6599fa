// SPDX-License-Identifier: GPL-2.0

//! Counters of the TFTP client, the `tftp_*` lines of the debugfs `stats`.

use core::fmt::Write;

use kernel::prelude::*;

use super::rtt::RTT;
use crate::sys::counter::{Counter, Latency};
use crate::sys::debugfs::SeqBuf;
use crate::sys::errno::{ecanceled, eproto, etimedout};

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
    /// Milliseconds spent waiting for retransmission timers that expired:
    /// the time lost to lost packets.
    pub(crate) retransmit_wait_ms: Counter,
    /// Packets from a wrong transfer ID, answered with ERROR 5.
    pub(crate) strangers: Counter,
    /// Sockets a fetcher's endpoint opened: its first, and one after each
    /// transfer that sent something twice or failed.
    pub(crate) sockets_opened: Counter,
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
    /// Failed transfers: anything else (timeouts are `deadlines`;
    /// transfers the receiver cancelled are not counted).
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
        } else if e == etimedout() || e == ecanceled() {
            // Timeouts count as `deadlines`; a receiver that ended a
            // transfer on purpose (a stream that met the files) is no
            // failure.
            return;
        } else {
            &self.err_other
        };
        c.inc();
    }

    /// Writes the counters as `tftp_<name> <value>` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        writeln!(out, "tftp_transfers {}", self.transfers.get())?;
        writeln!(out, "tftp_completed {}", self.completed.get())?;
        writeln!(out, "tftp_bytes {}", self.bytes.get())?;
        writeln!(out, "tftp_retransmits {}", self.retransmits.get())?;
        writeln!(
            out,
            "tftp_retransmit_wait_ms {}",
            self.retransmit_wait_ms.get()
        )?;
        RTT.render(out)?;
        writeln!(out, "tftp_strangers {}", self.strangers.get())?;
        writeln!(out, "tftp_sockets_opened {}", self.sockets_opened.get())?;
        writeln!(out, "tftp_send_errors {}", self.send_errors.get())?;
        writeln!(out, "tftp_deadlines {}", self.deadlines.get())?;
        writeln!(out, "tftp_err_enoent {}", self.err_enoent.get())?;
        writeln!(out, "tftp_err_eacces {}", self.err_eacces.get())?;
        writeln!(out, "tftp_err_eproto {}", self.err_eproto.get())?;
        writeln!(out, "tftp_err_eintr {}", self.err_eintr.get())?;
        writeln!(out, "tftp_err_other {}", self.err_other.get())?;
        self.latency.render(out, "tftp_latency")
    }
}

/// The TFTP client's statistics.
pub(crate) static STATS: TftpStats = TftpStats {
    transfers: Counter::new(),
    completed: Counter::new(),
    bytes: Counter::new(),
    retransmits: Counter::new(),
    retransmit_wait_ms: Counter::new(),
    strangers: Counter::new(),
    sockets_opened: Counter::new(),
    send_errors: Counter::new(),
    deadlines: Counter::new(),
    err_enoent: Counter::new(),
    err_eacces: Counter::new(),
    err_eproto: Counter::new(),
    err_eintr: Counter::new(),
    err_other: Counter::new(),
    latency: Latency::new(),
};
