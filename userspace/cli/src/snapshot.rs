// SPDX-License-Identifier: GPL-2.0

//! The kernel's snapshot device, `/dev/snapshot` (userspace hibernation,
//! `Documentation/power/userland-swsusp.rst`): freeze user space, create
//! the image, read it out.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;

const MAGIC: u32 = b'3' as u32;

/// `_IO('3', nr)`.
const fn io(nr: u32) -> libc::c_ulong {
    ((MAGIC << 8) | nr) as libc::c_ulong
}

/// `_IOW('3', nr, size)`.
const fn iow(nr: u32, size: u32) -> libc::c_ulong {
    ((1 << 30) | (size << 16) | (MAGIC << 8) | nr) as libc::c_ulong
}

/// `_IOR('3', nr, size)`.
const fn ior(nr: u32, size: u32) -> libc::c_ulong {
    ((2 << 30) | (size << 16) | (MAGIC << 8) | nr) as libc::c_ulong
}

const SNAPSHOT_FREEZE: libc::c_ulong = io(1);
const SNAPSHOT_UNFREEZE: libc::c_ulong = io(2);
const SNAPSHOT_FREE: libc::c_ulong = io(5);
const SNAPSHOT_GET_IMAGE_SIZE: libc::c_ulong = ior(14, 8);
const SNAPSHOT_CREATE_IMAGE: libc::c_ulong = iow(17, 4);

/// Where [`Snapshot::create_image`] returns.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// In the machine that took the image: read it out.
    Image,
    /// In a machine that resumed the image.
    Resumed,
}

/// An open `/dev/snapshot`, for taking an image.
pub struct Snapshot {
    file: File,
    frozen: bool,
}

impl Snapshot {
    /// Opens the device for reading an image out.
    pub fn open() -> Result<Self> {
        let file = File::open("/dev/snapshot")
            .context("cannot open /dev/snapshot (is CONFIG_HIBERNATION_SNAPSHOT_DEV set?)")?;
        Ok(Self {
            file,
            frozen: false,
        })
    }

    fn ioctl(&self, cmd: libc::c_ulong, arg: *mut libc::c_void, what: &str) -> Result<()> {
        // SAFETY: every command used here takes no argument or a pointer
        // to an object of the size its number encodes, which `arg` is.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), cmd, arg) };
        if rc < 0 {
            return Err(std::io::Error::last_os_error()).context(what.to_string());
        }
        Ok(())
    }

    /// Freezes every other user space process.
    pub fn freeze(&mut self) -> Result<()> {
        self.ioctl(SNAPSHOT_FREEZE, std::ptr::null_mut(), "SNAPSHOT_FREEZE")?;
        self.frozen = true;
        Ok(())
    }

    /// Thaws what [`Self::freeze`] froze.
    pub fn unfreeze(&mut self) -> Result<()> {
        if self.frozen {
            self.ioctl(SNAPSHOT_UNFREEZE, std::ptr::null_mut(), "SNAPSHOT_UNFREEZE")?;
            self.frozen = false;
        }
        Ok(())
    }

    /// Takes the image. Returns twice: here with [`Created::Image`], and in
    /// every machine that resumes it with [`Created::Resumed`].
    pub fn create_image(&mut self) -> Result<Created> {
        let mut in_suspend: libc::c_int = 0;
        self.ioctl(
            SNAPSHOT_CREATE_IMAGE,
            (&mut in_suspend as *mut libc::c_int).cast(),
            "SNAPSHOT_CREATE_IMAGE",
        )?;
        Ok(if in_suspend != 0 {
            Created::Image
        } else {
            Created::Resumed
        })
    }

    /// Size of the image in bytes.
    pub fn image_size(&self) -> Result<u64> {
        let mut size: i64 = 0;
        self.ioctl(
            SNAPSHOT_GET_IMAGE_SIZE,
            (&mut size as *mut i64).cast(),
            "SNAPSHOT_GET_IMAGE_SIZE",
        )?;
        Ok(size as u64)
    }

    /// Reads the next bytes of the image; 0 at its end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.file.read(buf).context("reading /dev/snapshot")
    }

    /// Frees the image (after a failure, before thawing).
    pub fn free(&mut self) -> Result<()> {
        self.ioctl(SNAPSHOT_FREE, std::ptr::null_mut(), "SNAPSHOT_FREE")
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = self.unfreeze();
    }
}
