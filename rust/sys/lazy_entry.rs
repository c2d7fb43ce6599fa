// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the lazy entry API of `mm/lazy_entry.c`
//! (`include/linux/lazy_entry.h`, see `Documentation/lazy-entry.rst`): the
//! mm of the calling task, the folios handed to a filler or an evictor, the
//! registration of the filler, `lazy_entry_evict_range()` and
//! `lazy_entry_unuse()`.

use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

use super::page::PageBytes;

/// Lazy entries in all page tables, as the per-mm counters summed by
/// `lazy_entry_count()` say: they lag behind a fork or an unmap in
/// progress.
fn counted_entries() -> u64 {
    // SAFETY: sums per-mm counters under `mmlist_lock`.
    unsafe { bindings::lazy_entry_count() as u64 }
}

/// Lazy entries found by a walk of every page table that fills nothing
/// ([`unuse`] with nothing at hand), or 1 if the walk failed (there may be
/// entries). The walk also lets mm unpin this module once no entry is
/// left.
fn walked_entries() -> u64 {
    match unuse(&NothingAtHand) {
        Ok(unused) => unused.left,
        Err(_) => 1,
    }
}

/// Lazy entries in all page tables: the per-mm counters' sum, and when
/// that is zero, the count of a page-table walk that confirms it (see
/// [`walked_entries`]): one walk per call while no entry is left.
pub(crate) fn entries_left() -> u64 {
    match counted_entries() {
        0 => walked_entries(),
        n => n,
    }
}

/// Whether no lazy entry is left anywhere, confirmed by a walk.
pub(crate) fn none_left() -> bool {
    entries_left() == 0
}

/// A [`LocalFill`] with nothing at hand: its walk only counts entries.
struct NothingAtHand;

impl LocalFill for NothingAtHand {
    fn at_hand(&self, _index: u64) -> bool {
        false
    }

    fn fill_local(&self, _index: u64, _folio: &mut Folio<'_>) -> Result {
        Err(EAGAIN)
    }
}

/// Largest index a lazy entry can carry on this machine.
pub(crate) fn max_index() -> u64 {
    // SAFETY: pure computation from the CPU's address width.
    unsafe { bindings::lazy_entry_max_index() as u64 }
}

/// A reference on the mm of the calling task (`get_task_mm(current)`).
pub(crate) struct TaskMm(NonNull<bindings::mm_struct>);

impl TaskMm {
    /// The mm of the calling task; `EINVAL` for a kernel thread or a task
    /// that is exiting.
    pub(crate) fn current() -> Result<Self> {
        // SAFETY: `get_current()` is the running task, valid during the
        // call; `get_task_mm()` takes its own reference on the mm.
        let mm = unsafe { bindings::get_task_mm(bindings::get_current()) };
        NonNull::new(mm).map(Self).ok_or(EINVAL)
    }
    /// The mm of process `pid` (in the caller's pid namespace): `ESRCH`
    /// if there is none, `EINVAL` for a kernel thread or an exiting task.
    pub(crate) fn of_pid(pid: i32) -> Result<Self> {
        // SAFETY: `find_get_pid()` returns the pid with a reference, or
        // NULL.
        let p = unsafe { bindings::find_get_pid(pid) };
        if p.is_null() {
            return Err(ESRCH);
        }
        // SAFETY: `p` is a valid pid we hold a reference on; the task, if
        // any, comes with a reference of its own.
        let task = unsafe { bindings::get_pid_task(p, bindings::pid_type_PIDTYPE_PID) };
        // SAFETY: drops the reference of `find_get_pid()`.
        unsafe { bindings::put_pid(p) };
        if task.is_null() {
            return Err(ESRCH);
        }
        // SAFETY: `task` is valid (we hold a reference); `get_task_mm()`
        // takes its own reference on the mm.
        let mm = unsafe { bindings::get_task_mm(task) };
        // SAFETY: drops the reference of `get_pid_task()`.
        unsafe { bindings::put_task_struct(task) };
        NonNull::new(mm).map(Self).ok_or(EINVAL)
    }
}

impl Drop for TaskMm {
    fn drop(&mut self) {
        // SAFETY: drops the reference taken by `get_task_mm()`; called in
        // process context (ioctl), where `mmput()` may sleep.
        unsafe { bindings::mmput(self.0.as_ptr()) };
    }
}

