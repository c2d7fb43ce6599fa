// SPDX-License-Identifier: GPL-2.0

//! The fault side of lazy entries: the module's filler. A fault on a lazy
//! entry copies its page from the page store if it is at hand: a page of
//! the memory backend (checked against its SHA-256 before mm maps it, and
//! copied again a few times if it does not match), or a page the fetch
//! engine fetched (checked when it arrived). Otherwise it asks the engine
//! for the page's file and mm waits for it without the fault's lock
//! (`VM_FAULT_RETRY`): the fault does no network I/O. While the server
//! does not answer, the policy the user chose applies: `block` (wait; the
//! faulting task stays killable and freezable) or `sigbus` (give up after
//! a deadline, counted from the fault's first try).
//!
//! `fault` is the layer above `fetch`; it uses `fetch`, `store` and `sys`.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::time::Ktime;

use crate::fetch::{Engine, Requested};
use crate::shared::abi;
use crate::store::{FetchError, Found};
use crate::sys::debugfs::SeqBuf;
use crate::sys::lazy_entry::{self, Filler, Folio};
use crate::sys::sha256;
use crate::sys::wait::Sleep;

mod stats;

pub(crate) use stats::STATS;

/// A page whose content does not match its hash is fetched this many times
/// before the fault fails.
const INTEGRITY_ATTEMPTS: u32 = 3;
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

/// The policy, as the fault path reads it without a lock.
struct PolicyCell {
    /// `POLICY_BLOCK` or `POLICY_SIGBUS`.
    policy: AtomicU32,
    /// The deadline of `POLICY_SIGBUS`.
    deadline_ms: AtomicU32,
}

impl PolicyCell {
    /// `block`, the default.
    const fn new() -> Self {
        Self {
            policy: AtomicU32::new(abi::POLICY_BLOCK),
            deadline_ms: AtomicU32::new(DEFAULT_DEADLINE_MS),
        }
    }

    /// Sets `p`.
    fn set(&self, p: Policy) {
        match p {
            Policy::Block => self.policy.store(abi::POLICY_BLOCK, Ordering::Relaxed),
            Policy::Sigbus { deadline_ms } => {
                self.deadline_ms.store(deadline_ms, Ordering::Relaxed);
                self.policy.store(abi::POLICY_SIGBUS, Ordering::Relaxed);
            }
        }
    }

    /// The policy now.
    fn get(&self) -> Policy {
        if self.policy.load(Ordering::Relaxed) == abi::POLICY_SIGBUS {
            Policy::Sigbus {
                deadline_ms: self.deadline_ms.load(Ordering::Relaxed),
            }
        } else {
            Policy::Block
        }
    }
}

/// The faults waiting for a page, and since when: the `sigbus` deadline
/// and the latency count from a fault's first try, across its retries.
const WAITING_MAX: usize = 256;
/// How long a fault waits before it looks again while the memory backend
/// is offline (tests): there is no transfer to wait for.
const OFFLINE_PAUSE_MS: u32 = 100;

/// A page faults wait for.
#[derive(Clone, Copy)]
struct Waiting {
    index: u64,
    since: Ktime,
}

/// The pages faults wait for; when full, the oldest is forgotten.
struct WaitTable([Option<Waiting>; WAITING_MAX]);

impl WaitTable {
    /// Since when faults wait for `index`, noting `now` if they did not;
    /// and whether they did.
    fn since(&mut self, index: u64, now: Ktime) -> (Ktime, bool) {
        if let Some(w) = self.0.iter().flatten().find(|w| w.index == index) {
            return (w.since, true);
        }
        let slot = match self.0.iter().position(|w| w.is_none()) {
            Some(i) => i,
            None => (0..WAITING_MAX)
                .min_by_key(|&i| self.0[i].map_or(i64::MIN, |w| w.since.to_ns()))
                .unwrap_or(0),
        };
        self.0[slot] = Some(Waiting { index, since: now });
        (now, false)
    }

    /// Forgets `index`; returns since when faults waited for it.
    fn remove(&mut self, index: u64) -> Option<Ktime> {
        let slot = self
            .0
            .iter_mut()
            .find(|w| w.is_some_and(|w| w.index == index))?;
        slot.take().map(|w| w.since)
    }

    /// Whether no fault waits for any page.
    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Since when faults wait for `index`, if they do.
    fn get(&self, index: u64) -> Option<Ktime> {
        self.0
            .iter()
            .flatten()
            .find(|w| w.index == index)
            .map(|w| w.since)
    }
}

