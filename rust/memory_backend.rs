// SPDX-License-Identifier: GPL-2.0

//! The `memory` backend: pages evicted from the calling process by
//! `LAZYRESUME_IOC_EVICT` are kept by the module and copied back on fault.
//! It exists for the selftests and the fault benchmark; faults can be told
//! to fail (backend offline, corrupted pages) to exercise the fault policy.
//!
//! Indexes are positions in one vector of slots. Eviction works in passes
//! of up to [`BATCH_PAGES`] pages: it reserves that many slots, evicts into
//! preallocated buffers (the store callback runs under a page table lock,
//! where nothing can be allocated), then publishes the pages into their
//! slots. A fault that sees a slot still reserved (another thread of the
//! process faulted between eviction and publication) waits for it.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kernel::alloc::KVVec;
use kernel::new_condvar;
use kernel::new_mutex;
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;
use kernel::sync::{CondVar, Mutex};

use crate::fault::FetchError;
use crate::lazy_entry::{self, EvictStats, EvictStore, Folio, PageBytes, TaskMm};
use crate::sha256::{self, DIGEST_LEN};
use crate::stats::STATS;

/// Pages evicted per pass: the preallocated buffers of one pass (2 MiB).
const BATCH_PAGES: usize = 512;

/// A stored page: its content (a page of its own, so that freeing the
/// backend gives whole pages back) and SHA-256.
struct StoredPage {
    data: Page,
    hash: [u8; DIGEST_LEN],
}

/// One index of the backend.
enum Slot {
    /// Reserved by an eviction pass that has not published yet.
    Reserved,
    /// Reserved but not used by its pass; no entry refers to it.
    Unused,
    /// A page some lazy entries may refer to.
    Page(StoredPage),
}

/// Fault injection for the tests (`LAZYRESUME_IOC_MEM_INJECT`).
struct Inject {
    /// Fetches fail as if the backend did not answer.
    offline: AtomicBool,
    /// The next this many fetches return a page with one byte flipped.
    corrupt_fetches: AtomicU32,
    /// Pages are checked against their hash (the default).
    verify: AtomicBool,
}

/// The pages of the memory backend.
#[pin_data]
pub(crate) struct MemoryBackend {
    /// Serialises evictions: slots are appended by one pass at a time.
    #[pin]
    evict_lock: Mutex<()>,
    #[pin]
    slots: Mutex<KVVec<Slot>>,
    /// Signalled when reserved slots are published.
    #[pin]
    published: CondVar,
    inject: Inject,
}