/// An order-0 folio handed to us by mm: read while it is being evicted,
/// written while it is being filled. It is only valid during that callback.
/// What keeps it there is structural: a `Folio` is made only by the
/// callback trampolines below (`new` is private), is neither `Clone` nor
/// `Send` (it holds a raw pointer), and is lent to the callback by
/// reference, so the callback cannot keep it. The lifetime `'a` names the
/// callback's borrow in signatures; it does not by itself bound anything.
pub(crate) struct Folio<'a> {
    ptr: NonNull<bindings::folio>,
    _callback: PhantomData<&'a mut bindings::folio>,
}

impl<'a> Folio<'a> {
    /// # Safety
    ///
    /// `ptr` is a valid order-0 folio for `'a`, that nobody writes during
    /// `'a` but through the returned `Folio`, and that nobody reads during
    /// `'a` if it is written through it.
    unsafe fn new(ptr: NonNull<bindings::folio>) -> Self {
        Self {
            ptr,
            _callback: PhantomData,
        }
    }

    /// Runs `f` on the page mapped into the kernel.
    fn with_mapped<R>(&self, f: impl FnOnce(*mut PageBytes) -> R) -> R {
        // SAFETY: `self.ptr` is a valid order-0 folio (see `new`), so offset
        // 0 maps its only page, `PAGE_SIZE` bytes.
        let addr = unsafe { bindings::kmap_local_folio(self.ptr.as_ptr(), 0) };
        let r = f(addr.cast());
        // SAFETY: unmaps the mapping made above, the only one of this
        // function, in reverse order as `kmap_local` requires.
        unsafe { bindings::kunmap_local(addr) };
        r
    }

    /// Runs `f` on the content of the folio.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&PageBytes) -> R) -> R {
        // SAFETY: the mapping is valid for `PAGE_SIZE` bytes during `f`;
        // nobody writes the folio meanwhile (see `new`, and writes through
        // `self` need `&mut self`).
        self.with_mapped(|p| f(unsafe { &*p }))
    }

    /// Runs `f` on the content of the folio, for writing.
    pub(crate) fn write<R>(&mut self, f: impl FnOnce(&mut PageBytes) -> R) -> R {
        // SAFETY: as in `read`; `&mut self` is the only access to it.
        self.with_mapped(|p| f(unsafe { &mut *p }))
    }
}

/// The filler of lazy entries: there is one per system.
pub(crate) trait Filler: Send + Sync + 'static {
    /// Copies the content of page `index` into `folio` if it is at hand.
    /// Never waits for I/O: when the content is not at hand it makes sure
    /// it is on its way and returns `EAGAIN`, and mm calls [`Filler::wait`].
    /// Process context with the mmap_lock of the faulting mm held for read,
    /// or only the faulting VMA read-locked: may sleep briefly (allocate,
    /// take a mutex). `ENOMEM` fails the fault with OOM, any other error
    /// with SIGBUS.
    fn fill(&self, index: u64, folio: &mut Folio<'_>) -> Result;

    /// Sleeps until the content of page `index` may be at hand, after
    /// [`Filler::fill`] returned `EAGAIN` for it: killable, and freezable if
    /// `freezable` (the fault holds no lock then). `EINTR` on a fatal
    /// signal; `Ok` may be spurious (mm asks `fill` again).
    fn wait(&self, index: u64, freezable: bool) -> Result;
}

/// `struct lazy_entry_ops::fill` calling `F::fill`.
///
/// # Safety
///
/// `data` is the `F` registered with the ops table by
/// [`Registration::register`]; `folio` is a valid order-0 folio that
/// nobody else can access during the call (`do_lazy_page()`).
unsafe extern "C" fn fill_trampoline<F: Filler>(
    data: *mut c_void,
    index: c_ulong,
    folio: *mut bindings::folio,
) -> c_int {
    // SAFETY: see the function's safety section: the registration keeps
    // the `F` alive while mm may call.
    let filler = unsafe { &*data.cast::<F>() };
    from_result(|| {
        // SAFETY: `do_lazy_page()` hands us a valid order-0 folio that
        // nobody else can access until we return (see above).
        let mut folio = unsafe { Folio::new(NonNull::new(folio).ok_or(EINVAL)?) };
        filler.fill(index as u64, &mut folio)?;
        Ok(0)
    })
}

/// `struct lazy_entry_ops::wait` calling `F::wait`.
///
/// # Safety
///
/// `data` is the `F` registered with the ops table by
/// [`Registration::register`].
unsafe extern "C" fn wait_trampoline<F: Filler>(
    data: *mut c_void,
    index: c_ulong,
    freezable: bool,
) -> c_int {
    // SAFETY: see the function's safety section.
    let filler = unsafe { &*data.cast::<F>() };
    from_result(|| {
        filler.wait(index as u64, freezable)?;
        Ok(0)
    })
}

