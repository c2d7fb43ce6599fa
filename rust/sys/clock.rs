// SPDX-License-Identifier: GPL-2.0

//! The CPU's cycle counter, the one clock that runs on across the jump
//! from the boot kernel to the restored one (both kernels' monotonic
//! clocks start anew: the boot kernel's at its boot, the restored kernel's
//! where the image's kernel left it).

/// The time-stamp counter (`rdtsc`), or `None` on an architecture this
/// module does not read one on.
pub(crate) fn cycles() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` reads a counter and has no other effect; the
        // kernel runs at CPL 0, where it is always allowed.
        #[allow(unused_unsafe)]
        let c = unsafe { core::arch::x86_64::_rdtsc() };
        Some(c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}
