// SPDX-License-Identifier: GPL-2.0

//! Where the content of each lazy entry is: the module's page store, which
//! maps an entry's index to its page and the SHA-256 that page must have.
//! A page is either kept in memory (the `memory` backend: pages evicted by
//! `LAZYRESUME_IOC_EVICT`, for the selftests and the benchmarks) or on a
//! TFTP server (the `tftp` backend, after `LAZYRESUME_IOC_TFTP_BACKEND`).
//! Fetches can be told to fail (backend offline, corrupted pages) to
//! exercise the fault policy.
//!
//! Pages on the server come in by whole files (the fetch engine fetches
//! them, `crate::fetch`): every page of a file but the one a fault asked
//! for is kept, checked, in its slot until something fills an entry with
//! it. How long it stays depends on who fills the entries: with the
//! background lane on, the engine's installer puts kept pages into every
//! page table that refers to them and then drops them all
//! ([`PageStore::sweep`]); with it off, a fault takes the kept page it
//! copies, as before the engine (a `fork()`ed copy of the entry then needs
//! the server again).
//!
//! A page on the server whose hash is that of a page of zeros is never
//! fetched (nor uploaded): a fault fills it with zeros, and it is at hand
//! for the installer as a kept page is.
//!
//! Indexes are positions in one vector of slots. Eviction works in passes
//! of up to [`BATCH_PAGES`] pages: it reserves that many slots, evicts into
//! preallocated pages (the store callback runs under a page table lock,
//! where nothing can be allocated), then publishes the pages into their
//! slots. A fault that sees a slot still reserved (another thread of the
//! process faulted between eviction and publication) waits for it.

use core::num::NonZeroU64;
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
use super::{FetchError, STATS};
use crate::shared::image::is_zero_page_hash;
use crate::sys::errno::enodata;
use crate::sys::lazy_entry::{self, EvictStats, EvictStore, Folio, TaskMm};
use crate::sys::net::SockAddrV4;
use crate::sys::page::OwnedPage;
use crate::sys::sha256::{self, DIGEST_LEN};

/// Pages evicted per pass: the preallocated pages of one pass (2 MiB).
const BATCH_PAGES: usize = 512;

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
    /// A page on the TFTP server of [`Store::remote`], with its SHA-256 and
    /// its content once fetched.
    Remote {
        hash: [u8; DIGEST_LEN],
        kept: Option<Kept>,
    },
}

