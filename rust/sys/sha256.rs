// SPDX-License-Identifier: GPL-2.0

//! SHA-256 through the kernel's crypto library (`lib/crypto/sha256.c`).
//!
//! Not through the crypto API (`crypto_shash`): its x86 drivers are slower
//! than the library under emulation, and upstream's library has since taken
//! over the same x86 code (`Documentation/performance.rst`, *SHA-256: the
//! library against the crypto API*; `scripts/bench-sha256.sh`).

use kernel::bindings;

/// Length of a SHA-256 digest in bytes.
pub(crate) const DIGEST_LEN: usize = 32;

/// A running SHA-256 computation.
pub(crate) struct Sha256(bindings::sha256_state);

impl Sha256 {
    /// Starts a digest.
    pub(crate) fn new() -> Self {
        // SAFETY: all-zeroes is a valid `sha256_state`, which `sha256_init`
        // then initialises.
        let mut state: bindings::sha256_state = unsafe { core::mem::zeroed() };
        // SAFETY: `state` is a valid, exclusively owned `sha256_state`.
        unsafe { bindings::sha256_init(&mut state) };
        Self(state)
    }

    /// Adds `data` to the digest.
    pub(crate) fn update(&mut self, data: &[u8]) {
        for chunk in data.chunks(u32::MAX as usize) {
            // SAFETY: `self.0` is initialised; `chunk` is valid for its
            // length, which fits the `unsigned int` argument.
            unsafe { bindings::sha256_update(&mut self.0, chunk.as_ptr(), chunk.len() as u32) };
        }
    }

    /// Finishes the digest.
    pub(crate) fn finish(mut self) -> [u8; DIGEST_LEN] {
        let mut out = [0u8; DIGEST_LEN];
        // SAFETY: `self.0` is initialised and `out` holds a whole digest.
        unsafe { bindings::sha256_final(&mut self.0, out.as_mut_ptr()) };
        out
    }
}

/// The SHA-256 of `data`.
pub(crate) fn digest(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut d = Sha256::new();
    d.update(data);
    d.finish()
}
