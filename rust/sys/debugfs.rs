// SPDX-License-Identifier: GPL-2.0

//! A minimal safe wrapper around debugfs for read-only text files backed by
//! `seq_file` (6.12 has no Rust debugfs abstraction).
//!
//! As everywhere in the kernel, debugfs failures are not errors: a
//! directory or file that could not be created is simply absent.

use core::fmt;
use kernel::ffi::{c_int, c_void};

use kernel::bindings;
use kernel::prelude::*;

/// The function that produces the text of a file, on every open.
pub(crate) type ShowFn = fn(&mut SeqBuf<'_>) -> fmt::Result;

/// A `file_operations` table that is only ever read.
struct FileOps(bindings::file_operations);

// SAFETY: the table is immutable and only read by the VFS.
unsafe impl Sync for FileOps {}

/// The operations of every file made by [`Dir::add_show_file`]. They hold a
/// reference on this module while a file is open.
static SHOW_FOPS: FileOps = FileOps(bindings::file_operations {
    owner: crate::THIS_MODULE.as_ptr(),
    open: Some(show_open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    // SAFETY: all-zeroes is a valid `file_operations` (no callbacks).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// A debugfs directory, removed with everything in it on drop.
pub(crate) struct Dir(*mut bindings::dentry);

// SAFETY: the dentry is only passed to debugfs, which does its own locking.
unsafe impl Send for Dir {}
// SAFETY: as above; `&Dir` allows nothing but creating files.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates the directory `name` at the debugfs root.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: `name` is a valid NUL-terminated string; a null parent
        // means the debugfs root.
        Self(unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) })
    }

    /// Adds a file `name` (mode 0444) whose content is produced by `show`.
    pub(crate) fn add_show_file(&self, name: &'static CStr, show: ShowFn) {
        // SAFETY: `self.0` is a debugfs dentry or an error pointer, both of
        // which debugfs accepts; `show` is a plain function pointer that
        // lives as long as the module, and `SHOW_FOPS` is static.
        unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                0o444,
                self.0,
                show as *mut c_void,
                &SHOW_FOPS.0,
            )
        };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: removes the directory created in `new`, recursively, once;
        // debugfs waits for in-flight file operations to finish.
        unsafe { bindings::debugfs_remove(self.0) };
    }
}

/// The output buffer of a `seq_file` being filled by a [`ShowFn`].
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

/// `single_open()` callback: runs the file's [`ShowFn`].
///
/// # Safety
///
/// Called by `seq_read()` with a `seq_file` opened by [`show_open`].
unsafe extern "C" fn show_seq(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is valid and exclusively ours during the call.
    let m = unsafe { &mut *m };
    // SAFETY: `show_open` passed the file's `ShowFn` as `private`.
    let show: ShowFn = unsafe { core::mem::transmute::<*mut c_void, ShowFn>(m.private) };
    // A full buffer is detected by seq_file itself, which calls us again.
    let _ = show(&mut SeqBuf(m));
    0
}

/// `file_operations.open` of [`SHOW_FOPS`].
///
/// # Safety
///
/// Called by the VFS with a valid inode and file of a file created by
/// [`Dir::add_show_file`].
unsafe extern "C" fn show_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `inode` is valid; its `i_private` is the `ShowFn` given to
    // `debugfs_create_file()`. `file` is valid and being opened.
    unsafe { bindings::single_open(file, Some(show_seq), (*inode).i_private) }
}
