// SPDX-License-Identifier: GPL-2.0

//! The CPU's cycle counter, the one clock that runs on across the jump
//! from the boot kernel to the restored one (both kernels' monotonic
//! clocks start anew: the boot kernel's at its boot, the restored kernel's
//! where the image's kernel left it).

use kernel::bindings;

/// The architecture's cycle counter (`get_cycles()`: the time-stamp
/// counter on x86), or `None` where the architecture has none.
pub(crate) fn cycles() -> Option<u64> {
    // SAFETY: `get_cycles()` reads a counter and has no other effect; it
    // may be called from any context.
    let c = unsafe { bindings::get_cycles() };
    // The architectures without a counter return 0 (`<asm-generic/timex.h>`).
    (c != 0).then_some(c)
}
