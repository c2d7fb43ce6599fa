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
pub const ABI_MINOR: u32 = 5;

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
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, IOC_MAGIC, nr, size)` as the generic (x86, arm, riscv)
/// encoding.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    assert!(size < (1 << IOC_SIZEBITS));
    (dir << IOC_DIRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
        | (IOC_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
}

/// `_IOR(IOC_MAGIC, nr, size)`.
const fn ior(nr: u32, size: usize) -> u32 {
    ioc(IOC_READ, nr, size)
}

/// `_IOW(IOC_MAGIC, nr, size)`.
const fn iow(nr: u32, size: usize) -> u32 {
    ioc(IOC_WRITE, nr, size)
}

/// `_IOWR(IOC_MAGIC, nr, size)`.
const fn iowr(nr: u32, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, size)
}

fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(x)
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
            abi_major: get_u32(b, 0),
            abi_minor: get_u32(b, 4),
            features: get_u64(b, 8),
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

/// Length of [`TftpXfer::filename`], NUL terminator included.
pub const TFTP_FILENAME_LEN: usize = 256;

/// [`TftpXfer::flags`]: do not compute the SHA-256 of the file (for
/// throughput measurements); `sha256` comes back zeroed.
pub const TFTP_NO_DIGEST: u16 = 1 << 0;

/// `struct lazyresume_tftp_xfer`: a transfer by the in-kernel TFTP client,
/// the argument of [`IOC_TFTP_GET`] and [`IOC_TFTP_PUT`]. The first part is
/// filled by the caller; the module fills the rest.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TftpXfer {
    /// Server IPv4 address, most significant byte first.
    pub server: [u8; 4],
    /// Server UDP port; 0 means 69.
    pub port: u16,
    /// `blksize` to ask for (8 to 65464); 0 or 512 asks for none.
    pub blksize: u16,
    /// `windowsize` to ask for (at most 64); 0 or 1 asks for none.
    pub windowsize: u16,
    /// `TFTP_*` flags.
    pub flags: u16,
    /// Initial retransmission timeout in milliseconds (doubled on each
    /// retry, up to 4 s); 0 means 500.
    pub rto_ms: u32,
    /// Deadline for the whole transfer in milliseconds; 0 means 30000.
    pub deadline_ms: u32,
    /// File name, NUL-terminated.
    pub filename: [u8; TFTP_FILENAME_LEN],
    /// Must be zero.
    pub reserved: u32,
    /// Out ([`IOC_TFTP_GET`]): length of the file in bytes. In
    /// ([`IOC_TFTP_PUT`]): how many bytes of [`test_pattern`] to upload.
    pub length: u64,
    /// Out: time the transfer took, in nanoseconds.
    pub elapsed_ns: u64,
    /// Out: retransmissions (requests and acknowledgements sent again).
    pub retransmits: u32,
    /// Out: the block size the server agreed to.
    pub blksize_used: u16,
    /// Out: the window size the server agreed to.
    pub windowsize_used: u16,
    /// Out: SHA-256 of the file fetched or sent, unless [`TFTP_NO_DIGEST`].
    pub sha256: [u8; 32],
}

/// Size of [`TftpXfer`] in bytes, as the kernel and C see it.
pub const TFTP_XFER_SIZE: usize = core::mem::size_of::<TftpXfer>();

impl TftpXfer {
    /// A request for `filename` (truncated to fit) from `server:port`, with
    /// every other input at its default.
    pub fn new(server: [u8; 4], port: u16, filename: &[u8]) -> Self {
        let mut name = [0u8; TFTP_FILENAME_LEN];
        let n = filename.len().min(TFTP_FILENAME_LEN - 1);
        name[..n].copy_from_slice(&filename[..n]);
        Self {
            server,
            port,
            blksize: 0,
            windowsize: 0,
            flags: 0,
            rto_ms: 0,
            deadline_ms: 0,
            filename: name,
            reserved: 0,
            length: 0,
            elapsed_ns: 0,
            retransmits: 0,
            blksize_used: 0,
            windowsize_used: 0,
            sha256: [0; 32],
        }
    }

    /// The file name up to its NUL, or `None` if it has no NUL.
    pub fn filename_bytes(&self) -> Option<&[u8]> {
        let end = self.filename.iter().position(|&c| c == 0)?;
        Some(&self.filename[..end])
    }

    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; TFTP_XFER_SIZE] {
        let mut o = [0u8; TFTP_XFER_SIZE];
        o[0..4].copy_from_slice(&self.server);
        o[4..6].copy_from_slice(&self.port.to_ne_bytes());
        o[6..8].copy_from_slice(&self.blksize.to_ne_bytes());
        o[8..10].copy_from_slice(&self.windowsize.to_ne_bytes());
        o[10..12].copy_from_slice(&self.flags.to_ne_bytes());
        o[12..16].copy_from_slice(&self.rto_ms.to_ne_bytes());
        o[16..20].copy_from_slice(&self.deadline_ms.to_ne_bytes());
        o[20..276].copy_from_slice(&self.filename);
        o[276..280].copy_from_slice(&self.reserved.to_ne_bytes());
        o[280..288].copy_from_slice(&self.length.to_ne_bytes());
        o[288..296].copy_from_slice(&self.elapsed_ns.to_ne_bytes());
        o[296..300].copy_from_slice(&self.retransmits.to_ne_bytes());
        o[300..302].copy_from_slice(&self.blksize_used.to_ne_bytes());
        o[302..304].copy_from_slice(&self.windowsize_used.to_ne_bytes());
        o[304..336].copy_from_slice(&self.sha256);
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; TFTP_XFER_SIZE]) -> Self {
        let mut server = [0u8; 4];
        server.copy_from_slice(&b[0..4]);
        let mut filename = [0u8; TFTP_FILENAME_LEN];
        filename.copy_from_slice(&b[20..276]);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&b[304..336]);
        Self {
            server,
            port: get_u16(b, 4),
            blksize: get_u16(b, 6),
            windowsize: get_u16(b, 8),
            flags: get_u16(b, 10),
            rto_ms: get_u32(b, 12),
            deadline_ms: get_u32(b, 16),
            filename,
            reserved: get_u32(b, 276),
            length: get_u64(b, 280),
            elapsed_ns: get_u64(b, 288),
            retransmits: get_u32(b, 296),
            blksize_used: get_u16(b, 300),
            windowsize_used: get_u16(b, 302),
            sha256,
        }
    }
}

/// `LAZYRESUME_IOC_TFTP_GET`: fetches a file with the in-kernel TFTP
/// client and reports its length, digest and timing (see [`TftpXfer`]).
pub const IOC_TFTP_GET: u32 = iowr(0x01, TFTP_XFER_SIZE);

/// `LAZYRESUME_IOC_TFTP_PUT`: uploads [`TftpXfer::length`] bytes of
/// [`test_pattern`] with the in-kernel TFTP client and reports their digest
/// and timing (see [`TftpXfer`]).
pub const IOC_TFTP_PUT: u32 = iowr(0x02, TFTP_XFER_SIZE);

/// The byte at `offset` of the data [`IOC_TFTP_PUT`] uploads: the top byte
/// of a Fibonacci hash of the offset, so any range can be made on its own.
pub const fn test_pattern(offset: u64) -> u8 {
    (offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
}

/// `struct lazyresume_evict`: the argument of [`IOC_EVICT`]. The caller
/// fills `start` and `length`; the module fills the counts, which are
/// those of the kernel's `struct lazy_evict_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evict {
    /// First byte of the range, page aligned.
    pub start: u64,
    /// Length of the range in bytes, page aligned, not zero.
    pub length: u64,
    /// Present pages looked at in private anonymous mappings.
    pub seen: u64,
    /// Pages turned into lazy entries.
    pub evicted: u64,
    /// Skipped: shared with another mapping (e.g. copy-on-write after fork).
    pub skipped_shared: u64,
    /// Skipped: mlocked.
    pub skipped_locked: u64,
    /// Skipped: part of a large folio (never split).
    pub skipped_large: u64,
    /// Skipped: maybe pinned for DMA.
    pub skipped_pinned: u64,
    /// Skipped: KSM page.
    pub skipped_ksm: u64,
    /// Skipped: the shared zero page.
    pub skipped_zero: u64,
    /// Skipped: special, device, swap cache, hwpoison or busy page.
    pub skipped_other: u64,
}

