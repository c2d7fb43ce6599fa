// SPDX-License-Identifier: GPL-2.0

//! The lazyresume ioctl ABI for userspace.
//!
//! The definitions live in `abi.rs`, which the kernel module compiles too.
//! With the `zerocopy` feature (the default), every ioctl structure is
//! [`FromBytes`] and [`IntoBytes`]: `as_bytes()`, `as_mut_bytes()` and
//! `read_from_bytes()` are its wire format.

#![no_std]

mod abi;

pub use abi::*;
#[cfg(feature = "zerocopy")]
pub use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};