/// The module's filler: the fetch engine (and its page store), the pages
/// faults wait for and the policy. It is the data of the registration
/// with mm, which hands it to every fill and wait: the fault path needs
/// no global.
#[pin_data]
pub(crate) struct LazyFiller {
    engine: Arc<Engine>,
    #[pin]
    waiting: Mutex<WaitTable>,
    /// Whether `waiting` may hold an entry: a fault served at once (most
    /// of them) then skips its lock.
    anyone_waiting: AtomicBool,
    /// What to do while the backend does not answer.
    policy: PolicyCell,
    /// The log lines of failed faults.
    log_limit: RateLimit,
}

impl LazyFiller {
    /// The filler of the pages of `engine`, under the `block` policy.
    pub(crate) fn new(engine: Arc<Engine>) -> impl PinInit<Self> {
        pin_init!(Self {
            engine,
            waiting <- new_mutex!(WaitTable([None; WAITING_MAX])),
            anyone_waiting: AtomicBool::new(false),
            policy: PolicyCell::new(),
            log_limit: RateLimit::new(),
        })
    }

    /// Sets the policy for an unreachable backend.
    pub(crate) fn set_policy(&self, p: Policy) {
        self.policy.set(p);
    }

    /// The policy for an unreachable backend.
    pub(crate) fn policy(&self) -> Policy {
        self.policy.get()
    }

    /// Time left before the `sigbus` policy gives up on a page faults wait
    /// for since `since`, in milliseconds, or `None` under `block`.
    fn time_left_ms(&self, since: Ktime) -> Option<i64> {
        match self.policy() {
            Policy::Block => None,
            Policy::Sigbus { deadline_ms } => {
                Some(i64::from(deadline_ms) - (Ktime::ktime_get() - since).to_ms())
            }
        }
    }

    /// Page `index` is not at hand: a fault waits for it, unless the
    /// `sigbus` deadline passed since its first try.
    fn not_yet(&self, index: u64) -> Result {
        let f = &STATS;
        let now = Ktime::ktime_get();
        let (since, again) = {
            let mut waiting = self.waiting.lock();
            // Set under the lock, before the entry can be looked for.
            self.anyone_waiting.store(true, Ordering::Relaxed);
            waiting.since(index, now)
        };
        f.retries.inc();
        if !again {
            f.waited.inc();
        }
        if self.time_left_ms(since).is_some_and(|left| left <= 0) {
            self.forget(index);
            f.failed_deadline.inc();
            if self.log_limit.allow() {
                let waited = (now - since).to_ms();
                pr_err!("page {index}: backend unreachable for {waited} ms, giving up (policy sigbus)\n");
            }
            return Err(EIO);
        }
        Err(EAGAIN)
    }

    /// Page `index` was copied: counts it, with the time since the fault's
    /// first try.
    fn served(&self, index: u64, start: Ktime, fetched: bool) {
        let f = &STATS;
        // A first touch, if a recording of the working set runs.
        self.engine.touched(index);
        let since = self.forget(index);
        if fetched && since.is_none() {
            f.read_ahead_hits.inc();
        }
        f.served.inc();
        f.bytes.add(kernel::page::PAGE_SIZE as u64);
        let ns = (Ktime::ktime_get() - since.unwrap_or(start)).to_ns().max(0);
        f.latency.record(ns as u64);
    }

    /// Page `index` cannot be had: forgets that faults wait for it.
    fn give_up(&self, index: u64) -> Error {
        self.forget(index);
        EIO
    }

    /// Forgets that faults wait for `index`; returns since when they did.
    /// Takes the lock only if some fault waits for some page.
    fn forget(&self, index: u64) -> Option<Ktime> {
        if !self.anyone_waiting.load(Ordering::Relaxed) {
            return None;
        }
        let mut waiting = self.waiting.lock();
        let since = waiting.remove(index);
        if waiting.is_empty() {
            self.anyone_waiting.store(false, Ordering::Relaxed);
        }
        since
    }

