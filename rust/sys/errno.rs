// SPDX-License-Identifier: GPL-2.0

//! Error codes the module uses that `kernel::error::code` of 6.12 lacks.

use kernel::bindings;
use kernel::error::Error;

fn code(errno: u32) -> Error {
    Error::from_errno(-(errno as i32))
}

/// Protocol error.
pub(crate) fn eproto() -> Error {
    code(bindings::EPROTO)
}

/// Connection (here: transfer) timed out.
pub(crate) fn etimedout() -> Error {
    code(bindings::ETIMEDOUT)
}

/// Message too long.
pub(crate) fn emsgsize() -> Error {
    code(bindings::EMSGSIZE)
}

/// Not a valid message (here: data that fails its checksum).
pub(crate) fn ebadmsg() -> Error {
    code(bindings::EBADMSG)
}

/// Stale handle (here: a hand-off from another kernel build).
pub(crate) fn estale() -> Error {
    code(bindings::ESTALE)
}

/// No data available (here: a page not held in memory).
pub(crate) fn enodata() -> Error {
    code(bindings::ENODATA)
}

/// Required key not available (here: an image not signed by a trusted
/// key).
pub(crate) fn enokey() -> Error {
    code(bindings::ENOKEY)
}

/// Key was rejected by service (here: a signature that does not match).
pub(crate) fn ekeyrejected() -> Error {
    code(bindings::EKEYREJECTED)
}

/// Address already in use.
pub(crate) fn eaddrinuse() -> Error {
    code(bindings::EADDRINUSE)
}

/// Whether `e` is a network error that may go away if the operation is
/// tried again: a timeout, an interruption, no route or no buffer space.
pub(crate) fn is_transient_net(e: Error) -> bool {
    [
        bindings::ETIMEDOUT,
        bindings::EINTR,
        bindings::ENETUNREACH,
        bindings::EHOSTUNREACH,
        bindings::ENETDOWN,
        bindings::ECONNREFUSED,
        bindings::EAGAIN,
        bindings::ENOBUFS,
    ]
    .iter()
    .any(|&n| e.to_errno() == -(n as i32))
}

/// Operation canceled (here: a transfer its receiver no longer wants).
pub(crate) fn ecanceled() -> Error {
    code(bindings::ECANCELED)
}
