// SPDX-License-Identifier: GPL-2.0

//! Where the content of each lazy entry is: the module's page store, which
//! maps an entry's index to its page and the SHA-256 that page must have.
//! A page is either kept in memory (the `memory` backend: pages evicted by
//! `LAZYRESUME_IOC_EVICT`, for the selftests and the benchmarks) or on a
//! TFTP server (the `tftp` backend, after `LAZYRESUME_IOC_TFTP_BACKEND`).
//! Fetches can be told to fail (backend offline, corrupted pages) to
//! exercise the fault policy.
//!
//! Read-ahead: when a server file holds several pages, a fault fetches the
//! whole file and keeps the other pages of it, still lazy, in their slots
//! ([`MAX_KEPT_PAGES`] at most), where their own faults find them. A kept
//! page is handed out once and checked against its hash like any other.
//!
//! Indexes are positions in one vector of slots. Eviction works in passes
//! of up to [`BATCH_PAGES`] pages: it reserves that many slots, evicts into
//! preallocated pages (the store callback runs under a page table lock,
//! where nothing can be allocated), then publishes the pages into their
//! slots. A fault that sees a slot still reserved (another thread of the
//! process faulted between eviction and publication) waits for it.

use core::sync::atomic::{AtomicBool, Ordering};

use kernel::alloc::KVVec;
use kernel::new_condvar;
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::{CondVar, Mutex};
use kernel::time::Ktime;

use super::inject::Inject;
use super::tftp::TftpSource;
use super::{FetchError, Fetched, STATS};
use crate::sys::errno::enodata;
use crate::sys::lazy_entry::{self, EvictStats, EvictStore, Folio, TaskMm};
use crate::sys::net::SockAddrV4;
use crate::sys::page::OwnedPage;
use crate::sys::sha256::{self, DIGEST_LEN};

/// Pages evicted per pass: the preallocated pages of one pass (2 MiB).
const BATCH_PAGES: usize = 512;
/// Pages kept by read-ahead at most (32 MiB with 4 KiB pages). Kept pages
/// whose entries go away (the process exits) are only freed with the
/// store, so this bounds what they can cost.
const MAX_KEPT_PAGES: usize = 8192;

/// A page kept in memory: its content (a page of its own, so that freeing
/// the store gives whole pages back) and SHA-256.
struct StoredPage {
    data: OwnedPage,
    hash: [u8; DIGEST_LEN],
}

/// One index of the store.
enum Slot {
    /// Reserved by an eviction pass that has not published yet.
    Reserved,
    /// Reserved but not used by its pass; no entry refers to it.
    Unused,
    /// A page in memory that lazy entries may refer to.
    Memory(StoredPage),
    /// A page on the TFTP server of [`Store::remote`], with its SHA-256,
    /// its content if read-ahead fetched it already, and whether a fault
    /// asked for it already (read-ahead keeps no page for such a slot,
    /// which nothing might ask for again).
    Remote {
        hash: [u8; DIGEST_LEN],
        kept: Option<OwnedPage>,
        served: bool,
    },
}

/// What the store's lock protects.
struct Store {
    slots: KVVec<Slot>,
    /// The server of the [`Slot::Remote`] pages.
    remote: Option<TftpSource>,
    /// Number of [`Slot::Memory`] slots.
    memory_pages: usize,
    /// Number of [`Slot::Remote`] slots.
    remote_pages: usize,
    /// Number of [`Slot::Remote`] slots with a kept page.
    kept_pages: usize,
}

/// The page store.
#[pin_data]
pub(crate) struct PageStore {
    /// Set while a call adds or moves slots (evict, move to TFTP): one at a
    /// time, others get `EBUSY` rather than an unkillable wait behind a
    /// long upload or an mmap_lock.
    writing: AtomicBool,
    #[pin]
    store: Mutex<Store>,
    /// Signalled when reserved slots are published.
    #[pin]
    published: CondVar,
    inject: Inject,
}

/// Where a fetch finds the page, read under the store's lock.
enum Location {
    /// Copied into the folio already.
    Memory,
    /// Kept by read-ahead, taken from its slot: to be copied.
    Kept(OwnedPage),
    /// To be fetched from this server.
    Remote(TftpSource),
}