/// Number of `u64` fields of [`Evict`].
const EVICT_FIELDS: usize = 11;

/// Size of [`Evict`] in bytes, as the kernel and C see it.
pub const EVICT_SIZE: usize = core::mem::size_of::<Evict>();

impl Evict {
    fn fields(&mut self) -> [&mut u64; EVICT_FIELDS] {
        [
            &mut self.start,
            &mut self.length,
            &mut self.seen,
            &mut self.evicted,
            &mut self.skipped_shared,
            &mut self.skipped_locked,
            &mut self.skipped_large,
            &mut self.skipped_pinned,
            &mut self.skipped_ksm,
            &mut self.skipped_zero,
            &mut self.skipped_other,
        ]
    }

    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(mut self) -> [u8; EVICT_SIZE] {
        let mut out = [0u8; EVICT_SIZE];
        for (chunk, f) in out.chunks_exact_mut(8).zip(self.fields()) {
            chunk.copy_from_slice(&f.to_ne_bytes());
        }
        out
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; EVICT_SIZE]) -> Self {
        let mut e = Self::default();
        for (i, f) in e.fields().into_iter().enumerate() {
            *f = get_u64(b, i * 8);
        }
        e
    }
}

/// `LAZYRESUME_IOC_EVICT`: turns the private anonymous pages of a range of
/// the calling process into lazy entries kept by the `memory` backend (for
/// tests and benchmarks; needs `CAP_SYS_ADMIN`).
pub const IOC_EVICT: u32 = iowr(0x03, EVICT_SIZE);

