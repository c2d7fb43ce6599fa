// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers of the hibernation interfaces of the patch series: the
//! image loader (`hibernate_loader_*`, patch 0008), the page handed from
//! the restoring kernel to the restored one (patch 0009), and the strings
//! that identify this kernel build.

use core::ptr::addr_of;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::bindings;
use kernel::error::to_result;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

// The hand-off page (patch 0009) is built only with this option; without
// it, say so instead of failing on a missing binding.
#[cfg(not(CONFIG_HIBERNATION_HANDOFF))]
compile_error!("lazyresume needs CONFIG_HIBERNATION_HANDOFF=y (patch 0009)");

/// A hibernation image being loaded. Dropping it gives the load up.
pub(crate) struct Loader(());

impl Loader {
    /// Starts loading an image: `EBUSY` if another load or the snapshot
    /// device is in use.
    pub(crate) fn start() -> Result<Self> {
        // SAFETY: no preconditions; on success the load is ours until
        // `restore()` or `hibernate_loader_abort()` (in `drop`).
        to_result(unsafe { bindings::hibernate_loader_start() })?;
        Ok(Self(()))
    }

    /// Feeds the next bytes of the image.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result {
        // SAFETY: `data` is valid for reads of its length; a load is
        // active (`self` exists).
        to_result(unsafe { bindings::hibernate_loader_write(data.as_ptr().cast(), data.len()) })
    }

    /// Jumps to the loaded image. Returns only on failure, with the load
    /// ended and the system running as before.
    pub(crate) fn restore(self) -> Error {
        // The restore ends the load whatever happens: no abort on drop.
        core::mem::forget(self);
        // SAFETY: a load is active; on return it has been ended.
        let rc = unsafe { bindings::hibernate_loader_restore() };
        Error::from_errno(rc)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // SAFETY: a load is active and is ours (see `start`).
        unsafe { bindings::hibernate_loader_abort() };
    }
}

/// Serialises users of the hand-off page.
static HANDOFF_BUSY: AtomicBool = AtomicBool::new(false);

/// Runs `f` on the hand-off page (`EBUSY` if another caller is at it).
///
/// The page is exported to every module; this module assumes it is its
/// only user (the page has no other user in the kernel, and two
/// lazyresume modules cannot be loaded at once: both register the filler
/// of lazy entries). `HANDOFF_BUSY` serialises its own callers.
pub(crate) fn with_handoff<R>(f: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> Result<R> {
    if HANDOFF_BUSY.swap(true, Ordering::Acquire) {
        return Err(EBUSY);
    }
    // SAFETY: `hibernate_handoff_page()` returns a static, page-aligned
    // PAGE_SIZE buffer; `HANDOFF_BUSY` makes this the only reference.
    let page = unsafe { &mut *bindings::hibernate_handoff_page().cast::<[u8; PAGE_SIZE]>() };
    let r = f(page);
    HANDOFF_BUSY.store(false, Ordering::Release);
    Ok(r)
}

/// The bytes of a NUL-terminated C string array, without the NUL.
fn c_chars(a: &[u8]) -> &[u8] {
    let end = a.iter().position(|&c| c == 0).unwrap_or(a.len());
    &a[..end]
}

/// The release and version strings of this kernel build (`uname -r` and
/// `uname -v`), which identify it.
pub(crate) fn build_release_version() -> (&'static [u8], &'static [u8]) {
    // SAFETY: `init_uts_ns` is a static that lives as long as the kernel;
    // its release and version never change after boot. Only those two
    // fields are borrowed: the host and domain names next to them change
    // (sethostname()).
    let (release, version) = unsafe {
        (
            &*addr_of!(bindings::init_uts_ns.name.release),
            &*addr_of!(bindings::init_uts_ns.name.version),
        )
    };
    (c_chars(release), c_chars(version))
}