    fn fill_page(&self, index: u64, folio: &mut Folio<'_>) -> Result {
        let f = &STATS;
        let start = Ktime::ktime_get();
        let store = self.engine.store();
        let take = self.engine.faults_take_pages();
        let mut bad_hashes = 0;
        loop {
            match store.copy(index, folio, take) {
                Ok(Found::Memory(None)) => {
                    self.served(index, start, false);
                    return Ok(());
                }
                Ok(Found::Memory(Some(expected))) => {
                    if folio.read(|page| sha256::digest(page)) == expected {
                        self.served(index, start, false);
                        return Ok(());
                    }
                    f.hash_mismatches.inc();
                    bad_hashes += 1;
                    if bad_hashes >= INTEGRITY_ATTEMPTS {
                        f.failed_integrity.inc();
                        if self.log_limit.allow() {
                            pr_err!("page {index}: content does not match its hash {bad_hashes} times, giving up (SIGBUS)\n");
                        }
                        return Err(self.give_up(index));
                    }
                }
                Ok(Found::Kept) => {
                    self.served(index, start, true);
                    return Ok(());
                }
                Ok(Found::Remote { chunk }) => match self.engine.request(index, chunk) {
                    Ok(Requested::Pending) => return self.not_yet(index),
                    // Arrived meanwhile: copy it.
                    Ok(Requested::Here) => {}
                    Err(e) => {
                        if e == ENOENT {
                            f.failed_missing.inc();
                        } else {
                            f.failed_integrity.inc();
                        }
                        if self.log_limit.allow() {
                            pr_err!("page {index}: its file cannot be had (SIGBUS)\n");
                        }
                        return Err(self.give_up(index));
                    }
                },
                Err(FetchError::Unreachable) => return self.not_yet(index),
                Err(FetchError::NoSuchPage) => {
                    f.failed_missing.inc();
                    if self.log_limit.allow() {
                        pr_err!("page {index}: not in the backend (SIGBUS)\n");
                    }
                    return Err(self.give_up(index));
                }
                Err(FetchError::Failed(e)) => {
                    f.failed_backend.inc();
                    if self.log_limit.allow() {
                        pr_err!("page {index}: the backend failed ({e:?}) (SIGBUS)\n");
                    }
                    return Err(self.give_up(index));
                }
                Err(FetchError::NoMemory) => return Err(ENOMEM),
            }
        }
    }
}

impl Filler for LazyFiller {
    fn fill(&self, index: u64, folio: &mut Folio<'_>) -> Result {
        STATS.fills.inc();
        self.engine.timeline().mark_once(abi::TL_FIRST_FAULT);
        self.fill_page(index, folio)
    }

    fn wait(&self, index: u64, freezable: bool) -> Result {
        let how = if freezable {
            Sleep::KillableFreezable
        } else {
            Sleep::Killable
        };
        // Never past the `sigbus` deadline: the next fill gives up.
        let since = self.waiting.lock().get(index);
        let timeout = since
            .and_then(|s| self.time_left_ms(s))
            .map(|left| left.clamp(0, i64::from(u32::MAX)) as u32);
        let r = match self.engine.store().file_of(index) {
            Some(file) => self.engine.wait(index, file, how, timeout),
            // The memory backend, offline: look again in a while.
            None => self.engine.pause(
                how,
                timeout.map_or(OFFLINE_PAUSE_MS, |t| t.min(OFFLINE_PAUSE_MS)),
            ),
        };
        if r.is_err() {
            STATS.interrupted.inc();
        }
        r
    }
}

/// At most one log line per interval: a failing backend faults many pages.
struct RateLimit {
    /// When the last line was logged (`i64::MIN`: never).
    last_ms: AtomicI64,
}

/// Interval of [`RateLimit`].
const LOG_INTERVAL_MS: i64 = 5000;

impl RateLimit {
    /// A limit that allows the first line.
    const fn new() -> Self {
        Self {
            last_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether a line may be logged now: if so, the interval starts again.
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

/// Writes the fault path's lines of the debugfs `stats`: its counters,
/// then the lazy entries outstanding.
pub(crate) fn render_stats(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    STATS.render(out)?;
    writeln!(out, "pages_outstanding {}", lazy_entry::entries_left())
}

/// Writes the policy lines of `filler` in the debugfs `stats`.
pub(crate) fn render_policy(filler: &LazyFiller, out: &mut SeqBuf<'_>) -> core::fmt::Result {
    let (policy, deadline) = match filler.policy() {
        Policy::Block => ("block", 0),
        Policy::Sigbus { deadline_ms } => ("sigbus", deadline_ms),
    };
    writeln!(out, "policy {policy}")?;
    writeln!(out, "policy_deadline_ms {deadline}")
}
