// SPDX-License-Identifier: GPL-2.0

//! Counters of the control device, the first lines of the debugfs `stats`.

use core::fmt::Write;

use crate::sys::counter::Counter;
use crate::sys::debugfs::SeqBuf;

/// Counters of the control device.
pub(crate) struct DeviceStats {
    /// ioctls received, known or not.
    pub(crate) ioctls: Counter,
    /// ioctls rejected with `ENOTTY`.
    pub(crate) unknown_ioctls: Counter,
    /// `LAZYRESUME_IOC_GET_VERSION` calls answered.
    pub(crate) version_queries: Counter,
}

impl DeviceStats {
    /// Writes the counters as `<name> <value>` lines.
    pub(crate) fn render(&self, out: &mut SeqBuf<'_>) -> core::fmt::Result {
        writeln!(out, "ioctls {}", self.ioctls.get())?;
        writeln!(out, "unknown_ioctls {}", self.unknown_ioctls.get())?;
        writeln!(out, "version_queries {}", self.version_queries.get())
    }
}

/// The control device's statistics.
pub(crate) static STATS: DeviceStats = DeviceStats {
    ioctls: Counter::new(),
    unknown_ioctls: Counter::new(),
    version_queries: Counter::new(),
};
