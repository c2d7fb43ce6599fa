// SPDX-License-Identifier: GPL-2.0

//! A minimal safe wrapper around `misc_register()` for an ioctl-only
//! character device (6.12 has no Rust misc device abstraction).

use core::pin::Pin;
use kernel::ffi::{c_long, c_uint, c_ulong};

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::uaccess::UserPtr;

/// What a misc device does with the requests of userspace.
pub(crate) trait MiscDevice: Sync + Send + Sized {
    /// Handles `ioctl(fd, cmd, arg)` on an open file of the device. The
    /// returned value is what the system call returns.
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize>;
}

/// The pinned state C points at: the `miscdevice`, its `file_operations`
/// and the device's data.
struct Inner<T: MiscDevice> {
    misc: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
    data: T,
}

/// A registered misc device; dropping it deregisters the device.
pub(crate) struct Registration<T: MiscDevice> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: after registration the C structures are only touched by the misc
// core under its own lock, and `T` is `Send`.
unsafe impl<T: MiscDevice> Send for Registration<T> {}
// SAFETY: shared access only reads `data`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for Registration<T> {}

impl<T: MiscDevice> Registration<T> {
    /// Registers `/dev/<name>` (mode 0600, dynamic minor) served by `data`.
    /// Files opened on it hold a reference on `module`, so the registration
    /// outlives every open file.
    pub(crate) fn register(
        name: &'static CStr,
        data: T,
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

/// `file_operations.unlocked_ioctl` of every [`Registration<T>`].
///
/// # Safety
///
/// Called by the VFS on a file opened through a [`Registration<T>`].
unsafe extern "C" fn ioctl_callback<T: MiscDevice>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `file` is valid for the duration of the call, and misc_open()
    // stored the `miscdevice` of the registration in its `private_data`.
    let misc = unsafe { (*file).private_data }.cast::<bindings::miscdevice>();
    // SAFETY: that `miscdevice` is the `misc` field of an `Inner<T>`
    // (`Opaque` is transparent). The open file holds a reference on the
    // module (`fops.owner`), so the registration, dropped only at module
    // exit, is alive.
    let inner = unsafe {
        &*kernel::container_of!(misc.cast::<Opaque<bindings::miscdevice>>(), Inner<T>, misc)
    };
    match inner.data.ioctl(cmd, arg as UserPtr) {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
