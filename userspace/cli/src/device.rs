// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` control device.

use anyhow::{bail, Context, Result};
use lazyresume_abi as abi;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Default path of the control device.
pub const DEFAULT_PATH: &str = "/dev/lazyresume";

/// An open `/dev/lazyresume`.
pub struct Device {
    file: File,
}

impl Device {
    /// Opens the control device at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| {
            format!(
                "cannot open {} (is the lazyresume module loaded?)",
                path.display()
            )
        })?;
        Ok(Self { file })
    }

    /// Runs a transfer with the module's TFTP client: `put` false fetches
    /// (`LAZYRESUME_IOC_TFTP_GET`), true uploads the test pattern
    /// (`LAZYRESUME_IOC_TFTP_PUT`). `req` carries the inputs and comes back
    /// with the results.
    pub fn tftp(&self, put: bool, req: &mut abi::TftpXfer) -> std::io::Result<()> {
        let cmd = if put {
            abi::IOC_TFTP_PUT
        } else {
            abi::IOC_TFTP_GET
        };
        let mut buf = req.to_bytes();
        // SAFETY: both ioctls read and write exactly TFTP_XFER_SIZE bytes
        // (the size is encoded in the request number) of `buf`, which is
        // that long and lives across the call.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                cmd as libc::c_ulong,
                buf.as_mut_ptr(),
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        *req = abi::TftpXfer::from_bytes(&buf);
        Ok(())
    }

    /// Asks the module for its ABI and module version.
    pub fn version(&self) -> Result<abi::Version> {
        let mut buf = [0u8; abi::VERSION_SIZE];
        // SAFETY: IOC_GET_VERSION writes exactly VERSION_SIZE bytes (the size
        // is encoded in the request number) into `buf`, which is that long
        // and lives across the call; the fd is open for the call's duration.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                abi::IOC_GET_VERSION as libc::c_ulong,
                buf.as_mut_ptr(),
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error()).context("LAZYRESUME_IOC_GET_VERSION");
        }
        let v = abi::Version::from_bytes(&buf);
        if v.abi_major != abi::ABI_MAJOR {
            bail!(
                "module speaks ABI {}.{}, this tool speaks {}.{}",
                v.abi_major,
                v.abi_minor,
                abi::ABI_MAJOR,
                abi::ABI_MINOR
            );
        }
        Ok(v)
    }
}
