// SPDX-License-Identifier: GPL-2.0

//! The calling task: its capabilities, fatal signals, killable sleeps and
//! its signal mask.

use core::marker::PhantomData;

use kernel::bindings;
use kernel::time::msecs_to_jiffies;

/// Whether the caller may send UDP from the initial network namespace
/// (`CAP_NET_ADMIN`).
pub(crate) fn net_admin() -> bool {
    // SAFETY: `capable()` only reads the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) }
}

/// Whether the caller may change system-wide settings (`CAP_SYS_ADMIN`).
pub(crate) fn sys_admin() -> bool {
    // SAFETY: `capable()` only reads the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
}

/// Whether the calling task has been killed.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: `get_current()` is the running task, valid during the call.
    unsafe { bindings::fatal_signal_pending(bindings::get_current()) != 0 }
}

/// Sleeps `ms` milliseconds or until a fatal signal. Process context only
/// (a page fault, GUP or a system call), where sleeping is allowed.
pub(crate) fn sleep_killable(ms: u32) {
    // SAFETY: the callers are in process context (see above); the task
    // state is set by the callee.
    unsafe { bindings::schedule_timeout_killable(msecs_to_jiffies(ms) as _) };
}

/// Blocks every signal but SIGKILL while it lives, so that socket waits are
/// only interrupted by a fatal signal, as NFS's RPC waits once did
/// (`rpc_clnt_sigmask()`). Pending signals stay pending and are delivered
/// once the fault returns.
/// Not `Send`: the mask must be restored by the task that changed it.
pub(crate) struct OnlyFatalSignals {
    saved: bindings::sigset_t,
    _this_task: PhantomData<*mut ()>,
}

impl OnlyFatalSignals {
    /// Blocks every signal but SIGKILL of the calling task until dropped.
    pub(crate) fn new() -> Self {
        // SAFETY: all-zeroes is a valid (empty) signal set.
        let mut saved: bindings::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        let mut all: bindings::sigset_t = unsafe { core::mem::zeroed() };
        all.sig.iter_mut().for_each(|w| *w = !0);
        // The in-kernel sigprocmask() takes the set as it is: SIGKILL must
        // stay deliverable, or a killed task would wait forever.
        all.sig[0] &= !(1 << (bindings::SIGKILL - 1));
        // SAFETY: changes the calling task's own mask and saves the old one
        // in `saved`; both sets are valid for the call.
        unsafe { bindings::sigprocmask(bindings::SIG_SETMASK as i32, &mut all, &mut saved) };
        Self {
            saved,
            _this_task: PhantomData,
        }
    }
}

impl Drop for OnlyFatalSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`, on the same task.
        unsafe {
            bindings::sigprocmask(
                bindings::SIG_SETMASK as i32,
                &mut self.saved,
                core::ptr::null_mut(),
            )
        };
    }
}