/// A fetched page, checked against its hash, kept in its slot.
struct Kept {
    page: OwnedPage,
    /// The install pass that was next when the page arrived.
    pass: u64,
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
    /// Number of [`Slot::Remote`] slots of a page of zeros.
    zero_pages: usize,
    /// Number of the next install pass ([`PageStore::begin_pass`]).
    next_pass: u64,
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

/// What [`PageStore::copy`] found for an index.
pub(crate) enum Found {
    /// Copied into the folio: a page of the memory backend, to be checked
    /// against this hash unless checking is off.
    Memory(Option<[u8; DIGEST_LEN]>),
    /// Copied into the folio: a fetched page, checked when it arrived.
    Kept,
    /// On the server and not fetched yet: in file `chunk`.
    Remote { chunk: u64 },
}

/// What the fetch engine needs of one page of a file
/// ([`PageStore::wanted`]).
#[derive(Clone, Copy)]
pub(crate) enum Want {
    /// Nothing: the page is kept already, or not on the server, or past
    /// the last page.
    Nothing,
    /// A page of zeros: never fetched, and not in an LZ4-encoded file.
    Zero,
    /// Its content, which must have this SHA-256.
    Page([u8; DIGEST_LEN]),
}

/// Whether `hash` is that of a page of zeros.
fn is_zero(hash: &[u8; DIGEST_LEN]) -> bool {
    is_zero_page_hash(hash, PAGE_SIZE)
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
                zero_pages: 0,
                next_pass: 0,
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

    /// The fault injection of the tests.
    pub(crate) fn inject(&self) -> &Inject {
        &self.inject
    }

    /// Copies page `index` into `folio` if the store has it: a page of the
    /// memory backend (with a byte flipped if the tests ask for it), or a
    /// fetched page, which `take` removes from the store; fills it with
    /// zeros if it is a page of zeros on the server (as
    /// `Found::Memory(None)`: copied, nothing to check). Otherwise says
    /// which file of the server holds it. `Unreachable` while the tests
    /// take the memory backend offline.
    pub(crate) fn copy(
        &self,
        index: u64,
        folio: &mut Folio<'_>,
        take: bool,
    ) -> Result<Found, FetchError> {
        let i = usize::try_from(index).map_err(|_| FetchError::NoSuchPage)?;
        let mut store = self.store.lock();
        loop {
            let st = &mut *store;
            let per = st
                .remote
                .as_ref()
                .map_or(NonZeroU64::MIN, |r| r.chunk_pages());
            match st.slots.as_mut_slice().get_mut(i) {
                Some(Slot::Reserved) => self.published.wait(&mut store),
                Some(Slot::Memory(p)) => {
                    if self.inject.offline() {
                        return Err(FetchError::Unreachable);
                    }
                    // Nothing writes a stored page once published.
                    copy_page(folio, &p.data);
                    if self.inject.take_corruption() {
                        folio.write(|dst| dst[0] ^= 0xff);
                    }
                    return Ok(Found::Memory(self.inject.verify().then_some(p.hash)));
                }
                Some(Slot::Remote {
                    kept: kept @ Some(_),
                    ..
                }) => {
                    if let Some(k) = kept {
                        copy_page(folio, &k.page);
                    }
                    if take {
                        *kept = None;
                        st.kept_pages -= 1;
                    }
                    return Ok(Found::Kept);
                }
                Some(Slot::Remote { hash, kept: None }) if is_zero(hash) => {
                    drop(store);
                    fill_zeros(folio);
                    return Ok(Found::Memory(None));
                }
                Some(Slot::Remote { kept: None, .. }) => {
                    return Ok(Found::Remote { chunk: index / per })
                }
                Some(Slot::Unused) | None => return Err(FetchError::NoSuchPage),
            }
        }
    }

    /// Whether the content of page `index` is at hand without a fetch: a
    /// fetched page the store keeps, or a page of zeros on the server.
    pub(crate) fn at_hand(&self, index: u64) -> bool {
        let store = self.store.lock();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| store.slots.as_slice().get(i));
        match slot {
            Some(Slot::Remote { kept: Some(_), .. }) => true,
            Some(Slot::Remote { hash, kept: None }) => is_zero(hash),
            _ => false,
        }
    }