/// The ops table of filler `F`.
struct Ops<F>(PhantomData<F>);

impl<F: Filler> Ops<F> {
    /// The table, owned by this module. A constant: every use of
    /// `&Ops::<F>::TABLE` is the same read-only static, which mm may keep.
    const TABLE: bindings::lazy_entry_ops = bindings::lazy_entry_ops {
        owner: crate::THIS_MODULE.as_ptr(),
        fill: Some(fill_trampoline::<F>),
        wait: Some(wait_trampoline::<F>),
    };
}

/// The registration of a filler; unregistered on drop.
///
/// mm hands the filler to every call (the `data` of
/// `lazy_entry_register_ops()`): the filler is the fault path's context,
/// and no global of the module is needed to reach it.
pub(crate) struct Registration<F: Filler> {
    /// The table registered: unregistering names it.
    ops: &'static bindings::lazy_entry_ops,
    /// What `data` points to, dropped after unregistering.
    _filler: Arc<F>,
}

// SAFETY: `ops` is a read-only table (function pointers and the module),
// which mm reads from any CPU; `F` is `Send + Sync`.
unsafe impl<F: Filler> Send for Registration<F> {}
// SAFETY: as above; `&Registration` allows nothing.
unsafe impl<F: Filler> Sync for Registration<F> {}

impl<F: Filler> Registration<F> {
    /// Makes `filler` the system's filler; `EBUSY` if there is another one.
    pub(crate) fn register(filler: Arc<F>) -> Result<Self> {
        let ops = &Ops::<F>::TABLE;
        let data = core::ptr::from_ref::<F>(&filler)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `ops` is static, its `owner` is this module and its
        // trampolines are those of `F`; `data` is an `F` that the
        // registration keeps alive until mm is done with it (`drop`).
        to_result(unsafe { bindings::lazy_entry_register_ops(ops, data) })?;
        Ok(Self {
            ops,
            _filler: filler,
        })
    }
}

impl<F: Filler> Drop for Registration<F> {
    fn drop(&mut self) {
        // While lazy entries may exist mm pins the module, which cannot
        // get here then. Unregistering waits for the faults still in the
        // filler, after which mm no longer uses `self.filler`.
        // SAFETY: `self.ops` was registered by `register`.
        unsafe { bindings::lazy_entry_unregister_ops(self.ops) };
    }
}

/// What [`unuse`] fills: the content at hand, without fetching anything.
pub(crate) trait LocalFill: Sync + 'static {
    /// Whether the content of page `index` is at hand. Must not wait for
    /// I/O.
    fn at_hand(&self, index: u64) -> bool;

    /// Copies the content of page `index` into `folio` if it is at hand;
    /// any error leaves the entry as it is. Must not wait for I/O.
    fn fill_local(&self, index: u64, folio: &mut Folio<'_>) -> Result;
}

/// `struct lazy_unuse_ops::at_hand` calling `L::at_hand`.
///
/// # Safety
///
/// `data` is the `&L` passed to `lazy_entry_unuse()` by [`unuse`].
unsafe extern "C" fn at_hand_trampoline<L: LocalFill>(data: *mut c_void, index: c_ulong) -> bool {
    // SAFETY: see the function's safety section: `unuse` borrows the `L`
    // for the whole walk.
    let local = unsafe { &*data.cast::<L>() };
    local.at_hand(index as u64)
}

/// `struct lazy_unuse_ops::fill` calling `L::fill_local`.
///
/// # Safety
///
/// `data` is the `&L` passed to `lazy_entry_unuse()` by [`unuse`]; `folio`
/// is a valid order-0 folio that nobody else can access during the call.
unsafe extern "C" fn fill_local_trampoline<L: LocalFill>(
    data: *mut c_void,
    index: c_ulong,
    folio: *mut bindings::folio,
) -> c_int {
    // SAFETY: see the function's safety section.
    let local = unsafe { &*data.cast::<L>() };
    from_result(|| {
        // SAFETY: `lazy_entry_unuse()` hands us a valid order-0 folio that
        // nobody else can access until we return.
        let mut folio = unsafe { Folio::new(NonNull::new(folio).ok_or(EINVAL)?) };
        local.fill_local(index as u64, &mut folio)?;
        Ok(0)
    })
}

