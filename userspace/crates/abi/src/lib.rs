// SPDX-License-Identifier: GPL-2.0

//! The lazyresume ioctl ABI for userspace.
//!
//! The definitions live in `abi.rs`, which the kernel module compiles too.

#![no_std]

mod abi;

pub use abi::*;