    /// Fills `folio` with zeros if page `index` is a page of zeros on the
    /// server; returns whether it was.
    pub(crate) fn fill_if_zero(&self, index: u64, folio: &mut Folio<'_>) -> bool {
        let zero = {
            let store = self.store.lock();
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| store.slots.as_slice().get(i));
            matches!(slot, Some(Slot::Remote { hash, kept: None }) if is_zero(hash))
        };
        if zero {
            fill_zeros(folio);
        }
        zero
    }

    /// Whether page `index` is a fetched page the store keeps.
    pub(crate) fn is_kept(&self, index: u64) -> bool {
        let store = self.store.lock();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| store.slots.as_slice().get(i));
        matches!(slot, Some(Slot::Remote { kept: Some(_), .. }))
    }

    /// The server file that holds page `index`, if it is a remote page.
    pub(crate) fn file_of(&self, index: u64) -> Option<u64> {
        let store = self.store.lock();
        let per = store.remote.as_ref()?.chunk_pages();
        match store.slots.as_slice().get(usize::try_from(index).ok()?) {
            Some(Slot::Remote { .. }) => Some(index / per),
            _ => None,
        }
    }

    /// Writes into `out[j]` what the engine needs of page `first + j`
    /// (see [`Want`]); returns how many pages are to be fetched and how
    /// many of `out` are pages of the store. One look under the lock for a
    /// whole file.
    pub(crate) fn wanted(&self, first: u64, out: &mut [Want]) -> (usize, usize) {
        let store = self.store.lock();
        let slots = store.slots.as_slice();
        let mut n = 0;
        let mut pages = 0;
        for (j, w) in out.iter_mut().enumerate() {
            let slot = usize::try_from(first + j as u64)
                .ok()
                .and_then(|i| slots.get(i));
            *w = match slot {
                Some(Slot::Remote { hash, .. }) if is_zero(hash) => Want::Zero,
                Some(Slot::Remote { hash, kept: None }) => Want::Page(*hash),
                _ => Want::Nothing,
            };
            n += usize::from(matches!(w, Want::Page(_)));
            pages += usize::from(slot.is_some());
        }
        (n, pages)
    }

    /// Calls `f` with each file of `per` pages and whether it holds a page
    /// still to be fetched (one that is on the server, not kept and not
    /// zero); under one lock.
    pub(crate) fn for_each_file(&self, per: u64, mut f: impl FnMut(u64, bool)) {
        let store = self.store.lock();
        let Ok(per) = usize::try_from(per) else {
            return;
        };
        for (file, slots) in store.slots.as_slice().chunks(per.max(1)).enumerate() {
            let needed = slots
                .iter()
                .any(|s| matches!(s, Slot::Remote { hash, kept: None } if !is_zero(hash)));
            f(file as u64, needed);
        }
    }

    /// Pages of zeros on the server.
    pub(crate) fn zero_pages(&self) -> usize {
        self.store.lock().zero_pages
    }

    /// Keeps `pages`, fetched and checked, as the content of their
    /// indexes, unless a slot keeps one already or is not remote; under one
    /// lock for a whole file.
    pub(crate) fn keep(&self, pages: KVec<(u64, OwnedPage)>) {
        let mut store = self.store.lock();
        let st = &mut *store;
        let pass = st.next_pass;
        for (index, page) in pages {
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| st.slots.as_mut_slice().get_mut(i));
            if let Some(Slot::Remote { kept: k @ None, .. }) = slot {
                *k = Some(Kept { page, pass });
                st.kept_pages += 1;
            }
        }
    }

    /// Starts an install pass: returns its number. Every page kept before
    /// it began can be dropped once the pass has filled every entry (see
    /// [`PageStore::sweep`]).
    pub(crate) fn begin_pass(&self) -> u64 {
        let mut store = self.store.lock();
        let pass = store.next_pass;
        store.next_pass += 1;
        pass
    }

    /// Drops the pages kept before install pass `pass` began: that pass
    /// filled every entry that referred to them, and no entry referring to
    /// them can have appeared since (entries are copied by `fork()`, which
    /// the pass follows, never made from kept pages). Returns how many.
    pub(crate) fn sweep(&self, pass: u64) -> u64 {
        let mut store = self.store.lock();
        let st = &mut *store;
        let mut dropped = 0;
        for slot in st.slots.as_mut_slice() {
            if let Slot::Remote { kept, .. } = slot {
                if kept.as_ref().is_some_and(|k| k.pass <= pass) {
                    *kept = None;
                    dropped += 1;
                }
            }
        }
        st.kept_pages -= dropped;
        dropped as u64
    }

    /// The server of the remote pages, and the number of files they are in.
    pub(crate) fn remote_files(&self) -> Option<(TftpSource, u64)> {
        let store = self.store.lock();
        let source = store.remote.clone()?;
        let per = source.chunk_pages();
        let pages = store.slots.len() as u64;
        Some((source, pages / per + u64::from(pages % per != 0)))
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
            // A page of zeros is never fetched: nothing to upload.
            let zero = is_zero(&hash);
            if upload && !zero {
                source.upload(i as u64, &buf)?;
            }
            // Only a writer (us) changes `Memory` slots.
            let mut store = self.store.lock();
            store.slots.as_mut_slice()[i] = Slot::Remote { hash, kept: None };
            store.memory_pages -= 1;
            store.remote_pages += 1;
            store.zero_pages += usize::from(zero);
            moved += 1;
            i += 1;
        }
        let ns = (Ktime::ktime_get() - start).to_ns().max(0) as u64;
        Ok((moved, ns))
    }

    /// Fetches pages of the `tftp` backend from `servers` (the primary
    /// first), under `prefix`, from now on (the restored kernel of a
    /// client, whose servers and image the boot kernel named); the
    /// fetchers start on the first `answering`.
    pub(crate) fn retarget(
        &self,
        servers: &[SockAddrV4],
        answering: usize,
        prefix: &[u8],
    ) -> Result {
        if let Some(r) = &mut self.store.lock().remote {
            r.retarget(servers, answering, prefix)?;
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
        if lazy_entry::none_left() {
            let mut store = self.store.lock();
            store.slots = KVVec::new();
            store.remote = None;
            store.memory_pages = 0;
            store.remote_pages = 0;
            store.kept_pages = 0;
            store.zero_pages = 0;
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

/// Fills `folio` with zeros, and counts it.
fn fill_zeros(folio: &mut Folio<'_>) {
    folio.write(|dst| dst.fill(0));
    STATS.zero_filled.inc();
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
