// SPDX-License-Identifier: GPL-2.0

//! Detached PKCS#7 signatures, checked by the kernel's own verifier
//! against its trusted keyrings (`certs/system_keyring.c`), as module
//! signatures are.

use kernel::bindings;
use kernel::error::Error;

/// Why the kernel did not accept a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No key of the trusted keyrings made it.
    UntrustedKey,
    /// A trusted key made it, but not over this data; or the key is
    /// revoked (blacklisted).
    Mismatch,
    /// Not a detached PKCS#7 signature over plain data (`id-data`) that
    /// the kernel can parse.
    Malformed,
    /// It uses an algorithm this kernel was built without.
    Unsupported,
    /// Another error (out of memory, for one).
    Other(Error),
}

/// Checks that `signature`, a detached PKCS#7 (CMS) `SignedData` in DER,
/// signs `data` with a key of the kernel's built-in or secondary trusted
/// keyring.
pub(crate) fn verify(data: &[u8], signature: &[u8]) -> Result<(), Rejection> {
    // `VERIFY_USE_SECONDARY_KEYRING` of <linux/verification.h>, the
    // secondary keyring and the built-in one it links to: a pointer cast
    // of 1, which bindgen does not translate.
    let keyring = 1usize as *mut bindings::key;
    // SAFETY: `data` and `signature` are valid for reads of their lengths
    // during the call, which keeps no pointer to them; `keyring` is one of
    // the values the function documents; there is no content callback, so
    // its context may be null.
    let ret = unsafe {
        bindings::verify_pkcs7_signature(
            data.as_ptr().cast(),
            data.len(),
            signature.as_ptr().cast(),
            signature.len(),
            keyring,
            bindings::key_being_used_for_VERIFYING_UNSPECIFIED_SIGNATURE,
            None,
            core::ptr::null_mut(),
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let is = |errno: u32| ret == -(errno as i32);
    Err(if is(bindings::ENOKEY) {
        Rejection::UntrustedKey
    } else if is(bindings::EKEYREJECTED) || is(bindings::EKEYREVOKED) {
        Rejection::Mismatch
    } else if is(bindings::EBADMSG) || is(bindings::EINVAL) || is(bindings::ENODATA) {
        Rejection::Malformed
    } else if is(bindings::ENOPKG) {
        Rejection::Unsupported
    } else {
        Rejection::Other(Error::from_errno(ret))
    })
}
