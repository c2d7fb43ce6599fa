// SPDX-License-Identifier: GPL-2.0

//! The fault side of lazy entries: the module's filler. A fault on a lazy
//! entry asks the backend for the page, checks its SHA-256 before mm maps
//! it, retries a corrupted page a few times and then gives up (SIGBUS), and
//! handles an unreachable backend by the policy the user chose: `block`
//! (retry until it answers; the faulting task stays killable) or `sigbus`
//! (give up after a deadline).

use core::ptr;
use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use kernel::time::{msecs_to_jiffies, Ktime};

use crate::abi;
use crate::lazy_entry::{Filler, Folio, Ops};
use crate::page_store::PageStore;
use crate::sha256;
use crate::stats::STATS;

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

/// A page whose content does not match its hash is fetched this many times
/// before the fault fails.
const INTEGRITY_ATTEMPTS: u32 = 3;
/// Pause before asking an unreachable backend again: doubles from the first
/// to the second value.
const RETRY_MIN_MS: u32 = 10;
const RETRY_MAX_MS: u32 = 1000;
/// Default deadline of the `sigbus` policy.
pub(crate) const DEFAULT_DEADLINE_MS: u32 = 10_000;

/// What to do while the backend does not answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Retry until it answers.
    Block,
    /// Retry until the deadline, then fail the fault with SIGBUS.
    Sigbus { deadline_ms: u32 },
}

static POLICY: AtomicU32 = AtomicU32::new(abi::POLICY_BLOCK);
static DEADLINE_MS: AtomicU32 = AtomicU32::new(DEFAULT_DEADLINE_MS);

/// Sets the policy for an unreachable backend.
pub(crate) fn set_policy(p: Policy) {
    match p {
        Policy::Block => POLICY.store(abi::POLICY_BLOCK, Ordering::Relaxed),
        Policy::Sigbus { deadline_ms } => {
            DEADLINE_MS.store(deadline_ms, Ordering::Relaxed);
            POLICY.store(abi::POLICY_SIGBUS, Ordering::Relaxed);
        }
    }
}

/// The policy for an unreachable backend.
pub(crate) fn policy() -> Policy {
    if POLICY.load(Ordering::Relaxed) == abi::POLICY_SIGBUS {
        Policy::Sigbus {
            deadline_ms: DEADLINE_MS.load(Ordering::Relaxed),
        }
    } else {
        Policy::Block
    }
}

/// The page store, while the module is loaded.
static STORE: AtomicPtr<PageStore> = AtomicPtr::new(ptr::null_mut());

/// The page store; `ENODEV` before module init or after exit.
pub(crate) fn store() -> Result<&'static PageStore> {
    let p = STORE.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was set by `Backends::install` from a
    // pinned box that it frees only after clearing the pointer, once the
    // control device, the debugfs files and the filler are gone: no ioctl,
    // no debugfs read and no fill (the users of the reference) can still
    // run then.
    unsafe { p.as_ref() }.ok_or(ENODEV)
}

/// Owns the page store and makes it reachable from the filler.
pub(crate) struct Backends {
    _store: Pin<KBox<PageStore>>,
}

impl Backends {
    /// Creates the page store and publishes it to the filler.
    pub(crate) fn install() -> Result<Self> {
        let store = KBox::pin_init(PageStore::new(), GFP_KERNEL)?;
        STORE.store(ptr::from_ref(&*store).cast_mut(), Ordering::Release);
        Ok(Self { _store: store })
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        STORE.store(ptr::null_mut(), Ordering::Release);
    }
}

/// The module's filler.
pub(crate) struct LazyFiller;

/// The ops table registered with mm.
pub(crate) static OPS: Ops = Ops::new::<LazyFiller>();

impl Filler for LazyFiller {
    fn fill(index: u64, _addr: usize, folio: &mut Folio) -> Result {
        let f = &STATS.fault;
        f.fills.inc();
        let start = Ktime::ktime_get();
        let r = fill_page(index, folio, start);
        match r {
            Ok(()) => {
                f.served.inc();
                f.bytes.add(kernel::page::PAGE_SIZE as u64);
                f.latency.record(elapsed_ms_ns(start).1);
            }
            Err(e) if e == EINTR => f.interrupted.inc(),
            Err(_) => {}
        }
        r
    }
}

