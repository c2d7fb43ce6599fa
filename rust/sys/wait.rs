// SPDX-License-Identifier: GPL-2.0

//! Wait queues with the sleeps the kernel crate's `CondVar` of 6.12 does
//! not offer: killable and freezable (a fault waiting for a page, holding
//! no lock), killable only (the same fault holding its mmap_lock), and idle
//! and freezable with a timeout (a kernel thread waiting for work). A
//! fault's sleep counts as I/O wait. The condition is checked
//! after the task state is set, as `wait_event()` does, so it must not
//! sleep: it reads atomics.

use core::mem::MaybeUninit;

use kernel::bindings;
use kernel::ffi::c_long;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::time::msecs_to_jiffies;
use kernel::types::Opaque;

/// How a task sleeps in [`WaitQueue::wait_until`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Woken only by the condition or a fatal signal; not freezable: for a
    /// task that holds a lock others may need to freeze.
    Killable,
    /// Killable, and the freezer may freeze the task while it sleeps: for
    /// a task that holds no lock.
    KillableFreezable,
    /// A freezable kernel thread ([`super::kthread`]) waiting for work: no
    /// signal, not counted in the load average, frozen during suspend and
    /// hibernation.
    Idle,
}

impl Sleep {
    fn state(self) -> u32 {
        match self {
            Sleep::Killable => bindings::TASK_KILLABLE,
            Sleep::KillableFreezable => bindings::TASK_KILLABLE | bindings::TASK_FREEZABLE,
            Sleep::Idle => bindings::TASK_IDLE | bindings::TASK_FREEZABLE,
        }
    }
}

/// Why [`WaitQueue::wait_until`] returned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// The condition holds.
    Ready,
    /// The timeout passed first.
    TimedOut,
}

/// The lockdep class of a [`WaitQueue`]: a `lock_class_key` in static
/// storage, as lockdep wants it.
pub(crate) struct WaitKey(Opaque<bindings::lock_class_key>);

// SAFETY: lockdep owns the key's content and synchronizes its use.
unsafe impl Sync for WaitKey {}

impl WaitKey {
    /// A key; lockdep expects uninitialized memory for a static key.
    pub(crate) const fn new() -> Self {
        Self(Opaque::uninit())
    }
}

/// A `wait_queue_head`.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
}

// SAFETY: a wait queue is made to be used from any CPU; its list is
// protected by its own spinlock.
unsafe impl Send for WaitQueue {}
// SAFETY: as above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An empty wait queue; `name` and `key` are for lockdep.
    pub(crate) fn new(name: &'static CStr, key: &'static WaitKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writing, and the head stays where
            // it is (pinned) for as long as it is used; `name` and `key`
            // live forever.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.0.get())
            }),
        })
    }

    /// Sleeps as `how` says until `cond()` holds, for `timeout_ms` at most
    /// if given. `EINTR` on a fatal signal (killable sleeps). `cond` runs
    /// with the task state set: it must not sleep.
    pub(crate) fn wait_until(
        &self,
        how: Sleep,
        timeout_ms: Option<u32>,
        mut cond: impl FnMut() -> bool,
    ) -> Result<Woken> {
        let mut entry = MaybeUninit::<bindings::wait_queue_entry>::uninit();
        let entry = entry.as_mut_ptr();
        // SAFETY: `entry` is valid for writing; it stays on this stack
        // frame, unmoved, until `finish_wait()` below takes it off the
        // queue.
        unsafe { bindings::init_wait_entry(entry, 0) };
        let mut left: c_long =
            timeout_ms.map_or(c_long::MAX, |ms| msecs_to_jiffies(ms).max(1) as c_long);
        let woken = loop {
            // SAFETY: the head is initialized (`new`), `entry` too; this sets
            // the task state and queues `entry` if it is not queued yet.
            let rc = unsafe {
                bindings::prepare_to_wait_event(self.head.get(), entry, how.state() as i32)
            };
            if cond() {
                break Ok(Woken::Ready);
            }
            // Non-zero only for a state a signal can interrupt.
            if rc != 0 {
                break Err(EINTR);
            }
            if left == 0 {
                break Ok(Woken::TimedOut);
            }
            left = match how {
                // SAFETY: sleeping is allowed: callers are in process
                // context with no spinlock held (the state was set above).
                Sleep::Idle => unsafe { bindings::schedule_timeout(left) },
                // A fault waits for network I/O: accounted as I/O wait
                // (iowait, PSI io, delay accounting), like a swap-in read.
                // SAFETY: as above.
                _ => unsafe { bindings::io_schedule_timeout(left) },
            };
        };
        // SAFETY: the head and `entry` are the ones prepared above; this
        // sets the task running and unqueues `entry`.
        unsafe { bindings::finish_wait(self.head.get(), entry) };
        woken
    }

    /// Wakes every task waiting on the queue.
    pub(crate) fn wake_all(&self) {
        // SAFETY: the head is initialized; `__wake_up()` takes its lock.
        unsafe {
            bindings::__wake_up(
                self.head.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }
}