/// The callbacks of `lazy_entry_unuse()` for `L`.
struct UnuseOps<L>(PhantomData<L>);

impl<L: LocalFill> UnuseOps<L> {
    const OPS: bindings::lazy_unuse_ops = bindings::lazy_unuse_ops {
        at_hand: Some(at_hand_trampoline::<L>),
        fill: Some(fill_local_trampoline::<L>),
    };
}

/// What a walk of [`unuse`] did.
pub(crate) struct Unused {
    /// Entries replaced by a page.
    pub(crate) filled: u64,
    /// Entries left: none means that no lazy entry exists any more.
    pub(crate) left: u64,
}

/// Replaces every lazy entry, in every mm, whose content `local` has at
/// hand by a page with that content (`lazy_entry_unuse()`), and counts the
/// entries left. Process context (a kernel thread); takes mmap_locks for
/// read.
pub(crate) fn unuse<L: LocalFill>(local: &L) -> Result<Unused> {
    let data = core::ptr::from_ref::<L>(local).cast_mut().cast::<c_void>();
    let mut left: c_ulong = 0;
    // SAFETY: the callbacks are those of `L`, and `data` is the `L` they
    // are written for, borrowed for the whole call; `left` is a valid
    // `unsigned long` to write.
    let n = unsafe { bindings::lazy_entry_unuse(&UnuseOps::<L>::OPS, data, &mut left) };
    if n < 0 {
        return Err(Error::from_errno(n as c_int));
    }
    Ok(Unused {
        filled: n as u64,
        left: left as u64,
    })
}

/// What [`evict_range`] did, as counted by mm.
pub(crate) type EvictStats = bindings::lazy_evict_stats;

/// Where [`evict_range`] puts the pages it evicts.
pub(crate) trait EvictStore {
    /// Saves the content of `folio` and returns the index its lazy entry
    /// will carry. Atomic context (a page table lock is held): must not
    /// sleep. An error stops the eviction; the page stays mapped.
    fn store(&mut self, folio: &Folio<'_>) -> Result<u64>;
}

/// `lazy_evict_store_t` calling `S::store`.
///
/// # Safety
///
/// `ctx` is the `&mut S` given to `lazy_entry_evict_range()` by
/// [`evict_range`]; `index` is writable; `folio` is a valid order-0 folio
/// that nobody writes during the call: mm locked it, cleared and flushed
/// its PTE in the mm being evicted, and checked that its only references
/// are its mappings (no GUP pin or DMA). Any other mapping (a page
/// shared copy-on-write after a fork, with `shared`) is read-only, and
/// the folio lock keeps copy-on-write from reusing the page in place.
unsafe extern "C" fn store_trampoline<S: EvictStore>(
    ctx: *mut c_void,
    folio: *mut bindings::folio,
    index: *mut c_ulong,
) -> c_int {
    // SAFETY: see the function's safety section; `evict_range` holds the
    // only reference to the store during the call.
    let store = unsafe { &mut *ctx.cast::<S>() };
    from_result(|| {
        // SAFETY: the folio is valid and nobody writes it during the call
        // (see the safety section); it is only read here.
        let folio = unsafe { Folio::new(NonNull::new(folio).ok_or(EINVAL)?) };
        let i = store.store(&folio)?;
        // SAFETY: `index` is writable (see the safety section).
        unsafe { *index = i as c_ulong };
        Ok(0)
    })
}

/// Turns the private anonymous pages of `[start, end)` in `mm` into lazy
/// entries, handing each page to `store`. With `shared`, pages shared
/// copy-on-write with other processes are evicted too, once: every mapping
/// of such a page, in any process, gets the same shared entry. Counts are
/// added to `stats`.
pub(crate) fn evict_range<S: EvictStore>(
    mm: &TaskMm,
    start: usize,
    end: usize,
    shared: bool,
    store: &mut S,
    stats: &mut EvictStats,
) -> Result {
    let flags = if shared {
        bindings::LAZY_EVICT_SHARED
    } else {
        0
    };
    // SAFETY: `mm` holds a reference on the mm; `store` outlives the call
    // and is passed with the trampoline of its own type; `stats` is valid.
    to_result(unsafe {
        bindings::lazy_entry_evict_range(
            mm.0.as_ptr(),
            start as c_ulong,
            end as c_ulong,
            flags,
            Some(store_trampoline::<S>),
            (store as *mut S).cast(),
            stats,
        )
    })
}
