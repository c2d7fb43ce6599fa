// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` control device.

use anyhow::{bail, Context, Result};
use lazyresume_abi::{self as abi, FromBytes, FromZeros, IntoBytes};
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
        self.call(cmd, req)
    }

    /// Asks the module for its ABI and module version.
    pub fn version(&self) -> Result<abi::Version> {
        let mut v = abi::Version::new_zeroed();
        self.call(abi::IOC_GET_VERSION, &mut v)
            .context("LAZYRESUME_IOC_GET_VERSION")?;
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

    /// Runs ioctl `cmd`, whose argument is `arg`: the module reads and
    /// writes its bytes, whatever they are (`FromBytes`). Some requests
    /// (`PAGE_HASHES`, `READ_PAGES`) carry user pointers the module also
    /// writes through: `call` is private so that only this file builds
    /// them, each with a buffer that lives across the call and is as
    /// large as the request's count says.
    pub(crate) fn call<T: FromBytes + IntoBytes>(
        &self,
        cmd: u32,
        arg: &mut T,
    ) -> std::io::Result<()> {
        let buf = arg.as_mut_bytes();
        assert_eq!(
            abi::ioc_size(cmd),
            buf.len(),
            "ioctl {cmd:#x} with the wrong type"
        );
        // SAFETY: `buf` is exactly as long as the size `cmd` encodes
        // (checked above), so the module reads and writes it only; any
        // bytes it writes are a valid `T` (`FromBytes`); it lives across
        // the call and the fd is open. The user pointers some requests
        // carry are valid for what the module writes (see above).
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
        Ok(())
    }

    /// `LAZYRESUME_IOC_EVICT_TASK`.
    pub fn evict_task(&self, req: &mut abi::EvictTask) -> std::io::Result<()> {
        self.call(abi::IOC_EVICT_TASK, req)
    }

    /// `LAZYRESUME_IOC_TFTP_BACKEND`.
    pub fn tftp_backend(&self, req: &mut abi::TftpBackend) -> std::io::Result<()> {
        self.call(abi::IOC_TFTP_BACKEND, req)
    }

    /// The SHA-256 of every page of the page store, and how many of them
    /// are on the TFTP server.
    pub fn page_hashes(&self) -> Result<(Vec<[u8; 32]>, u64)> {
        const STEP: usize = 4096;
        let mut all = Vec::new();
        loop {
            let mut buf = vec![0u8; STEP * 32];
            let mut req = abi::PageHashes {
                first: all.len() as u64,
                count: STEP as u64,
                hashes: buf.as_mut_ptr() as u64,
                total: 0,
                remote: 0,
            };
            self.call(abi::IOC_PAGE_HASHES, &mut req)
                .context("LAZYRESUME_IOC_PAGE_HASHES")?;
            let want = (req.total as usize).saturating_sub(all.len()).min(STEP);
            all.extend(buf.chunks_exact(32).take(want).map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            }));
            if all.len() as u64 >= req.total {
                return Ok((all, req.remote));
            }
        }
    }

    /// The content of `count` pages of the memory backend from `first`.
    pub fn read_pages(&self, first: u64, count: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; count as usize * 4096];
        let mut req = abi::ReadPages {
            first,
            count,
            buf: buf.as_mut_ptr() as u64,
        };
        self.call(abi::IOC_READ_PAGES, &mut req)
            .context("LAZYRESUME_IOC_READ_PAGES")?;
        Ok(buf)
    }

    /// `LAZYRESUME_IOC_RESUME`: returns only on failure, or after a dry
    /// run; `req` comes back with the reason or the measurements.
    pub fn resume(&self, req: &mut abi::Resume) -> std::io::Result<()> {
        self.call(abi::IOC_RESUME, req)
    }

    /// `LAZYRESUME_IOC_ADOPT`.
    pub fn adopt(&self) -> std::io::Result<abi::Adopt> {
        let mut a = abi::Adopt::new_zeroed();
        self.call(abi::IOC_ADOPT, &mut a)?;
        Ok(a)
    }

    /// `LAZYRESUME_IOC_SET_POLICY`.
    pub fn set_policy(&self, p: &abi::Policy) -> Result<()> {
        let mut p = *p;
        self.call(abi::IOC_SET_POLICY, &mut p)
            .context("LAZYRESUME_IOC_SET_POLICY")
    }

    /// `LAZYRESUME_IOC_SET_BACKGROUND`.
    pub fn set_background(&self, b: &abi::Background) -> Result<()> {
        let mut b = *b;
        self.call(abi::IOC_SET_BACKGROUND, &mut b)
            .context("LAZYRESUME_IOC_SET_BACKGROUND")
    }

    /// `LAZYRESUME_IOC_WORKINGSET`: `req` comes back with the out fields.
    pub fn workingset(&self, req: &mut abi::Workingset) -> Result<()> {
        self.call(abi::IOC_WORKINGSET, req)
            .context("LAZYRESUME_IOC_WORKINGSET")
    }

    /// Every entry of the recording of first touches, in order.
    pub fn workingset_order(&self) -> Result<Vec<u64>> {
        const STEP: usize = 65536;
        let mut all = Vec::new();
        loop {
            let mut buf = vec![0u64; STEP];
            let mut req = abi::Workingset {
                op: abi::WORKINGSET_READ,
                first: all.len() as u64,
                count: STEP as u64,
                buf: buf.as_mut_ptr() as u64,
                ..Default::default()
            };
            self.workingset(&mut req)?;
            let n = (req.count as usize).min(STEP);
            all.extend_from_slice(&buf[..n]);
            if n < STEP || all.len() as u64 >= req.recorded {
                return Ok(all);
            }
        }
    }

    /// `LAZYRESUME_IOC_MIRRORS`: `req` comes back with the out fields
    /// (`ENOTTY` from a module older than ABI 3.3).
    pub fn mirrors(&self, req: &mut abi::Mirrors) -> std::io::Result<()> {
        self.call(abi::IOC_MIRRORS, req)
    }

    /// `LAZYRESUME_IOC_STATUS`.
    pub fn status(&self) -> Result<abi::Status> {
        let mut s = abi::Status::new_zeroed();
        self.call(abi::IOC_STATUS, &mut s)
            .context("LAZYRESUME_IOC_STATUS")?;
        Ok(s)
    }
}
