// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` ioctl ABI, shared by the kernel module and
//! userspace.
//!
//! This file is compiled into the module (`rust/lazyresume.rs` includes it)
//! and into the `lazyresume-abi` crate, so it uses `core` only. The C view
//! of the same ABI is `include/uapi/linux/lazyresume.h`; a host test checks
//! that both agree.

/// Major ABI version: changes on any incompatible change.
pub const ABI_MAJOR: u32 = 1;
/// Minor ABI version: grows when ioctls or fields are added.
pub const ABI_MINOR: u32 = 0;

/// The ioctl type byte of lazyresume.
pub const IOC_MAGIC: u32 = 0xB9;

/// Length of [`Version::version`], NUL terminator included.
pub const VERSION_LEN: usize = 32;

const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_READ: u32 = 2;

/// `_IOR(IOC_MAGIC, nr, size)` as the generic (x86, arm, riscv) encoding.
const fn ior(nr: u32, size: usize) -> u32 {
    assert!(size < (1 << IOC_SIZEBITS));
    (IOC_READ << IOC_DIRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
        | (IOC_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
}

/// `struct lazyresume_version`: what [`IOC_GET_VERSION`] returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// [`ABI_MAJOR`] of the module.
    pub abi_major: u32,
    /// [`ABI_MINOR`] of the module.
    pub abi_minor: u32,
    /// Feature bits of what this module implements (none are defined yet).
    pub features: u64,
    /// The module's version, NUL-terminated.
    pub version: [u8; VERSION_LEN],
}

/// Size of [`Version`] in bytes, as the kernel and C see it.
pub const VERSION_SIZE: usize = core::mem::size_of::<Version>();

impl Version {
    /// Builds the answer of a module of version `version` (truncated to
    /// fit, always NUL-terminated).
    pub fn new(version: &str, features: u64) -> Self {
        let mut buf = [0u8; VERSION_LEN];
        let n = version.len().min(VERSION_LEN - 1);
        buf[..n].copy_from_slice(&version.as_bytes()[..n]);
        Self {
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            features,
            version: buf,
        }
    }

    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; VERSION_SIZE] {
        let mut out = [0u8; VERSION_SIZE];
        out[0..4].copy_from_slice(&self.abi_major.to_ne_bytes());
        out[4..8].copy_from_slice(&self.abi_minor.to_ne_bytes());
        out[8..16].copy_from_slice(&self.features.to_ne_bytes());
        out[16..].copy_from_slice(&self.version);
        out
    }

    /// Parses the bytes the ioctl copied out.
    pub fn from_bytes(b: &[u8; VERSION_SIZE]) -> Self {
        let mut version = [0u8; VERSION_LEN];
        version.copy_from_slice(&b[16..]);
        Self {
            abi_major: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            abi_minor: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            features: u64::from_ne_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            version,
        }
    }

    /// The version string up to its NUL, or `None` if it is not valid
    /// UTF-8 or not NUL-terminated.
    pub fn version_str(&self) -> Option<&str> {
        let end = self.version.iter().position(|&c| c == 0)?;
        core::str::from_utf8(&self.version[..end]).ok()
    }
}

/// `LAZYRESUME_IOC_GET_VERSION`: reads a [`Version`].
pub const IOC_GET_VERSION: u32 = ior(0x00, VERSION_SIZE);
