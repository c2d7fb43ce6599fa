// SPDX-License-Identifier: GPL-2.0

//! The calling task: its capabilities.

use kernel::bindings;

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