/// [`Policy::policy`]: retry an unreachable backend until it answers.
pub const POLICY_BLOCK: u32 = 0;
/// [`Policy::policy`]: fail the fault with SIGBUS after `deadline_ms`.
pub const POLICY_SIGBUS: u32 = 1;

/// `struct lazyresume_policy`: what a fault does while the backend does
/// not answer; argument of [`IOC_SET_POLICY`] and [`IOC_GET_POLICY`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// [`POLICY_BLOCK`] or [`POLICY_SIGBUS`].
    pub policy: u32,
    /// [`POLICY_SIGBUS`]: how long to retry, in milliseconds; 0 means the
    /// default (10000).
    pub deadline_ms: u32,
}

/// Size of [`Policy`] in bytes.
pub const POLICY_SIZE: usize = core::mem::size_of::<Policy>();

impl Policy {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; POLICY_SIZE] {
        pair_to_bytes(self.policy, self.deadline_ms)
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; POLICY_SIZE]) -> Self {
        Self {
            policy: get_u32(b, 0),
            deadline_ms: get_u32(b, 4),
        }
    }
}

fn pair_to_bytes(a: u32, b: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[0..4].copy_from_slice(&a.to_ne_bytes());
    out[4..8].copy_from_slice(&b.to_ne_bytes());
    out
}

/// `LAZYRESUME_IOC_SET_POLICY`: sets the [`Policy`] (needs
/// `CAP_SYS_ADMIN`).
pub const IOC_SET_POLICY: u32 = iow(0x04, POLICY_SIZE);

/// `LAZYRESUME_IOC_GET_POLICY`: reads the [`Policy`].
pub const IOC_GET_POLICY: u32 = ior(0x05, POLICY_SIZE);

/// [`MemInject::flags`]: do not check the SHA-256 of the pages the memory
/// backend returns (to measure what the check costs).
pub const MEM_NO_VERIFY: u32 = 1 << 0;

/// `struct lazyresume_mem_inject`: fault injection into the `memory`
/// backend, for tests and benchmarks; argument of [`IOC_MEM_INJECT`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemInject {
    /// Not zero: the backend behaves as if it did not answer.
    pub offline: u32,
    /// The next this many pages the backend returns have a byte flipped.
    pub corrupt_fetches: u32,
    /// `MEM_*` flags.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Size of [`MemInject`] in bytes.
pub const MEM_INJECT_SIZE: usize = core::mem::size_of::<MemInject>();

impl MemInject {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; MEM_INJECT_SIZE] {
        let mut out = [0u8; MEM_INJECT_SIZE];
        out[0..8].copy_from_slice(&pair_to_bytes(self.offline, self.corrupt_fetches));
        out[8..16].copy_from_slice(&pair_to_bytes(self.flags, self.reserved));
        out
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; MEM_INJECT_SIZE]) -> Self {
        Self {
            offline: get_u32(b, 0),
            corrupt_fetches: get_u32(b, 4),
            flags: get_u32(b, 8),
            reserved: get_u32(b, 12),
        }
    }
}

