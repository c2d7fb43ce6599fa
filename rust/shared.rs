// SPDX-License-Identifier: GPL-2.0

//! Code shared with userspace: `no_std`, allocation-free Rust compiled into
//! both the module and the userspace tools, and tested on the host there.
//! It uses nothing of the module, so every layer may use it.

// The ioctl ABI. Userspace uses its whole `pub` API; the module part of it.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/abi/src/abi.rs"]
pub(crate) mod abi;
// The image format. Likewise.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/image/src/format.rs"]
pub(crate) mod image;
// The LZ4 blocks of an image's pageset1. Likewise.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/image/src/blocks.rs"]
pub(crate) mod image_blocks;
// The loading set of an image. Likewise; it names the two above as its
// crate does (`super::blocks`, `super::Header`).
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/image/src/loadset.rs"]
pub(crate) mod image_loadset;

use self::image::{Header, Sha256Fn, HASH_LEN};
use self::image_blocks as blocks;
