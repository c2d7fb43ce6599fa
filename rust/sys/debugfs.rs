// SPDX-License-Identifier: GPL-2.0

//! A minimal safe wrapper around debugfs for read-only text files backed by
//! `seq_file` (6.12 has no Rust debugfs abstraction).
//!
//! A file shows its context: the data pointer given to
//! `debugfs_create_file()`, which debugfs keeps in the inode's
//! `i_private` and `single_open()` in the `seq_file`. The directory owns
//! its files' contexts and releases them once the files are removed.
//!
//! As everywhere in the kernel, debugfs failures are not errors: a
//! directory or file that could not be created is simply absent.

use core::fmt;
use core::marker::PhantomData;
use kernel::ffi::{c_int, c_void};

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The context of a file: what it shows, produced again on every open.
pub(crate) trait Show: Send + Sync + 'static {
    /// Writes the text of the file.
    fn show(&self, out: &mut SeqBuf<'_>) -> fmt::Result;
}

/// The operations of the files that show a `T`.
struct ShowOps<T>(PhantomData<T>);

impl<T: Show> ShowOps<T> {
    /// The table. Files hold a reference on this module while open.
    const FOPS: bindings::file_operations = bindings::file_operations {
        owner: crate::THIS_MODULE.as_ptr(),
        open: Some(show_open::<T>),
        read: Some(bindings::seq_read),
        llseek: Some(bindings::seq_lseek),
        release: Some(bindings::single_release),
        // SAFETY: all-zeroes is a valid `file_operations` (no callbacks).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// The context of a file, as the pointer given to debugfs (from
/// `Arc::into_raw`) and the function that gives that reference back.
struct Context {
    ptr: *const c_void,
    release: unsafe fn(*const c_void),
}

/// Gives back the reference `ptr` on a `T` that `Arc::into_raw` made.
///
/// # Safety
///
/// `ptr` comes from `Arc::<T>::into_raw`, and nothing uses it after.
unsafe fn release_arc<T>(ptr: *const c_void) {
    // SAFETY: see the function's safety section.
    drop(unsafe { Arc::from_raw(ptr.cast::<T>()) });
}

/// A debugfs directory, removed with everything in it on drop.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
    /// The contexts of its files, released after the files are removed.
    contexts: KVec<Context>,
}

// SAFETY: the dentry is only passed to debugfs, which does its own locking;
// the contexts are references on `Send + Sync` data.
unsafe impl Send for Dir {}
// SAFETY: as above; `&Dir` allows nothing.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates the directory `name` at the debugfs root.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: `name` is a valid NUL-terminated string; a null parent
        // means the debugfs root.
        let dentry =
            unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        Self {
            dentry,
            contexts: KVec::new(),
        }
    }

    /// Adds a file `name` (mode 0444) that shows `ctx`. Without the memory
    /// to keep `ctx`, the file is absent, as after any debugfs failure.
    pub(crate) fn add_show_file<T: Show>(&mut self, name: &'static CStr, ctx: Arc<T>) {
        let ptr = Arc::into_raw(ctx).cast::<c_void>();
        let context = Context {
            ptr,
            release: release_arc::<T>,
        };
        if self.contexts.push(context, GFP_KERNEL).is_err() {
            // SAFETY: `ptr` is the reference made above, used by nothing.
            unsafe { release_arc::<T>(ptr) };
            return;
        }
        // SAFETY: `self.dentry` is a debugfs dentry or an error pointer,
        // both of which debugfs accepts. `ptr` is a `T` that `self` keeps
        // until the file is removed (`drop`), and `ShowOps::<T>::FOPS` is a
        // constant promoted to a static, whose `open` reads `i_private` as
        // a `T`.
        unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                0o444,
                self.dentry,
                ptr.cast_mut(),
                &ShowOps::<T>::FOPS,
            )
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: removes the directory created in `new`, recursively, once;
        // debugfs waits for in-flight file operations to finish, and fails
        // those of files still open from now on.
        unsafe { bindings::debugfs_remove(self.dentry) };
        for c in self.contexts.iter() {
            // SAFETY: `c.ptr` is the reference `add_show_file` made; its
            // file is removed and no operation of it runs any more.
            unsafe { (c.release)(c.ptr) };
        }
    }
}

/// The output buffer of a `seq_file` being filled by a [`Show`].
pub(crate) struct SeqBuf<'a>(&'a mut bindings::seq_file);

impl fmt::Write for SeqBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is the live `seq_file` of the current `show`
        // call and `s` is valid for `s.len()` bytes. On overflow seq_file
        // retries `show` with a larger buffer.
        let rc = unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

/// `single_open()` callback: shows the file's context.
///
/// # Safety
///
/// Called by `seq_read()` with a `seq_file` opened by [`show_open`] for a
/// file that shows a `T`.
unsafe extern "C" fn show_seq<T: Show>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is valid and exclusively ours during the call.
    let m = unsafe { &mut *m };
    // SAFETY: `show_open` passed the file's context, a `T`, as `private`.
    // The `Dir` keeps it until the file is removed, and removing it waits
    // for this read to finish.
    let ctx = unsafe { &*m.private.cast::<T>() };
    // A full buffer is detected by seq_file itself, which calls us again.
    let _ = ctx.show(&mut SeqBuf(m));
    0
}

/// `file_operations.open` of [`ShowOps<T>`].
///
/// # Safety
///
/// Called by the VFS with a valid inode and file of a file created by
/// [`Dir::add_show_file`] for a `T`.
unsafe extern "C" fn show_open<T: Show>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `inode` is valid; its `i_private` is the context given to
    // `debugfs_create_file()`. `file` is valid and being opened.
    unsafe { bindings::single_open(file, Some(show_seq::<T>), (*inode).i_private) }
}