/// `LAZYRESUME_IOC_MEM_INJECT`: sets the [`MemInject`] fault injection
/// (needs `CAP_SYS_ADMIN`).
pub const IOC_MEM_INJECT: u32 = iow(0x06, MEM_INJECT_SIZE);

/// Length of [`TftpBackend::prefix`], NUL terminator included.
pub const TFTP_PREFIX_LEN: usize = 128;

/// [`TftpBackend::flags`]: the page files are on the server already (put
/// there by an earlier call or another tool): upload nothing.
pub const TFTP_BACKEND_NO_UPLOAD: u32 = 1 << 0;
/// [`TftpBackend::flags`]: bits from here on hold log2 of the pages per
/// file (masked by [`TFTP_BACKEND_CHUNK_MASK`]). A fault fetches the whole
/// file of its page and keeps its other pages for their faults
/// (read-ahead). More than one page per file needs
/// [`TFTP_BACKEND_NO_UPLOAD`].
pub const TFTP_BACKEND_CHUNK_SHIFT: u32 = 8;
/// Mask of the log2 of the pages per file, after the shift.
pub const TFTP_BACKEND_CHUNK_MASK: u32 = 0xf;
/// Largest log2 of the pages per file (64 pages).
pub const TFTP_BACKEND_CHUNK_MAX_LOG2: u32 = 6;

/// The [`TftpBackend::flags`] bits of `pages` pages per file, or `None`
/// if that is not a power of two of at most 64.
pub fn tftp_backend_chunk_flags(pages: u32) -> Option<u32> {
    let log2 = pages.checked_ilog2()?;
    (pages.is_power_of_two() && log2 <= TFTP_BACKEND_CHUNK_MAX_LOG2)
        .then_some(log2 << TFTP_BACKEND_CHUNK_SHIFT)
}

/// The pages per file that [`TftpBackend::flags`] ask for, or `None` if
/// the flags ask for more than 64.
pub fn tftp_backend_chunk_pages(flags: u32) -> Option<u32> {
    let log2 = (flags >> TFTP_BACKEND_CHUNK_SHIFT) & TFTP_BACKEND_CHUNK_MASK;
    (log2 <= TFTP_BACKEND_CHUNK_MAX_LOG2).then_some(1 << log2)
}

/// `struct lazyresume_tftp_backend`: the argument of [`IOC_TFTP_BACKEND`].
/// The first part is filled by the caller; the module fills the rest.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TftpBackend {
    /// Server IPv4 address, most significant byte first.
    pub server: [u8; 4],
    /// Server UDP port; 0 means 69.
    pub port: u16,
    /// `blksize` to ask for; 0 means the file size + 8 (a file is one
    /// block), at most 65464.
    pub blksize: u16,
    /// Initial retransmission timeout in milliseconds; 0 means 200.
    pub rto_ms: u32,
    /// `TFTP_BACKEND_*` flags.
    pub flags: u32,
    /// Page `i` is in the file `<prefix><c as 16 lowercase hex digits>`,
    /// `c = i / pages per file` (see the flags); NUL-terminated.
    pub prefix: [u8; TFTP_PREFIX_LEN],
    /// Out: pages now served from the server.
    pub pages: u64,
    /// Out: time the uploads took, in nanoseconds.
    pub elapsed_ns: u64,
}

/// Size of [`TftpBackend`] in bytes.
pub const TFTP_BACKEND_SIZE: usize = core::mem::size_of::<TftpBackend>();

impl TftpBackend {
    /// A request to serve pages from `server:port` under `prefix`
    /// (truncated to fit), every other input at its default.
    pub fn new(server: [u8; 4], port: u16, prefix: &[u8]) -> Self {
        let mut p = [0u8; TFTP_PREFIX_LEN];
        let n = prefix.len().min(TFTP_PREFIX_LEN - 1);
        p[..n].copy_from_slice(&prefix[..n]);
        Self {
            server,
            port,
            blksize: 0,
            rto_ms: 0,
            flags: 0,
            prefix: p,
            pages: 0,
            elapsed_ns: 0,
        }
    }

