// SPDX-License-Identifier: GPL-2.0

//! The lazyresume image format (see `Documentation/image-format.rst`).
//!
//! An image is a directory (or the same names on a TFTP server):
//!
//! - `manifest`: a fixed header and its SHA-256, all a resuming kernel
//!   fetches before pageset1 (with its signature): the image's name and
//!   generation, the kernel build, the SHA-256 of pageset1,
//!   `pageset1.sums` and `hashes`;
//! - `manifest.sig` (optional): a detached PKCS#7/CMS signature over the
//!   manifest's bytes, which a client's kernel checks against its trusted
//!   keys;
//! - `hashes`: the SHA-256 of every pageset2 page, whose own SHA-256 is in
//!   the header;
//! - `pageset1`: the hibernation image restored eagerly, `pageset1_len`
//!   bytes with SHA-256 `pageset1_sha256`, as it is or in LZ4-compressed
//!   blocks (`blocks.rs`) that decode to `snapshot_len` bytes;
//! - `pageset1.sums`: the SHA-256 of each [`SEGMENT_LEN`] bytes of
//!   `pageset1` as stored, whose own SHA-256 is in the header: a reader
//!   checks each segment ([`SegmentChecker`]) before it decodes it;
//! - `p2-<chunk as 16 lowercase hex digits>`: pageset2, `chunk_pages`
//!   pages per file (the last one may be shorter), so that any TFTP server
//!   can serve any page on its own;
//! - `loadset` (optional): the pages a recording client touched first,
//!   in that order, in one file (`loadset.rs`).
//!
//! This crate parses and builds manifests without allocating and without
//! `std`, so that the kernel module can use the same code; the SHA-256
//! function is passed in.

#![no_std]

// The kernel module compiles `format.rs`, `blocks.rs` and `loadset.rs` on their own
// (`#[path]`).
pub mod blocks;
mod format;
pub mod loadset;

pub use format::*;
