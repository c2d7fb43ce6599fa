// SPDX-License-Identifier: GPL-2.0

//! Kernel threads: a [`Kthread`] runs a [`Worker`] until it is dropped,
//! which stops the thread and waits for it (`kthread_stop()`). The threads
//! are freezable: they stop during suspend and hibernation at their idle
//! sleeps ([`super::wait::Sleep::Idle`]) and go on after.

use core::ptr::NonNull;

use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::time::msecs_to_jiffies;

/// What a kernel thread runs.
pub(crate) trait Worker: Send + Sync + 'static {
    /// The thread's work: returns once [`should_stop`] is true, checking it
    /// at least every few hundred milliseconds.
    fn run(&self);
}

/// Whether the calling kernel thread is asked to stop. Only meaningful in a
/// [`Worker::run`].
pub(crate) fn should_stop() -> bool {
    // SAFETY: called on a kernel thread made by `kthread_create_on_node()`
    // (the only callers are `Worker::run` implementations).
    unsafe { bindings::kthread_should_stop() }
}

/// A running kernel thread; stopped and waited for on drop.
pub(crate) struct Kthread<W: Worker> {
    task: NonNull<bindings::task_struct>,
    /// Keeps the worker alive until the thread is gone.
    _worker: Arc<W>,
}

// SAFETY: the handle only stops the thread, which any task may do.
unsafe impl<W: Worker> Send for Kthread<W> {}
// SAFETY: as above; `&Kthread` allows nothing.
unsafe impl<W: Worker> Sync for Kthread<W> {}

/// The thread function: runs the worker, then waits to be stopped.
///
/// # Safety
///
/// `data` is the `W` of an `Arc<W>` held by the [`Kthread`] that created
/// the thread, until `kthread_stop()` has returned.
unsafe extern "C" fn thread_fn<W: Worker>(data: *mut c_void) -> c_int {
    // SAFETY: see the function's safety section: the `Arc` keeps `W` alive
    // for the whole life of the thread.
    let worker = unsafe { &*data.cast::<W>() };
    // SAFETY: called by the new kernel thread itself, as it must be.
    let _ = unsafe { bindings::set_freezable() };
    worker.run();
    // `kthread_stop()` needs the thread to still be there.
    while !should_stop() {
        // SAFETY: a kernel thread may sleep; it holds no lock here.
        unsafe { bindings::schedule_timeout_idle(msecs_to_jiffies(100) as _) };
    }
    0
}

impl<W: Worker> Kthread<W> {
    /// Starts a kernel thread named `name` running `worker.run()`.
    pub(crate) fn spawn(worker: Arc<W>, name: &'static CStr) -> Result<Self> {
        let data = core::ptr::from_ref::<W>(&worker)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `thread_fn::<W>` is given a `W` that `_worker` keeps alive
        // until `kthread_stop()` returned (in `drop`); the name format is a
        // plain "%s" with a NUL-terminated string.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(thread_fn::<W>),
                data,
                bindings::NUMA_NO_NODE,
                kernel::c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = NonNull::new(kernel::error::from_err_ptr(task)?).ok_or(ENOMEM)?;
        // SAFETY: `task` was just created and not started yet.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        Ok(Self {
            task,
            _worker: worker,
        })
    }
}

impl<W: Worker> Drop for Kthread<W> {
    fn drop(&mut self) {
        // SAFETY: the thread was created by `spawn` and is stopped only
        // here; `kthread_stop()` holds its own reference on the task while
        // it waits, and the thread only exits when asked to.
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
    }
}