    /// The prefix up to its NUL, or `None` if it has no NUL.
    pub fn prefix_bytes(&self) -> Option<&[u8]> {
        let end = self.prefix.iter().position(|&c| c == 0)?;
        Some(&self.prefix[..end])
    }

    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; TFTP_BACKEND_SIZE] {
        let mut o = [0u8; TFTP_BACKEND_SIZE];
        o[0..4].copy_from_slice(&self.server);
        o[4..6].copy_from_slice(&self.port.to_ne_bytes());
        o[6..8].copy_from_slice(&self.blksize.to_ne_bytes());
        o[8..16].copy_from_slice(&pair_to_bytes(self.rto_ms, self.flags));
        o[16..144].copy_from_slice(&self.prefix);
        o[144..152].copy_from_slice(&self.pages.to_ne_bytes());
        o[152..160].copy_from_slice(&self.elapsed_ns.to_ne_bytes());
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; TFTP_BACKEND_SIZE]) -> Self {
        let mut server = [0u8; 4];
        server.copy_from_slice(&b[0..4]);
        let mut prefix = [0u8; TFTP_PREFIX_LEN];
        prefix.copy_from_slice(&b[16..144]);
        Self {
            server,
            port: get_u16(b, 4),
            blksize: get_u16(b, 6),
            rto_ms: get_u32(b, 8),
            flags: get_u32(b, 12),
            prefix,
            pages: get_u64(b, 144),
            elapsed_ns: get_u64(b, 152),
        }
    }
}

/// `LAZYRESUME_IOC_TFTP_BACKEND`: moves every page the `memory` backend
/// holds to a TFTP server (one file per page, uploaded with the in-kernel
/// client unless [`TFTP_BACKEND_NO_UPLOAD`]) and from then on fills their
/// lazy entries from there: the `tftp` backend (needs `CAP_SYS_ADMIN` and
/// `CAP_NET_ADMIN`).
pub const IOC_TFTP_BACKEND: u32 = iowr(0x07, TFTP_BACKEND_SIZE);

/// Copies `src` into `dst` (same length).
fn put(dst: &mut [u8], off: usize, src: &[u8]) {
    dst[off..off + src.len()].copy_from_slice(src);
}

/// `N` bytes of `b` from `off`.
fn get_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[off..off + N]);
    a
}

/// `s` as a NUL-padded array (truncated to leave at least one NUL).
fn c_string<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = s.len().min(N - 1);
    a[..n].copy_from_slice(&s[..n]);
    a
}

/// The bytes of a NUL-padded array up to its NUL, or `None` without one.
pub fn c_str_bytes(a: &[u8]) -> Option<&[u8]> {
    let end = a.iter().position(|&c| c == 0)?;
    Some(&a[..end])
}

/// [`EvictTask::flags`]: also evict pages shared copy-on-write with
/// another process; each process's mapping gets its own entry, so the
/// processes no longer share those pages once they touch them.
pub const EVICT_SHARED: u32 = 1;

/// `struct lazyresume_evict_task`: the argument of [`IOC_EVICT_TASK`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvictTask {
    /// The process whose pages are evicted; 0 is the caller.
    pub pid: u32,
    /// 0 or [`EVICT_SHARED`] (reserved, zero, before ABI 1.5).
    pub flags: u32,
    /// The range and, out, the counts.
    pub range: Evict,
}

/// Size of [`EvictTask`] in bytes.
pub const EVICT_TASK_SIZE: usize = core::mem::size_of::<EvictTask>();

impl EvictTask {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; EVICT_TASK_SIZE] {
        let mut o = [0u8; EVICT_TASK_SIZE];
        put(&mut o, 0, &pair_to_bytes(self.pid, self.flags));
        put(&mut o, 8, &self.range.to_bytes());
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; EVICT_TASK_SIZE]) -> Self {
        Self {
            pid: get_u32(b, 0),
            flags: get_u32(b, 4),
            range: Evict::from_bytes(&get_array(b, 8)),
        }
    }
}

/// `LAZYRESUME_IOC_EVICT_TASK`: [`IOC_EVICT`] for another process (for the
/// capture of an image; needs `CAP_SYS_ADMIN`).
pub const IOC_EVICT_TASK: u32 = iowr(0x08, EVICT_TASK_SIZE);

