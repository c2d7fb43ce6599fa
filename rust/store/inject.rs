// SPDX-License-Identifier: GPL-2.0

//! Fault injection into the page store, for the tests and benchmarks
//! (`LAZYRESUME_IOC_MEM_INJECT`): fetches that fail as if the backend did
//! not answer, pages with a byte flipped, no hash check. Only
//! `lazyresume_test.ko` has it; in `lazyresume.ko` it is a unit type whose
//! answers (online, nothing corrupted, always checked) are constants.

#[cfg(lazyresume_test)]
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The fault injection settings.
#[cfg(lazyresume_test)]
pub(crate) struct Inject {
    /// Fetches fail as if the backend did not answer.
    offline: AtomicBool,
    /// The next this many fetches return a page with one byte flipped.
    corrupt_fetches: AtomicU32,
    /// Pages are checked against their hash (the default).
    verify: AtomicBool,
}

#[cfg(lazyresume_test)]
impl Inject {
    /// Nothing injected.
    pub(super) const fn new() -> Self {
        Self {
            offline: AtomicBool::new(false),
            corrupt_fetches: AtomicU32::new(0),
            verify: AtomicBool::new(true),
        }
    }

    /// Replaces the whole setting.
    pub(super) fn set(&self, offline: bool, corrupt_fetches: u32, verify: bool) {
        self.verify.store(verify, Ordering::Relaxed);
        self.offline.store(offline, Ordering::Relaxed);
        self.corrupt_fetches
            .store(corrupt_fetches, Ordering::Relaxed);
    }

    /// Whether fetches are to fail as if the backend did not answer.
    pub(crate) fn offline(&self) -> bool {
        self.offline.load(Ordering::Relaxed)
    }

    /// Whether this fetch is to be corrupted.
    pub(crate) fn take_corruption(&self) -> bool {
        self.corrupt_fetches
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Whether pages are checked against their hash.
    pub(crate) fn verify(&self) -> bool {
        self.verify.load(Ordering::Relaxed)
    }
}

/// No fault injection: the production module.
#[cfg(not(lazyresume_test))]
pub(crate) struct Inject;

#[cfg(not(lazyresume_test))]
impl Inject {
    /// Nothing injected, ever.
    pub(super) const fn new() -> Self {
        Self
    }

    /// Fetches go to the backend.
    pub(crate) fn offline(&self) -> bool {
        false
    }

    /// No page is corrupted.
    pub(crate) fn take_corruption(&self) -> bool {
        false
    }

    /// Every page is checked against its hash.
    pub(crate) fn verify(&self) -> bool {
        true
    }
}
