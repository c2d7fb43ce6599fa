// SPDX-License-Identifier: GPL-2.0

//! The TFTP protocol core of lazyresume (RFC 1350, 2347, 2348, 2349, 7440).
//!
//! The code lives in `proto/`, which the kernel module compiles too, so it
//! uses `core` only, never allocates and has no `unsafe`.

#![no_std]

mod proto;

pub use proto::*;