/// `struct lazyresume_page_hashes`: the argument of [`IOC_PAGE_HASHES`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageHashes {
    /// First page index asked for.
    pub first: u64,
    /// Number of hashes the buffer holds.
    pub count: u64,
    /// User address of `count * 32` bytes.
    pub hashes: u64,
    /// Out: number of indexes of the page store.
    pub total: u64,
    /// Out: how many of them are on the TFTP server.
    pub remote: u64,
}

/// Size of [`PageHashes`] in bytes.
pub const PAGE_HASHES_SIZE: usize = core::mem::size_of::<PageHashes>();

impl PageHashes {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; PAGE_HASHES_SIZE] {
        let mut o = [0u8; PAGE_HASHES_SIZE];
        let f = [self.first, self.count, self.hashes, self.total, self.remote];
        for (chunk, v) in o.chunks_exact_mut(8).zip(f) {
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; PAGE_HASHES_SIZE]) -> Self {
        Self {
            first: get_u64(b, 0),
            count: get_u64(b, 8),
            hashes: get_u64(b, 16),
            total: get_u64(b, 24),
            remote: get_u64(b, 32),
        }
    }
}

/// `LAZYRESUME_IOC_PAGE_HASHES`: the SHA-256 of stored pages (for the
/// manifest of a captured image; needs `CAP_SYS_ADMIN`).
pub const IOC_PAGE_HASHES: u32 = iowr(0x09, PAGE_HASHES_SIZE);

/// Length of [`NetIdentity::ifname`].
pub const IFNAME_LEN: usize = 16;
/// Length of image names.
pub const IMAGE_NAME_LEN: usize = 128;
/// Length of [`Resume::reason`].
pub const REASON_LEN: usize = 128;

/// `struct lazyresume_net_identity`: a client's network identity.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetIdentity {
    /// Interface name, NUL-terminated.
    pub ifname: [u8; IFNAME_LEN],
    /// Its MAC address.
    pub mac: [u8; 6],
    /// Must be zero.
    pub reserved: u16,
    /// IPv4 address, netmask and default gateway, most significant byte
    /// first.
    pub addr: [u8; 4],
    /// See `addr`.
    pub netmask: [u8; 4],
    /// See `addr`; 0.0.0.0 for none.
    pub gateway: [u8; 4],
    /// The TFTP server of the image.
    pub server: [u8; 4],
    /// Its port; 0 means 69.
    pub port: u16,
    /// Must be zero.
    pub reserved2: u16,
    /// Must be zero.
    pub reserved3: u32,
}

/// Size of [`NetIdentity`] in bytes.
pub const NET_IDENTITY_SIZE: usize = core::mem::size_of::<NetIdentity>();

impl NetIdentity {
    /// The structure as bytes, in native byte order.
    pub fn to_bytes(self) -> [u8; NET_IDENTITY_SIZE] {
        let mut o = [0u8; NET_IDENTITY_SIZE];
        put(&mut o, 0, &self.ifname);
        put(&mut o, 16, &self.mac);
        put(&mut o, 22, &self.reserved.to_ne_bytes());
        put(&mut o, 24, &self.addr);
        put(&mut o, 28, &self.netmask);
        put(&mut o, 32, &self.gateway);
        put(&mut o, 36, &self.server);
        put(&mut o, 40, &self.port.to_ne_bytes());
        put(&mut o, 42, &self.reserved2.to_ne_bytes());
        put(&mut o, 44, &self.reserved3.to_ne_bytes());
        o
    }

    /// Parses bytes made by [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8; NET_IDENTITY_SIZE]) -> Self {
        Self {
            ifname: get_array(b, 0),
            mac: get_array(b, 16),
            reserved: get_u16(b, 22),
            addr: get_array(b, 24),
            netmask: get_array(b, 28),
            gateway: get_array(b, 32),
            server: get_array(b, 36),
            port: get_u16(b, 40),
            reserved2: get_u16(b, 42),
            reserved3: get_u32(b, 44),
        }
    }

    /// Sets the interface name (truncated to fit).
    pub fn set_ifname(&mut self, name: &[u8]) {
        self.ifname = c_string(name);
    }
}

/// [`Resume::flags`]: fetch, check and load the image, then give up
/// instead of jumping to it (a test of everything before the jump).
pub const RESUME_DRY_RUN: u32 = 1 << 0;