impl MemoryBackend {
    /// An empty backend.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            evict_lock <- new_mutex!(()),
            slots <- new_mutex!(KVVec::new()),
            published <- new_condvar!(),
            inject: Inject {
                offline: AtomicBool::new(false),
                corrupt_fetches: AtomicU32::new(0),
                verify: AtomicBool::new(true),
            },
        })
    }

    /// Sets the fault injection of the tests and benchmarks.
    pub(crate) fn set_injection(&self, offline: bool, corrupt_fetches: u32, verify: bool) {
        self.inject.verify.store(verify, Ordering::Relaxed);
        self.inject.offline.store(offline, Ordering::Relaxed);
        self.inject
            .corrupt_fetches
            .store(corrupt_fetches, Ordering::Relaxed);
    }

    /// Copies page `index` into `folio` and returns the SHA-256 it must
    /// have, or `None` when checking is turned off.
    pub(crate) fn fetch(
        &self,
        index: u64,
        folio: &mut Folio,
    ) -> Result<Option<[u8; DIGEST_LEN]>, FetchError> {
        if self.inject.offline.load(Ordering::Relaxed) {
            return Err(FetchError::Unreachable);
        }
        let i = usize::try_from(index).map_err(|_| FetchError::NoSuchPage)?;
        let mut slots = self.slots.lock();
        loop {
            match slots.as_slice().get(i) {
                Some(Slot::Reserved) => self.published.wait(&mut slots),
                Some(Slot::Page(p)) => {
                    let copy = |dst: &mut PageBytes| {
                        // SAFETY: `dst` is a whole page, writable, and does
                        // not overlap the stored page.
                        unsafe { p.data.read_raw(dst.as_mut_ptr(), 0, PAGE_SIZE) }
                    };
                    folio.write(copy).map_err(|_| FetchError::NoSuchPage)?;
                    let hash = p.hash;
                    drop(slots);
                    if self.take_corruption() {
                        folio.write(|dst| dst[0] ^= 0xff);
                    }
                    return Ok(self.inject.verify.load(Ordering::Relaxed).then_some(hash));
                }
                Some(Slot::Unused) | None => return Err(FetchError::NoSuchPage),
            }
        }
    }

    /// Whether this fetch is to be corrupted (injection).
    fn take_corruption(&self) -> bool {
        self.inject
            .corrupt_fetches
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Pages held.
    pub(crate) fn pages(&self) -> usize {
        self.slots
            .lock()
            .iter()
            .filter(|s| matches!(s, Slot::Page(_)))
            .count()
    }

    /// Evicts the private anonymous pages of `[start, end)` of the calling
    /// process into the backend.
    pub(crate) fn evict(&self, start: usize, end: usize) -> Result<EvictStats> {
        let mm = TaskMm::current()?;
        let _serial = self.evict_lock.lock();
        self.drop_unreferenced();
        let mut batch = Batch::new()?;
        let mut evicted_before = 0;
        let total = loop {
            batch.base = self.reserve()?;
            let mut pass = EvictStats::default();
            let rc = lazy_entry::evict_range(&mm, start, end, &mut batch, &mut pass);
            self.publish(&mut batch);
            if rc.is_err() && batch.full {
                // Everything evicted so far stays evicted; the next pass
                // walks the range again and sees what is still mapped.
                evicted_before += pass.evicted;
                batch.refill()?;
                continue;
            }
            rc?;
            // The last pass saw every page still mapped: its skip counts
            // are the final ones.
            pass.evicted += evicted_before;
            pass.seen += evicted_before;
            break pass;
        };
        STATS.fault.evicted.add(total.evicted as u64);
        Ok(total)
    }

    /// Frees every page if no lazy entry exists: then none can refer to a
    /// slot (entries are only made by `evict`, which the caller holds).
    fn drop_unreferenced(&self) {
        if lazy_entry::entry_count() == 0 {
            *self.slots.lock() = KVVec::new();
        }
    }

    /// Reserves [`BATCH_PAGES`] slots and returns the first index.
    fn reserve(&self) -> Result<u64> {
        let mut slots = self.slots.lock();
        let base = slots.len();
        let end = base.checked_add(BATCH_PAGES).ok_or(ENOSPC)?;
        if end as u64 > lazy_entry::max_index() {
            return Err(ENOSPC);
        }
        for _ in 0..BATCH_PAGES {
            slots.push(Slot::Reserved, GFP_KERNEL)?;
        }
        Ok(base as u64)
    }

    /// Moves the pages of `batch` into their slots, releases the slots it
    /// did not use and wakes faults waiting for them.
    fn publish(&self, batch: &mut Batch) {
        let used = batch.used;
        // Outside the lock: hashing is the slow part.
        for page in batch.pages.iter_mut().take(used).flatten() {
            page.hash = lazy_entry::read_page(&page.data, |b| sha256::digest(b));
        }
        let base = batch.base as usize;
        let mut slots = self.slots.lock();
        let reserved = &mut slots.as_mut_slice()[base..base + BATCH_PAGES];
        for (i, (slot, page)) in reserved.iter_mut().zip(batch.pages.iter_mut()).enumerate() {
            *slot = match page.take() {
                Some(p) if i < used => Slot::Page(p),
                unused => {
                    *page = unused;
                    Slot::Unused
                }
            };
        }
        // Unused slots at the end are given back (evictions are serialised,
        // so the pass's slots are the last ones).
        let mut len = slots.len();
        while len > base + used && matches!(slots.as_slice()[len - 1], Slot::Unused) {
            len -= 1;
        }
        // SAFETY: `len` is at most the length, and the slots cut off are
        // `Slot::Unused`, which own nothing: not dropping them leaks nothing.
        unsafe { slots.set_len(len) };
        drop(slots);
        self.published.notify_all();
        batch.used = 0;
    }
}

/// The preallocated pages of one eviction pass.
struct Batch {
    /// Index of `pages[0]`.
    base: u64,
    /// `pages[..used]` hold evicted pages; `None` once published.
    pages: KVec<Option<StoredPage>>,
    used: usize,
    /// The pass stopped because every page was used.
    full: bool,
}

impl Batch {
    fn new() -> Result<Self> {
        let mut pages = KVec::with_capacity(BATCH_PAGES, GFP_KERNEL)?;
        for _ in 0..BATCH_PAGES {
            pages.push(None, GFP_KERNEL)?;
        }
        let mut batch = Self {
            base: 0,
            pages,
            used: 0,
            full: false,
        };
        batch.refill()?;
        Ok(batch)
    }

    /// Allocates the pages that were published.
    fn refill(&mut self) -> Result {
        for p in self.pages.iter_mut().filter(|p| p.is_none()) {
            *p = Some(StoredPage {
                // Charged to the evicting process's memory cgroup.
                data: Page::alloc_page(GFP_KERNEL_ACCOUNT)?,
                hash: [0; DIGEST_LEN],
            });
        }
        self.full = false;
        Ok(())
    }
}

impl EvictStore for Batch {
    fn store(&mut self, folio: &Folio) -> Result<u64> {
        let Some(Some(page)) = self.pages.as_mut_slice().get_mut(self.used) else {
            self.full = true;
            return Err(ENOSPC);
        };
        // SAFETY: `src` is a whole page, readable, and does not overlap
        // the stored page.
        folio.read(|src| unsafe { page.data.write_raw(src.as_ptr(), 0, PAGE_SIZE) })?;
        let index = self.base + self.used as u64;
        self.used += 1;
        Ok(index)
    }
}
