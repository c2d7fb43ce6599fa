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
        self.call(cmd, &mut buf)?;
        *req = abi::TftpXfer::from_bytes(&buf);
        Ok(())
    }

    /// Asks the module for its ABI and module version.
    pub fn version(&self) -> Result<abi::Version> {
        let mut buf = [0u8; abi::VERSION_SIZE];
        self.call(abi::IOC_GET_VERSION, &mut buf)
            .context("LAZYRESUME_IOC_GET_VERSION")?;
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

    /// Runs ioctl `cmd`, whose argument is `buf` (read and written, as
    /// long as the size the command encodes).
    fn call(&self, cmd: u32, buf: &mut [u8]) -> std::io::Result<()> {
        // SAFETY: callers pass a buffer exactly as long as the size `cmd`
        // encodes (the `*_SIZE` of its structure); it lives across the
        // call and the fd is open.
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
        let mut b = req.to_bytes();
        self.call(abi::IOC_EVICT_TASK, &mut b)?;
        *req = abi::EvictTask::from_bytes(&b);
        Ok(())
    }

    /// `LAZYRESUME_IOC_TFTP_BACKEND`.
    pub fn tftp_backend(&self, req: &mut abi::TftpBackend) -> std::io::Result<()> {
        let mut b = req.to_bytes();
        self.call(abi::IOC_TFTP_BACKEND, &mut b)?;
        *req = abi::TftpBackend::from_bytes(&b);
        Ok(())
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
            let mut b = req.to_bytes();
            self.call(abi::IOC_PAGE_HASHES, &mut b)
                .context("LAZYRESUME_IOC_PAGE_HASHES")?;
            req = abi::PageHashes::from_bytes(&b);
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
        let req = abi::ReadPages {
            first,
            count,
            buf: buf.as_mut_ptr() as u64,
        };
        let mut b = req.to_bytes();
        self.call(abi::IOC_READ_PAGES, &mut b)
            .context("LAZYRESUME_IOC_READ_PAGES")?;
        Ok(buf)
    }

    /// `LAZYRESUME_IOC_RESUME`: returns only on failure, or after a dry
    /// run; `req` comes back with the reason or the measurements.
    pub fn resume(&self, req: &mut abi::Resume) -> std::io::Result<()> {
        let mut b = req.to_bytes();
        let r = self.call(abi::IOC_RESUME, &mut b);
        *req = abi::Resume::from_bytes(&b);
        r
    }

    /// `LAZYRESUME_IOC_ADOPT`.
    pub fn adopt(&self) -> std::io::Result<abi::Adopt> {
        let mut b = [0u8; abi::ADOPT_SIZE];
        self.call(abi::IOC_ADOPT, &mut b)?;
        Ok(abi::Adopt::from_bytes(&b))
    }

    /// `LAZYRESUME_IOC_SET_POLICY`.
    pub fn set_policy(&self, p: &abi::Policy) -> Result<()> {
        let mut b = p.to_bytes();
        self.call(abi::IOC_SET_POLICY, &mut b)
            .context("LAZYRESUME_IOC_SET_POLICY")
    }

    /// `LAZYRESUME_IOC_STATUS`.
    pub fn status(&self) -> Result<abi::Status> {
        let mut b = [0u8; abi::STATUS_SIZE];
        self.call(abi::IOC_STATUS, &mut b)
            .context("LAZYRESUME_IOC_STATUS")?;
        Ok(abi::Status::from_bytes(&b))
    }
}