/// `struct lazyresume_resume`: the argument of [`IOC_RESUME`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// This client's identity, handed to the restored kernel; `server`
    /// and `port` are where the image is.
    pub id: NetIdentity,
    /// The image: its directory on the server, NUL-terminated.
    pub image: [u8; IMAGE_NAME_LEN],
    /// `blksize` to ask for; 0 means the largest (65464).
    pub blksize: u16,
    /// `windowsize` to ask for; 0 or 1 asks for none.
    pub windowsize: u16,
    /// Initial retransmission timeout in milliseconds; 0 means 500.
    pub rto_ms: u32,
    /// Deadline of each transfer in milliseconds; 0 means 60000.
    pub deadline_ms: u32,
    /// `RESUME_*` flags.
    pub flags: u32,
    /// Out: why the resume failed, NUL-terminated.
    pub reason: [u8; REASON_LEN],
    /// Out: bytes of the manifest.
    pub manifest_bytes: u64,
    /// Out: bytes of pageset1.
    pub pageset1_bytes: u64,
    /// Out: time fetching and loading took, in nanoseconds.
    pub elapsed_ns: u64,
}

/// Size of [`Resume`] in bytes.
pub const RESUME_SIZE: usize = core::mem::size_of::<Resume>();

impl Resume {
    /// A request to resume `image` with identity `id`, every other input
    /// at its default.
    pub fn new(id: NetIdentity, image: &[u8]) -> Self {
        Self {
            id,
            image: c_string(image),
            blksize: 0,
            windowsize: 0,
            rto_ms: 0,
            deadline_ms: 0,
            flags: 0,
            reason: [0; REASON_LEN],
            manifest_bytes: 0,
            pageset1_bytes: 0,
            elapsed_ns: 0,
        }
    }

    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; RESUME_SIZE] {
        let mut o = [0u8; RESUME_SIZE];
        put(&mut o, 0, &self.id.to_bytes());
        put(&mut o, 48, &self.image);
        put(&mut o, 176, &self.blksize.to_ne_bytes());
        put(&mut o, 178, &self.windowsize.to_ne_bytes());
        put(&mut o, 180, &self.rto_ms.to_ne_bytes());
        put(&mut o, 184, &pair_to_bytes(self.deadline_ms, self.flags));
        put(&mut o, 192, &self.reason);
        put(&mut o, 320, &self.manifest_bytes.to_ne_bytes());
        put(&mut o, 328, &self.pageset1_bytes.to_ne_bytes());
        put(&mut o, 336, &self.elapsed_ns.to_ne_bytes());
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; RESUME_SIZE]) -> Self {
        Self {
            id: NetIdentity::from_bytes(&get_array(b, 0)),
            image: get_array(b, 48),
            blksize: get_u16(b, 176),
            windowsize: get_u16(b, 178),
            rto_ms: get_u32(b, 180),
            deadline_ms: get_u32(b, 184),
            flags: get_u32(b, 188),
            reason: get_array(b, 192),
            manifest_bytes: get_u64(b, 320),
            pageset1_bytes: get_u64(b, 328),
            elapsed_ns: get_u64(b, 336),
        }
    }

    /// Sets [`Self::reason`] (truncated to fit).
    pub fn set_reason(&mut self, reason: &[u8]) {
        self.reason = c_string(reason);
    }
}

/// `LAZYRESUME_IOC_RESUME`: fetch, check and restore an image (needs
/// `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`). Returns only on failure.
pub const IOC_RESUME: u32 = iowr(0x0A, RESUME_SIZE);

/// `struct lazyresume_adopt`: what [`IOC_ADOPT`] returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adopt {
    /// The identity the boot kernel handed over.
    pub id: NetIdentity,
    /// The image that was resumed, NUL-terminated.
    pub image: [u8; IMAGE_NAME_LEN],
}

/// Size of [`Adopt`] in bytes.
pub const ADOPT_SIZE: usize = core::mem::size_of::<Adopt>();

impl Adopt {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; ADOPT_SIZE] {
        let mut o = [0u8; ADOPT_SIZE];
        put(&mut o, 0, &self.id.to_bytes());
        put(&mut o, 48, &self.image);
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; ADOPT_SIZE]) -> Self {
        Self {
            id: NetIdentity::from_bytes(&get_array(b, 0)),
            image: get_array(b, 48),
        }
    }
}

