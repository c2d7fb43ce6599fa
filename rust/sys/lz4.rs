// SPDX-License-Identifier: GPL-2.0

//! LZ4 block decompression through the kernel's `lib/lz4`.

use kernel::bindings;

/// Decompresses the LZ4 block `src` into `dst`; returns the decompressed
/// length, or `None` if the block is malformed or does not fit in `dst`.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let src_len = i32::try_from(src.len()).ok()?;
    let dst_len = i32::try_from(dst.len()).ok()?;
    // SAFETY: `src` is valid for reads of `src_len` bytes and `dst` for
    // writes of `dst_len` bytes; `LZ4_decompress_safe` reads and writes
    // within those bounds whatever the block holds.
    let n = unsafe {
        bindings::LZ4_decompress_safe(
            src.as_ptr().cast(),
            dst.as_mut_ptr().cast(),
            src_len,
            dst_len,
        )
    };
    usize::try_from(n).ok()
}
