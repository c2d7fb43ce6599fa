// SPDX-License-Identifier: GPL-2.0

//! `store`: where the content of each lazy entry is. The page store
//! ([`PageStore`]) maps an entry's index to its page and the SHA-256 that
//! page must have; its backends are `memory` (pages evicted into the
//! module) and `tftp` (page files on a TFTP server, [`tftp`]). Fetches
//! fail with the store's own [`FetchError`]. Uses `tftp` and `sys`.

use core::fmt::Write;

use kernel::prelude::*;

use crate::sys::counter::Counter;
use crate::sys::debugfs::SeqBuf;

mod inject;
mod page_store;
pub(crate) mod tftp;

pub(crate) use inject::Inject;
pub(crate) use page_store::{Found, PageStore, Want};

/// Why a backend could not return a page.
pub(crate) enum FetchError {
    /// The backend did not answer; it may later.
    Unreachable,
    /// The backend has no page of this index: never retried.
    NoSuchPage,
    /// The backend answered with an error that asking again will not fix
    /// (a protocol error, a page file of the wrong size): never retried.
    Failed(Error),
    /// No memory for the fetch: the fault fails with OOM.
    NoMemory,
}

/// Counters of the page store.
pub(crate) struct StoreStats {
    /// Pages evicted into the memory backend.
    pub(crate) evicted: Counter,
    /// Pages of zeros on the server filled with zeros, by a fault or by
    /// the installer, never fetched.
    pub(crate) zero_filled: Counter,
}

/// The page store's statistics.
pub(crate) static STATS: StoreStats = StoreStats {
    evicted: Counter::new(),
    zero_filled: Counter::new(),
};

/// Writes the lines of `store` in the debugfs `stats`: pages evicted, the
/// pages each backend holds, and the pages of zeros.
pub(crate) fn render_stats(store: &PageStore, out: &mut SeqBuf<'_>) -> core::fmt::Result {
    writeln!(out, "evicted {}", STATS.evicted.get())?;
    let (memory, remote, kept) = store.pages();
    let zeros = store.zero_pages();
    writeln!(out, "memory_backend_pages {memory}")?;
    writeln!(out, "tftp_backend_pages {remote}")?;
    writeln!(out, "tftp_backend_zero_pages {zeros}")?;
    writeln!(out, "zero_pages_filled {}", STATS.zero_filled.get())?;
    writeln!(out, "read_ahead_pages_kept {kept}")
}
