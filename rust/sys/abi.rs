// SPDX-License-Identifier: GPL-2.0

//! The ioctl structures of `shared::abi` as plain bytes for the kernel:
//! its [`FromBytes`] and [`AsBytes`], which `UserSliceReader::read` and
//! `UserSliceWriter::write` need, so that `ctl` copies a request and its
//! answer as the structure itself. Userspace gets the same from the
//! `zerocopy` derives of `abi.rs`, which the module cannot use.
//!
//! Each structure is listed once below with all its fields; the macro
//! checks at compile time what its `unsafe impl`s rely on.

use core::mem::size_of;

use kernel::types::{AsBytes, FromBytes};

use crate::shared::abi;

/// The size of the field that `field` reads. It compiles only for a field
/// whose type is itself [`FromBytes`] and [`AsBytes`]: an integer, an
/// array of them or another structure of this file.
const fn field_size<S, F: FromBytes + AsBytes>(_field: fn(S) -> F) -> usize {
    size_of::<F>()
}

/// `plain_bytes!(Struct { field, ... } ...)`: checks that the list names
/// every field of `abi::Struct` (the pattern below has no `..`), that each
/// field is [`FromBytes`] and [`AsBytes`] and that the sizes of the fields
/// add up to the size of the structure, i.e. that it has no padding; then
/// implements [`FromBytes`] and [`AsBytes`] for it.
macro_rules! plain_bytes {
    ($($t:ident { $($f:ident),* $(,)? })*) => {$(
        const _: () = {
            let _every_field = |v: abi::$t| {
                let abi::$t { $($f: _),* } = v;
            };
            assert!(size_of::<abi::$t>() == 0 $(+ field_size(|v: abi::$t| v.$f))*);
        };
        // SAFETY: every field of the structure is `FromBytes` (checked
        // above), so any bit pattern of each field, and with no padding
        // (checked above) of the whole, is a valid value; no field has
        // interior mutability.
        unsafe impl FromBytes for abi::$t {}
        // SAFETY: every field is `AsBytes` (checked above) and the fields
        // fill the structure (checked above: no padding), so no byte of a
        // value is uninitialized; no field has interior mutability. No
        // field holds a kernel pointer (`PageHashes::hashes` and
        // `ReadPages::buf`, `Workingset::buf` are user addresses). The same is checked on the
        // host by zerocopy's `derive(IntoBytes)` in `abi.rs`, and the
        // layout against the C header by `tests/c_header.rs`.
        unsafe impl AsBytes for abi::$t {}
    )*};
}

plain_bytes! {
    Version { abi_major, abi_minor, features, version }
    TftpXfer {
        server, port, blksize, windowsize, flags, rto_ms, deadline_ms, filename, reserved,
        length, elapsed_ns, retransmits, blksize_used, windowsize_used, sha256,
    }
    Evict {
        start, length, seen, evicted, skipped_shared, skipped_locked, skipped_large,
        skipped_pinned, skipped_ksm, skipped_zero, skipped_other,
    }
    Policy { policy, deadline_ms }
    MemInject { offline, corrupt_fetches, flags, reserved }
    TftpBackend { server, port, blksize, rto_ms, flags, prefix, pages, elapsed_ns }
    EvictTask { pid, flags, range }
    PageHashes { first, count, hashes, total, remote }
    NetIdentity {
        ifname, mac, reserved, addr, netmask, gateway, server, port, reserved2, reserved3,
    }
    Resume {
        id, image, blksize, windowsize, rto_ms, deadline_ms, flags, reason, manifest_bytes,
        pageset1_bytes, elapsed_ns, min_generation, generation, verified, reserved,
    }
    Adopt { id, image, flags, reserved }
    Status {
        pages_outstanding, pages_fetched, bytes_fetched, fetch_failures, latency_count,
        latency_mean_ns, latency_max_ns, since_resume_ns, complete_after_ns, urgent_pages,
        urgent_bytes, urgent_p50_ns, urgent_p99_ns, background_pages, background_bytes,
        background_busy_ns, pages_installed, pages_local, background, rate_mib, server, port,
        flags, prefix,
    }
    ReadPages { first, count, buf }
    Background { mode, rate_mib }
    Workingset {
        op, flags, max_pages, max_ms, first, count, buf, recorded, loadset_pages,
        loadset_bytes, loadset, stream,
    }
    TimelineSample { t_ns, urgent_pages, workingset_pages, background_pages, installed_pages }
    Timeline {
        op, event, mark_ns, samples, count, total, period_ms, flags, known, event_ns,
    }
    Server { addr, port, returns }
    Mirrors { op, count, server, transfers, failovers }
}

/// The bytes of `v`, as `UserSliceWriter::write` copies them (the
/// `AsBytes::as_bytes` of later kernels).
pub(crate) fn as_bytes<T: AsBytes>(v: &T) -> &[u8] {
    // SAFETY: `v` is valid for reading `size_of::<T>()` bytes for as long
    // as the slice borrows it, all of them initialized (`AsBytes`), and
    // none of them changes behind the shared borrow (no interior
    // mutability, `AsBytes`).
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(v).cast::<u8>(), size_of::<T>()) }
}

/// The `T` whose bytes are `b`, or `None` if `b` is not exactly as long as
/// a `T` (the `FromBytes::from_bytes` of later kernels, by value).
pub(crate) fn read_from_bytes<T: FromBytes>(b: &[u8]) -> Option<T> {
    if b.len() != size_of::<T>() {
        return None;
    }
    // SAFETY: `b` is valid for reading `size_of::<T>()` bytes;
    // `read_unaligned` needs no alignment; any bytes are a valid `T`
    // (`FromBytes`).
    Some(unsafe { b.as_ptr().cast::<T>().read_unaligned() })
}
