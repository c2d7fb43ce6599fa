// SPDX-License-Identifier: GPL-2.0

//! lazyresume: fast network boot by resuming a memory image over TFTP.
//!
//! This is the module's entry point. It registers the control device
//! `/dev/lazyresume`, the debugfs directory `lazyresume/` and the filler of
//! lazy entries (the fault path of on-demand pages).
//!
//! It is the crate root of two modules (see `Kbuild`): `lazyresume.ko`,
//! and `lazyresume_test.ko`, compiled with `--cfg lazyresume_test`, which
//! adds the requests only tests and benchmarks use (`ctl/test_hooks.rs`)
//! and the page store's fault injection. Only one of them can be loaded at
//! a time.
//!
//! The module is built in layers, each a folder; a layer uses only those
//! below it (`Documentation/module-layout.rst`,
//! `scripts/check-module-layers.sh`):
//!
//! - [`ctl`]: the device `/dev/lazyresume` and its ioctls;
//! - [`resume`]: resuming an image at boot, adopting the hand-off after;
//! - [`fault`]: the filler of lazy entries;
//! - [`fetch`]: the fetch engine, which owns every transfer of pages;
//! - [`store`]: the page store and its backends;
//! - [`tftp`]: the in-kernel TFTP client;
//! - [`sys`]: safe wrappers of the kernel's C interfaces, the only code
//!   that calls them;
//!
//! and [`shared`], the code shared with userspace, which uses none of them.

use kernel::{c_str, prelude::*, sync::Arc};

mod ctl;
mod fault;
mod fetch;
mod resume;
mod shared;
mod store;
mod sys;
mod tftp;

use shared::abi;
use sys::{debugfs, lazy_entry, miscdev};

#[cfg(not(lazyresume_test))]
module! {
    type: LazyResume,
    name: "lazyresume",
    author: "lazyresume developers",
    description: "Lazy network resume of a memory image over TFTP",
    license: "GPL",
}

#[cfg(lazyresume_test)]
module! {
    type: LazyResume,
    name: "lazyresume_test",
    author: "lazyresume developers",
    description: "lazyresume with the requests of its tests (not for production)",
    license: "GPL",
}

/// This module's name, and the other's, which cannot be loaded with it.
#[cfg(not(lazyresume_test))]
const NAMES: (&str, &str) = ("lazyresume", "lazyresume_test");
#[cfg(lazyresume_test)]
const NAMES: (&str, &str) = ("lazyresume_test", "lazyresume");

/// The loaded module. Its state (the page store, the fetch engine, the
/// filler) is reached through the context each registration holds, never
/// through a global. Fields drop in order: the device and the debugfs
/// file go first, so that no ioctl and no read runs once the rest is
/// gone; then the filler is unregistered and the engine's threads are
/// stopped. The state itself goes with the last reference on it.
struct LazyResume {
    _control: miscdev::Registration<ctl::Context>,
    _debugfs: debugfs::Dir,
    _filler: lazy_entry::Registration<fault::LazyFiller>,
    _engine: fetch::Running,
}

/// The debugfs file `/sys/kernel/debug/lazyresume/stats` shows the
/// context: each layer's statistics, as `name value` lines.
impl debugfs::Show for ctl::Context {
    fn show(&self, out: &mut debugfs::SeqBuf<'_>) -> core::fmt::Result {
        ctl::STATS.render(out)?;
        tftp::stats::STATS.render(out)?;
        fault::render_stats(out)?;
        fetch::render_stats(self.engine(), out)?;
        resume::STATS.render(out)?;
        store::render_stats(self.store(), out)?;
        fault::render_policy(self.filler(), out)
    }
}

impl kernel::Module for LazyResume {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let (this, other) = NAMES;
        let events = fetch::timeline::Events::loaded();
        let store = Arc::pin_init(store::PageStore::new(), GFP_KERNEL)?;
        let engine = Arc::pin_init(fetch::Engine::new(store, events)?, GFP_KERNEL)?;
        let filler = Arc::pin_init(fault::LazyFiller::new(engine.clone()), GFP_KERNEL)?;
        // Before the engine's threads and the names, so that a second
        // lazyresume module fails before it starts threads or tries to
        // create the device and debugfs names the first one holds.
        let registration = lazy_entry::Registration::register(filler.clone()).inspect_err(|e| {
            if *e == EBUSY {
                pr_err!(
                    "another module fills lazy entries: unload {other} before loading {this}\n"
                );
            }
        })?;
        let running = fetch::Running::start(&engine)?;
        let context = Arc::new(ctl::Context::new(engine, filler), GFP_KERNEL)?;
        let mut debugfs = debugfs::Dir::new(c_str!("lazyresume"));
        debugfs.add_show_file(c_str!("stats"), context.clone());
        let control = miscdev::Registration::register(c_str!("lazyresume"), context, module)?;
        pr_info!(
            "{this} {} loaded (ABI {}.{})\n",
            ctl::VERSION,
            abi::ABI_MAJOR,
            abi::ABI_MINOR
        );
        Ok(Self {
            _control: control,
            _debugfs: debugfs,
            _filler: registration,
            _engine: running,
        })
    }
}

impl Drop for LazyResume {
    fn drop(&mut self) {
        pr_info!("{} unloading\n", NAMES.0);
    }
}
