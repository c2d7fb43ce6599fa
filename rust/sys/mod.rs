// SPDX-License-Identifier: GPL-2.0

//! `sys`, the bottom layer: the only code of the module that calls the
//! kernel's C interfaces (`kernel::bindings`), each behind a small safe
//! wrapper, for what the `kernel` crate of 6.12 does not wrap yet. The
//! layers above use these and the `kernel` crate's safe abstractions only
//! (`scripts/check-module-layers.sh` checks it). It also makes the ioctl
//! structures of `shared` the kernel's plain-bytes types (`abi`), for the
//! layers above to copy them to and from user space as they are.

pub(crate) mod abi;
pub(crate) mod clock;
pub(crate) mod counter;
pub(crate) mod debugfs;
pub(crate) mod errno;
pub(crate) mod hibernate;
pub(crate) mod kthread;
pub(crate) mod lazy_entry;
pub(crate) mod lz4;
pub(crate) mod miscdev;
pub(crate) mod net;
pub(crate) mod page;
pub(crate) mod sha256;
pub(crate) mod signature;
pub(crate) mod task;
pub(crate) mod wait;
