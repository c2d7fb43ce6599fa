// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` ioctl interface (see `include/uapi/linux/lazyresume.h`).

use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

use crate::abi;
use crate::miscdev::MiscDevice;
use crate::stats::STATS;

/// Feature bits this module implements (`lazyresume_version.features`).
const FEATURES: u64 = 0;

/// The control device.
pub(crate) struct Control;

impl MiscDevice for Control {
    fn ioctl(&self, cmd: u32, arg: UserPtr) -> Result<isize> {
        STATS.ioctls.inc();
        match cmd {
            abi::IOC_GET_VERSION => get_version(arg),
            _ => {
                STATS.unknown_ioctls.inc();
                Err(ENOTTY)
            }
        }
    }
}

fn get_version(arg: UserPtr) -> Result<isize> {
    let answer = abi::Version::new(crate::VERSION, FEATURES).to_bytes();
    UserSlice::new(arg, answer.len())
        .writer()
        .write_slice(&answer)?;
    STATS.version_queries.inc();
    Ok(0)
}