/// `LAZYRESUME_IOC_ADOPT`: after a resume, take over the boot kernel's
/// hand-off (needs `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`).
pub const IOC_ADOPT: u32 = ior(0x0B, ADOPT_SIZE);

/// [`Status::flags`]: this system was resumed from an image.
pub const STATUS_RESUMED: u16 = 1 << 0;

/// `struct lazyresume_status`: what [`IOC_STATUS`] returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Lazy entries not filled yet.
    pub pages_outstanding: u64,
    /// Pages fetched and mapped.
    pub pages_fetched: u64,
    /// Bytes fetched.
    pub bytes_fetched: u64,
    /// Fetches that failed.
    pub fetch_failures: u64,
    /// Faults timed.
    pub latency_count: u64,
    /// Their mean, in nanoseconds.
    pub latency_mean_ns: u64,
    /// Their maximum, in nanoseconds.
    pub latency_max_ns: u64,
    /// Time since the resume, in nanoseconds (with [`STATUS_RESUMED`]).
    pub since_resume_ns: u64,
    /// The TFTP server pages come from (0.0.0.0: none).
    pub server: [u8; 4],
    /// Its port.
    pub port: u16,
    /// `STATUS_*` flags.
    pub flags: u16,
    /// Page file prefix on the server, NUL-terminated.
    pub prefix: [u8; TFTP_PREFIX_LEN],
}

/// Size of [`Status`] in bytes.
pub const STATUS_SIZE: usize = core::mem::size_of::<Status>();

impl Status {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; STATUS_SIZE] {
        let mut o = [0u8; STATUS_SIZE];
        let f = [
            self.pages_outstanding,
            self.pages_fetched,
            self.bytes_fetched,
            self.fetch_failures,
            self.latency_count,
            self.latency_mean_ns,
            self.latency_max_ns,
            self.since_resume_ns,
        ];
        for (chunk, v) in o.chunks_exact_mut(8).zip(f) {
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        put(&mut o, 64, &self.server);
        put(&mut o, 68, &self.port.to_ne_bytes());
        put(&mut o, 70, &self.flags.to_ne_bytes());
        put(&mut o, 72, &self.prefix);
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; STATUS_SIZE]) -> Self {
        Self {
            pages_outstanding: get_u64(b, 0),
            pages_fetched: get_u64(b, 8),
            bytes_fetched: get_u64(b, 16),
            fetch_failures: get_u64(b, 24),
            latency_count: get_u64(b, 32),
            latency_mean_ns: get_u64(b, 40),
            latency_max_ns: get_u64(b, 48),
            since_resume_ns: get_u64(b, 56),
            server: get_array(b, 64),
            port: get_u16(b, 68),
            flags: get_u16(b, 70),
            prefix: get_array(b, 72),
        }
    }
}

/// `LAZYRESUME_IOC_STATUS`: the state of the pageset2 backend.
pub const IOC_STATUS: u32 = ior(0x0C, STATUS_SIZE);

/// `struct lazyresume_read_pages`: the argument of [`IOC_READ_PAGES`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadPages {
    /// First page index.
    pub first: u64,
    /// Number of pages.
    pub count: u64,
    /// User address of `count` pages.
    pub buf: u64,
}

/// Size of [`ReadPages`] in bytes.
pub const READ_PAGES_SIZE: usize = core::mem::size_of::<ReadPages>();

impl ReadPages {
    /// The structure as the bytes the ioctl copies, in native byte order.
    pub fn to_bytes(self) -> [u8; READ_PAGES_SIZE] {
        let mut o = [0u8; READ_PAGES_SIZE];
        put(&mut o, 0, &self.first.to_ne_bytes());
        put(&mut o, 8, &self.count.to_ne_bytes());
        put(&mut o, 16, &self.buf.to_ne_bytes());
        o
    }

    /// Parses the bytes of the ioctl argument.
    pub fn from_bytes(b: &[u8; READ_PAGES_SIZE]) -> Self {
        Self {
            first: get_u64(b, 0),
            count: get_u64(b, 8),
            buf: get_u64(b, 16),
        }
    }
}

/// `LAZYRESUME_IOC_READ_PAGES`: the content of pages the memory backend
/// holds (for the capture; needs `CAP_SYS_ADMIN`).
pub const IOC_READ_PAGES: u32 = iow(0x0D, READ_PAGES_SIZE);
