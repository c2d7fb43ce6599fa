// SPDX-License-Identifier: GPL-2.0

//! The fault side of lazy entries: the module's filler. A fault on a lazy
//! entry asks the backend for the page, checks its SHA-256 before mm maps
//! it, retries a corrupted page a few times and then gives up (SIGBUS), and
//! handles an unreachable backend by the policy the user chose: `block`
//! (retry until it answers; the faulting task stays killable) or `sigbus`
//! (give up after a deadline).
//!
//! `fault` is the layer above `store`; it uses `store` and `sys`.

use core::fmt::Write;
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use kernel::prelude::*;
use kernel::time::Ktime;

use crate::shared::abi;
use crate::store::{self, FetchError};
use crate::sys::debugfs::SeqBuf;
use crate::sys::lazy_entry::{self, Filler, Folio, Ops};
use crate::sys::sha256;
use crate::sys::task::{fatal_signal_pending, sleep_killable};

mod stats;

pub(crate) use stats::STATS;

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

/// The module's filler.
pub(crate) struct LazyFiller;

/// The ops table registered with mm.
pub(crate) static OPS: Ops = Ops::new::<LazyFiller>();

impl Filler for LazyFiller {
    fn fill(index: u64, _addr: usize, folio: &mut Folio<'_>) -> Result {
        let f = &STATS;
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

/// Time left before the `sigbus` policy gives up, in milliseconds, or
/// `None` under `block`.
fn time_left_ms(start: Ktime) -> Option<i64> {
    match policy() {
        Policy::Block => None,
        Policy::Sigbus { deadline_ms } => Some(i64::from(deadline_ms) - elapsed_ms_ns(start).0),
    }
}

fn fill_page(index: u64, folio: &mut Folio<'_>, start: Ktime) -> Result {
    let f = &STATS;
    let backend = store::get()?;
    let mut bad_hashes = 0;
    let mut pause_ms = RETRY_MIN_MS;
    loop {
        if fatal_signal_pending() {
            return Err(EINTR);
        }
        // One attempt never outlasts the deadline of the policy.
        let budget_ms = time_left_ms(start).map(|left| left.clamp(1, i64::from(u32::MAX)) as u32);
        let fetched = backend.fetch(index, folio, budget_ms).inspect(|fetched| {
            if fetched.read_ahead_hit {
                f.read_ahead_hits.inc();
            }
            f.read_ahead.add(fetched.read_ahead_kept);
        });
        match fetched.map(|fetched| fetched.expected) {
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

/// Writes the fault path's lines of the debugfs `stats`: its counters,
/// then the lazy entries outstanding.
pub(crate) fn render_stats(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    STATS.render(out)?;
    writeln!(out, "pages_outstanding {}", lazy_entry::entry_count())
}

/// Writes the policy lines of the debugfs `stats`.
pub(crate) fn render_policy(out: &mut SeqBuf<'_>) -> core::fmt::Result {
    let (policy, deadline) = match policy() {
        Policy::Block => ("block", 0),
        Policy::Sigbus { deadline_ms } => ("sigbus", deadline_ms),
    };
    writeln!(out, "policy {policy}")?;
    writeln!(out, "policy_deadline_ms {deadline}")
}