/// Milliseconds and nanoseconds since `start`.
fn elapsed_ms_ns(start: Ktime) -> (i64, u64) {
    let ns = (Ktime::ktime_get() - start).to_ns().max(0);
    (ns / 1_000_000, ns as u64)
}

fn fatal_signal_pending() -> bool {
    // SAFETY: `get_current()` is the running task, valid during the call.
    unsafe { bindings::fatal_signal_pending(bindings::get_current()) != 0 }
}

/// Sleeps `ms` milliseconds or until a fatal signal.
fn sleep_killable(ms: u32) {
    // SAFETY: process context (a page fault or GUP), where sleeping is
    // allowed; the task state is set by the callee.
    unsafe { bindings::schedule_timeout_killable(msecs_to_jiffies(ms) as _) };
}

/// Time left before the `sigbus` policy gives up, in milliseconds, or
/// `None` under `block`.
fn time_left_ms(start: Ktime) -> Option<i64> {
    match policy() {
        Policy::Block => None,
        Policy::Sigbus { deadline_ms } => Some(i64::from(deadline_ms) - elapsed_ms_ns(start).0),
    }
}

fn fill_page(index: u64, folio: &mut Folio, start: Ktime) -> Result {
    let f = &STATS.fault;
    let backend = store()?;
    let mut bad_hashes = 0;
    let mut pause_ms = RETRY_MIN_MS;
    loop {
        if fatal_signal_pending() {
            return Err(EINTR);
        }
        // One attempt never outlasts the deadline of the policy.
        let budget_ms = time_left_ms(start).map(|left| left.clamp(1, i64::from(u32::MAX)) as u32);
        match backend.fetch(index, folio, budget_ms) {
            Ok(None) => return Ok(()),
            Ok(Some(expected)) => {
                if folio.read(|page| sha256::digest(page)) == expected {
                    return Ok(());
                }
                f.hash_mismatches.inc();
                bad_hashes += 1;
                if bad_hashes >= INTEGRITY_ATTEMPTS {
                    f.failed_integrity.inc();
                    if LOG_LIMIT.allow() {
                        pr_err!("page {index}: content does not match its hash {bad_hashes} times, giving up (SIGBUS)\n");
                    }
                    return Err(EIO);
                }
            }
            Err(FetchError::NoSuchPage) => {
                f.failed_missing.inc();
                if LOG_LIMIT.allow() {
                    pr_err!("page {index}: not in the backend (SIGBUS)\n");
                }
                return Err(EIO);
            }
            Err(FetchError::Failed(e)) => {
                f.failed_backend.inc();
                if LOG_LIMIT.allow() {
                    pr_err!("page {index}: the backend failed ({e:?}) (SIGBUS)\n");
                }
                return Err(EIO);
            }
            Err(FetchError::NoMemory) => return Err(ENOMEM),
            Err(FetchError::Unreachable) => {
                f.retries.inc();
                let mut pause = pause_ms;
                if let Some(left) = time_left_ms(start) {
                    if left <= 0 {
                        f.failed_deadline.inc();
                        if LOG_LIMIT.allow() {
                            let waited = elapsed_ms_ns(start).0;
                            pr_err!("page {index}: backend unreachable for {waited} ms, giving up (policy sigbus)\n");
                        }
                        return Err(EIO);
                    }
                    pause = pause.min(left as u32);
                }
                sleep_killable(pause);
                pause_ms = (pause_ms * 2).min(RETRY_MAX_MS);
            }
        }
    }
}

/// At most one log line per interval: a failing backend faults many pages.
struct RateLimit {
    last_ms: AtomicI64,
}

/// Interval of [`RateLimit`].
const LOG_INTERVAL_MS: i64 = 5000;

static LOG_LIMIT: RateLimit = RateLimit {
    last_ms: AtomicI64::new(i64::MIN),
};

impl RateLimit {
    fn allow(&self) -> bool {
        let now = Ktime::ktime_get().to_ms();
        let last = self.last_ms.load(Ordering::Relaxed);
        (last == i64::MIN || now - last >= LOG_INTERVAL_MS)
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}
