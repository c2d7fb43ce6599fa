// SPDX-License-Identifier: GPL-2.0

//! lazyresume: fast network boot by resuming a memory image over TFTP.
//!
//! This is the module's entry point. It registers the control device
//! `/dev/lazyresume`, the debugfs directory `lazyresume/` and the filler of
//! lazy entries (the fault path of on-demand pages).

use kernel::{c_str, prelude::*};

// Shared with userspace, where its whole `pub` API is used; the module uses
// part of it.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/abi/src/abi.rs"]
mod abi;
mod control;
mod debugfs;
mod errno;
mod fault;
mod hibernate;
// Shared with userspace, where its whole `pub` API is used and tested; the
// module uses part of it.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/image/src/format.rs"]
mod image;
// Shared with userspace like `image`.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/image/src/blocks.rs"]
mod image_blocks;
mod lazy_entry;
mod lz4;
mod miscdev;
mod net;
mod page_store;
mod resume;
mod sha256;
mod stats;
// Shared with userspace, where its whole `pub` API is used and tested; the
// module uses part of it.
#[allow(unreachable_pub, dead_code)]
#[path = "../userspace/crates/tftp/src/proto/mod.rs"]
mod tftp;
mod tftp_backend;
mod tftp_client;

module! {
    type: LazyResume,
    name: "lazyresume",
    author: "lazyresume developers",
    description: "Lazy network resume of a memory image over TFTP",
    license: "GPL",
}

/// Version of the module, reported by `LAZYRESUME_IOC_GET_VERSION`.
const VERSION: &str = "0.1.0";

/// The loaded module. Fields drop in order: the device goes first so that
/// no ioctl runs once the rest is gone; the filler is unregistered before
/// the backends it reads are freed.
struct LazyResume {
    _control: miscdev::Registration<control::Control>,
    _debugfs: debugfs::Dir,
    _filler: lazy_entry::Registration,
    _backends: fault::Backends,
}

impl kernel::Module for LazyResume {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let backends = fault::Backends::install()?;
        let filler = lazy_entry::Registration::register(&fault::OPS)?;
        let debugfs = debugfs::Dir::new(c_str!("lazyresume"));
        debugfs.add_show_file(c_str!("stats"), stats::show);
        let control =
            miscdev::Registration::register(c_str!("lazyresume"), control::Control, module)?;
        pr_info!(
            "lazyresume {} loaded (ABI {}.{})\n",
            VERSION,
            abi::ABI_MAJOR,
            abi::ABI_MINOR
        );
        Ok(Self {
            _control: control,
            _debugfs: debugfs,
            _filler: filler,
            _backends: backends,
        })
    }
}

impl Drop for LazyResume {
    fn drop(&mut self) {
        pr_info!("lazyresume unloading\n");
    }
}
