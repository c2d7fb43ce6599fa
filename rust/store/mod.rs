// SPDX-License-Identifier: GPL-2.0

//! `store`: where the content of each lazy entry is. The page store
//! ([`PageStore`]) maps an entry's index to its page and the SHA-256 that
//! page must have; its backends are `memory` (pages evicted into the
//! module) and `tftp` (page files on a TFTP server, [`tftp`]). Fetches
//! fail with the store's own [`FetchError`]. Uses `tftp` and `sys`.

use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::prelude::*;
use kernel::sync::Arc;

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

/// Writes the page store's lines of the debugfs `stats`: pages evicted,
/// the pages each backend holds, and the pages of zeros.
pub(crate) fn render_stats(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    writeln!(out, "evicted {}", STATS.evicted.get())?;
    let (memory, remote, kept) = get().map(|s| s.pages()).unwrap_or((0, 0, 0));
    let zeros = get().map_or(0, |s| s.zero_pages());
    writeln!(out, "memory_backend_pages {memory}")?;
    writeln!(out, "tftp_backend_pages {remote}")?;
    writeln!(out, "tftp_backend_zero_pages {zeros}")?;
    writeln!(out, "zero_pages_filled {}", STATS.zero_filled.get())?;
    writeln!(out, "read_ahead_pages_kept {kept}")
}

/// The page store, while the module is loaded.
static STORE: AtomicPtr<PageStore> = AtomicPtr::new(ptr::null_mut());

/// The page store; `ENODEV` before module init or after exit.
pub(crate) fn get() -> Result<&'static PageStore> {
    let p = STORE.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was set by `Backends::install` from an
    // `Arc` that it holds until it clears the pointer, once the control
    // device, the debugfs files, the filler and the fetch engine are gone:
    // no ioctl, no debugfs read, no fill and no transfer (the users of the
    // reference) can still run then.
    unsafe { p.as_ref() }.ok_or(ENODEV)
}

/// Owns the page store and makes it reachable through [`get`].
pub(crate) struct Backends {
    store: Arc<PageStore>,
}

impl Backends {
    /// Creates the page store and publishes it.
    pub(crate) fn install() -> Result<Self> {
        let store = Arc::pin_init(PageStore::new(), GFP_KERNEL)?;
        STORE.store(ptr::from_ref(&*store).cast_mut(), Ordering::Release);
        Ok(Self { store })
    }

    /// The page store, for the layers that keep a reference.
    pub(crate) fn store(&self) -> Arc<PageStore> {
        self.store.clone()
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        STORE.store(ptr::null_mut(), Ordering::Release);
    }
}
