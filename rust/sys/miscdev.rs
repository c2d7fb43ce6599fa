// SPDX-License-Identifier: GPL-2.0

//! A minimal safe wrapper around `misc_register()` for an ioctl-only
//! character device (6.12 has no Rust misc device abstraction).
//!
//! The device's data is its context: no global is needed to reach it.
//! As in 6.13's `MiscDeviceRegistration`, `open` finds the registration
//! from the `struct miscdevice` that `misc_open()` left in the file's
//! `private_data`, and replaces it by a reference on the data that the
//! file holds until it is released; every request borrows it.

use core::pin::Pin;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
use kernel::uaccess::UserPtr;

/// What a misc device does with the requests of userspace.
pub(crate) trait MiscDevice: Sync + Send + Sized {
    /// Handles `ioctl(fd, cmd, arg)` on an open file of the device. The
    /// returned value is what the system call returns.
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize>;
}

/// The pinned state C points at: the `miscdevice`, its `file_operations`
/// and the device's data, which each open file shares.
struct Inner<T: MiscDevice> {
    misc: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
    data: Arc<T>,
}

/// A registered misc device; dropping it deregisters the device.
pub(crate) struct Registration<T: MiscDevice> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: after registration the C structures are only touched by the misc
// core under its own lock, and `T` is `Send` and `Sync` (`Arc<T>` is
// `Send`).
unsafe impl<T: MiscDevice> Send for Registration<T> {}
// SAFETY: shared access only reads `data`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for Registration<T> {}

impl<T: MiscDevice> Registration<T> {
    /// Registers `/dev/<name>` (mode 0600, dynamic minor) served by `data`.
    /// Each open file holds a reference on `data`, and one on `module`
    /// (the code of its operations).
    pub(crate) fn register(
        name: &'static CStr,
        data: Arc<T>,
        module: &'static ThisModule,
    ) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                misc: Opaque::uninit(),
                fops: Opaque::uninit(),
                data,
            },
            GFP_KERNEL,
        )?;
        let fops = inner.fops.get();
        let misc = inner.misc.get();
        // SAFETY: `fops` and `misc` point into the pinned, freshly allocated
        // `inner` that nothing else references yet, so writing them is
        // exclusive. All-zeroes is a valid `file_operations` and
        // `miscdevice` (null pointers and `None` callbacks).
        unsafe {
            fops.write(core::mem::zeroed());
            (*fops).owner = module.as_ptr();
            (*fops).open = Some(open_callback::<T>);
            (*fops).release = Some(release_callback::<T>);
            (*fops).unlocked_ioctl = Some(ioctl_callback::<T>);
            misc.write(core::mem::zeroed());
            (*misc).minor = bindings::MISC_DYNAMIC_MINOR as i32;
            (*misc).name = name.as_char_ptr();
            (*misc).fops = fops;
            (*misc).mode = 0o600;
        }
        // SAFETY: `misc` is fully initialised, pinned and stays valid until
        // `misc_deregister()` in `drop`; on failure nothing is kept by C.
        to_result(unsafe { bindings::misc_register(misc) })?;
        Ok(Self { inner })
    }
}

impl<T: MiscDevice> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: the device was registered in `register` and is
        // deregistered exactly once, here.
        unsafe { bindings::misc_deregister(self.inner.misc.get()) };
    }
}

/// `file_operations.open` of every [`Registration<T>`]: the file takes a
/// reference on the registration's data, which its other operations
/// borrow.
///
/// # Safety
///
/// Called by `misc_open()` on a file being opened through a
/// [`Registration<T>`].
unsafe extern "C" fn open_callback<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `file` is valid and being opened; misc_open() stored the
    // `miscdevice` of the registration in its `private_data`.
    let misc = unsafe { (*file).private_data }.cast::<bindings::miscdevice>();
    // SAFETY: that `miscdevice` is the `misc` field of an `Inner<T>`
    // (`Opaque` is transparent), alive during the call: misc_open() holds
    // `misc_mtx`, which `misc_deregister()` takes before the registration
    // can go.
    let inner = unsafe {
        &*kernel::container_of!(misc.cast::<Opaque<bindings::miscdevice>>(), Inner<T>, misc)
    };
    let data = Arc::into_raw(inner.data.clone());
    // SAFETY: the file is being opened and its other operations are not
    // called yet; from now on `private_data` is the file's reference on
    // the data, given back by `release_callback`.
    unsafe { (*file).private_data = data.cast_mut().cast() };
    0
}

/// `file_operations.release` of every [`Registration<T>`]: drops the
/// file's reference on the data.
///
/// # Safety
///
/// Called by the VFS, once, on a file that [`open_callback`] opened.
unsafe extern "C" fn release_callback<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `private_data` is the reference `open_callback` took with
    // `Arc::into_raw`; release is the file's last operation, so nothing
    // borrows it any more.
    drop(unsafe { Arc::from_raw((*file).private_data.cast::<T>()) });
    0
}

/// `file_operations.unlocked_ioctl` of every [`Registration<T>`].
///
/// # Safety
///
/// Called by the VFS on a file that [`open_callback`] opened and that is
/// not released yet.
unsafe extern "C" fn ioctl_callback<T: MiscDevice>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `file` is valid for the duration of the call, and its
    // `private_data` is the reference on the data that `open_callback`
    // took and that `release_callback`, which cannot run before this
    // call returns, drops.
    let data = unsafe { &*(*file).private_data.cast::<T>() };
    match data.ioctl(cmd, arg as UserPtr) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