impl PageStore {
    /// An empty store.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            writing: AtomicBool::new(false),
            store <- new_mutex!(Store {
                slots: KVVec::new(),
                remote: None,
                memory_pages: 0,
                remote_pages: 0,
                kept_pages: 0,
            }),
            published <- new_condvar!(),
            inject: Inject::new(),
        })
    }

    /// Sets the fault injection of the tests and benchmarks.
    #[cfg(lazyresume_test)]
    pub(crate) fn set_injection(&self, offline: bool, corrupt_fetches: u32, verify: bool) {
        self.inject.set(offline, corrupt_fetches, verify);
    }

    /// Writes page `index` into `folio` and returns the SHA-256 it must
    /// have (or `None` when checking is turned off) and what read-ahead
    /// did. May sleep (TFTP), for `budget_ms` at most if given.
    pub(crate) fn fetch(
        &self,
        index: u64,
        folio: &mut Folio<'_>,
        budget_ms: Option<u32>,
    ) -> Result<Fetched, FetchError> {
        if self.inject.offline() {
            return Err(FetchError::Unreachable);
        }
        let i = usize::try_from(index).map_err(|_| FetchError::NoSuchPage)?;
        let mut store = self.store.lock();
        let (hash, location) = loop {
            let st = &mut *store;
            match st.slots.as_mut_slice().get_mut(i) {
                Some(Slot::Reserved) => self.published.wait(&mut store),
                Some(Slot::Memory(p)) => {
                    // Nothing writes a stored page once published.
                    copy_page(folio, &p.data);
                    break (p.hash, Location::Memory);
                }
                Some(Slot::Remote { hash, kept, served }) => {
                    *served = true;
                    // Handed out once: if it fails its check, the next
                    // attempt fetches the page again.
                    if let Some(page) = kept.take() {
                        st.kept_pages -= 1;
                        break (*hash, Location::Kept(page));
                    }
                    let source = st.remote.clone().ok_or(FetchError::NoSuchPage)?;
                    break (*hash, Location::Remote(source));
                }
                Some(Slot::Unused) | None => return Err(FetchError::NoSuchPage),
            }
        };
        // The network is waited for without the lock.
        drop(store);
        let mut fetched = Fetched {
            expected: None,
            read_ahead_hit: false,
            read_ahead_kept: 0,
        };
        match location {
            Location::Memory => {}
            Location::Kept(page) => {
                fetched.read_ahead_hit = true;
                copy_page(folio, &page);
            }
            Location::Remote(source) if source.chunk_pages() == 1 => {
                source.fetch(index, folio, budget_ms)?;
            }
            Location::Remote(source) => {
                fetched.read_ahead_kept = self.fetch_chunk(&source, index, folio, budget_ms)?;
            }
        }
        if self.inject.take_corruption() {
            folio.write(|dst| dst[0] ^= 0xff);
        }
        fetched.expected = self.inject.verify().then_some(hash);
        Ok(fetched)
    }

    /// Fetches the file of page `index` from `source`, writes the page
    /// into `folio` and keeps the other pages of the file; returns how many
    /// it kept.
    fn fetch_chunk(
        &self,
        source: &TftpSource,
        index: u64,
        folio: &mut Folio<'_>,
        budget_ms: Option<u32>,
    ) -> Result<u64, FetchError> {
        let per_file = u64::from(source.chunk_pages());
        let chunk = index / per_file;
        let first = chunk * per_file;
        let mut buf = KVVec::from_elem(0u8, per_file as usize * PAGE_SIZE, GFP_KERNEL)
            .map_err(|_| FetchError::NoMemory)?;
        let len = source.fetch_chunk(chunk, &mut buf, budget_ms)?;
        let at = (index - first) as usize * PAGE_SIZE;
        // A file too short to hold the page: the wrong file.
        let page = buf
            .get(at..at + PAGE_SIZE)
            .filter(|_| at + PAGE_SIZE <= len)
            .ok_or(FetchError::Failed(EFBIG))?;
        folio.write(|dst| dst.copy_from_slice(page));
        Ok(self.keep_read_ahead(first, &buf[..len], index))
    }

    /// Keeps the pages of `data`, the file whose first page is `first`,
    /// in the slots still waiting for them, except page `skip` (being
    /// served) and as far as [`MAX_KEPT_PAGES`] allows; returns how many
    /// it kept. Best effort: a page that cannot be kept is fetched again by
    /// its own fault.
    fn keep_read_ahead(&self, first: u64, data: &[u8], skip: u64) -> u64 {
        if self.store.lock().kept_pages >= MAX_KEPT_PAGES {
            return 0;
        }
        // Copy into pages of their own before taking the lock.
        let mut copies = KVec::new();
        for (j, bytes) in data.chunks_exact(PAGE_SIZE).enumerate() {
            let index = first + j as u64;
            if index == skip {
                continue;
            }
            let Ok(mut page) = OwnedPage::alloc(GFP_KERNEL_ACCOUNT | __GFP_NOWARN) else {
                break;
            };
            page.write(|dst| dst.copy_from_slice(bytes));
            if copies.push((index, page), GFP_KERNEL).is_err() {
                break;
            }
        }
        let mut kept = 0;
        let mut store = self.store.lock();
        let st = &mut *store;
        for (index, page) in copies {
            if st.kept_pages >= MAX_KEPT_PAGES {
                break;
            }
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| st.slots.as_mut_slice().get_mut(i));
            // Only pages still waiting: another fault may have served
            // one meanwhile.
            if let Some(Slot::Remote {
                kept: k @ None,
                served: false,
                ..
            }) = slot
            {
                *k = Some(page);
                st.kept_pages += 1;
                kept += 1;
            }
        }
        kept
    }

    /// Pages held in memory, pages on the TFTP server and how many of
    /// those read-ahead keeps in memory.
    pub(crate) fn pages(&self) -> (usize, usize, usize) {
        let store = self.store.lock();
        (store.memory_pages, store.remote_pages, store.kept_pages)
    }

    /// Evicts the private anonymous pages of `[start, end)` of `mm` into
    /// the memory backend, with `shared` also those shared copy-on-write.
    pub(crate) fn evict(
        &self,
        mm: &TaskMm,
        start: usize,
        end: usize,
        shared: bool,
    ) -> Result<EvictStats> {
        let _writer = Writer::claim(&self.writing)?;
        self.drop_unreferenced();
        let mut batch = Batch::new()?;
        let mut evicted_before = 0;
        let total = loop {
            batch.base = self.reserve()?;
            let mut pass = EvictStats::default();
            let rc = lazy_entry::evict_range(mm, start, end, shared, &mut batch, &mut pass);
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
        STATS.evicted.add(total.evicted as u64);
        Ok(total)
    }

    /// Moves every page held in memory to `source`, uploading each unless
    /// `upload` is false, and serves them from there. Returns the number of
    /// pages moved and the time it took.
    pub(crate) fn move_to_tftp(&self, source: TftpSource, upload: bool) -> Result<(u64, u64)> {
        let _writer = Writer::claim(&self.writing)?;
        {
            let mut store = self.store.lock();
            match &store.remote {
                Some(r) if *r != source => return Err(EBUSY),
                _ => store.remote = Some(source.clone()),
            }
        }
        let start = Ktime::ktime_get();
        let mut buf = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let mut moved = 0;
        let mut i = 0;
        loop {
            // Copy the next page out under the lock, upload without it.
            let hash = {
                let store = self.store.lock();
                let Some(slot) = store.slots.as_slice().get(i) else {
                    break;
                };
                let Slot::Memory(p) = slot else {
                    i += 1;
                    continue;
                };
                p.data.read(|b| buf.copy_from_slice(b));
                p.hash
            };
            if upload {
                source.upload(i as u64, &buf)?;
            }
            // Only a writer (us) changes `Memory` slots.
            let mut store = self.store.lock();
            store.slots.as_mut_slice()[i] = Slot::Remote {
                hash,
                kept: None,
                served: false,
            };
            store.memory_pages -= 1;
            store.remote_pages += 1;
            moved += 1;
            i += 1;
        }
        let ns = (Ktime::ktime_get() - start).to_ns().max(0) as u64;
        Ok((moved, ns))
    }

    /// Fetches pages of the `tftp` backend from `server`, under `prefix`,
    /// from now on (the restored kernel of a client, whose server and
    /// image the boot kernel named).
    pub(crate) fn retarget(&self, server: SockAddrV4, prefix: &[u8]) -> Result {
        if let Some(r) = &mut self.store.lock().remote {
            r.retarget(server, prefix)?;
        }
        Ok(())
    }

    /// The server and page file prefix of the `tftp` backend, if any.
    pub(crate) fn remote(&self) -> Option<TftpSource> {
        self.store.lock().remote.clone()
    }

    /// Writes the SHA-256 of the pages from `first` on into `out` (zeros
    /// for an index without a page); returns how many indexes the store
    /// has and how many of them are on the TFTP server.
    pub(crate) fn hashes(&self, first: u64, out: &mut [u8]) -> (u64, u64) {
        let store = self.store.lock();
        let slots = store.slots.as_slice();
        let skip = usize::try_from(first).unwrap_or(usize::MAX);
        for (i, dst) in out.chunks_exact_mut(DIGEST_LEN).enumerate() {
            match slots.get(skip.saturating_add(i)) {
                Some(Slot::Memory(p)) => dst.copy_from_slice(&p.hash),
                Some(Slot::Remote { hash, .. }) => dst.copy_from_slice(hash),
                _ => dst.fill(0),
            }
        }
        (slots.len() as u64, store.remote_pages as u64)
    }

    /// Copies pages `first..` held in memory into `out` (whole pages);
    /// `ENODATA` if one of them is not in memory.
    pub(crate) fn read_pages(&self, first: u64, out: &mut [u8]) -> Result {
        let store = self.store.lock();
        let first = usize::try_from(first).map_err(|_| enodata())?;
        for (i, dst) in out.chunks_exact_mut(PAGE_SIZE).enumerate() {
            match store.slots.as_slice().get(first.saturating_add(i)) {
                Some(Slot::Memory(p)) => p.data.read(|b| dst.copy_from_slice(b)),
                _ => return Err(enodata()),
            }
        }
        Ok(())
    }

    /// Frees every page if no lazy entry exists: then none can refer to a
    /// slot (entries are only made by `evict`, and the caller is the writer).
    fn drop_unreferenced(&self) {
        if lazy_entry::entry_count() == 0 {
            let mut store = self.store.lock();
            store.slots = KVVec::new();
            store.remote = None;
            store.memory_pages = 0;
            store.remote_pages = 0;
            store.kept_pages = 0;
        }
    }

    /// Reserves [`BATCH_PAGES`] slots and returns the first index.
    fn reserve(&self) -> Result<u64> {
        let mut store = self.store.lock();
        let base = store.slots.len();
        let last = base.checked_add(BATCH_PAGES - 1).ok_or(ENOSPC)?;
        if last as u64 > lazy_entry::max_index() {
            return Err(ENOSPC);
        }
        // Allocate first: the pushes below cannot fail half way.
        store.slots.reserve(BATCH_PAGES, GFP_KERNEL)?;
        for _ in 0..BATCH_PAGES {
            store.slots.push(Slot::Reserved, GFP_KERNEL)?;
        }
        Ok(base as u64)
    }

    /// Moves the pages of `batch` into their slots, releases the slots it
    /// did not use and wakes faults waiting for them.
    fn publish(&self, batch: &mut Batch) {
        let used = batch.used;
        // Outside the lock: hashing is the slow part.
        for page in batch.pages.iter_mut().take(used).flatten() {
            page.hash = page.data.read(|b| sha256::digest(b));
        }
        let base = batch.base as usize;
        let mut store = self.store.lock();
        let reserved = &mut store.slots.as_mut_slice()[base..base + BATCH_PAGES];
        for (i, (slot, page)) in reserved.iter_mut().zip(batch.pages.iter_mut()).enumerate() {
            *slot = match page.take() {
                Some(p) if i < used => Slot::Memory(p),
                unused => {
                    *page = unused;
                    Slot::Unused
                }
            };
        }
        // Unused slots at the end are given back (writers are one at a time,
        // so the pass's slots are the last ones).
        let mut len = store.slots.len();
        while len > base + used && matches!(store.slots.as_slice()[len - 1], Slot::Unused) {
            len -= 1;
        }
        store.memory_pages += used;
        // SAFETY: `len` is at most the length, and the slots cut off are
        // `Slot::Unused`, which own nothing: not dropping them leaks nothing.
        unsafe { store.slots.set_len(len) };
        drop(store);
        self.published.notify_all();
        batch.used = 0;
    }
}

/// The right to add or move slots, released on drop.
struct Writer<'a>(&'a AtomicBool);

impl<'a> Writer<'a> {
    /// Claims `flag`; `EBUSY` if another call holds it.
    fn claim(flag: &'a AtomicBool) -> Result<Self> {
        flag.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| EBUSY)?;
        Ok(Self(flag))
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Copies `page` into `folio`.
fn copy_page(folio: &mut Folio<'_>, page: &OwnedPage) {
    folio.write(|dst| page.read(|src| dst.copy_from_slice(src)));
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
                data: OwnedPage::alloc(GFP_KERNEL_ACCOUNT)?,
                hash: [0; DIGEST_LEN],
            });
        }
        self.full = false;
        Ok(())
    }
}

impl EvictStore for Batch {
    fn store(&mut self, folio: &Folio<'_>) -> Result<u64> {
        let Some(Some(page)) = self.pages.as_mut_slice().get_mut(self.used) else {
            self.full = true;
            return Err(ENOSPC);
        };
        folio.read(|src| page.data.write(|dst| dst.copy_from_slice(src)));
        let index = self.base + self.used as u64;
        self.used += 1;
        Ok(index)
    }
}
