// SPDX-License-Identifier: GPL-2.0

//! The `/dev/lazyresume` ioctl ABI, shared by the kernel module and
//! userspace.
//!
//! This file is compiled into the module (`rust/shared.rs` includes it)
//! and into the `lazyresume-abi` crate, so it uses `core` only. The C view
//! of the same ABI is `include/uapi/linux/lazyresume.h`; a host test
//! (`tests/c_header.rs`) checks that both agree, constant by constant and
//! offset by offset.
//!
//! Each `#[repr(C)]` structure below is its own wire format: the ioctl
//! copies its bytes as they are, in native byte order. Every field is an
//! integer, an array of bytes or another of these structures, and no
//! structure has padding (the C header spells out its `reserved` fields),
//! so any bytes are a valid value and every byte of a value is
//! initialized. Userspace reads and writes them with `zerocopy` (the
//! `zerocopy` feature of the crate, on by default), whose derives check
//! all this at compile time; the module, which cannot use that crate,
//! implements the kernel's `FromBytes` and `AsBytes` for them
//! (`rust/sys/abi.rs`) and copies them with `UserSliceReader::read` and
//! `UserSliceWriter::write`.

#[cfg(feature = "zerocopy")]
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Major ABI version: changes on any incompatible change.
pub const ABI_MAJOR: u32 = 3;
/// Minor ABI version: grows when ioctls or fields are added.
pub const ABI_MINOR: u32 = 4;

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

/// `_IOC_SIZE(cmd)`: the size of the argument that ioctl number `cmd`
/// encodes.
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
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

/// `struct lazyresume_version`: what [`IOC_GET_VERSION`] returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
        Self {
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            features,
            version: c_string(version.as_bytes()),
        }
    }

    /// The version string up to its NUL, or `None` if it is not valid
    /// UTF-8 or not NUL-terminated.
    pub fn version_str(&self) -> Option<&str> {
        core::str::from_utf8(c_str_bytes(&self.version)?).ok()
    }
}

/// `LAZYRESUME_IOC_GET_VERSION`: reads a [`Version`].
pub const IOC_GET_VERSION: u32 = ior(0x00, VERSION_SIZE);

/// Length of [`TftpXfer::filename`], NUL terminator included.
pub const TFTP_FILENAME_LEN: usize = 256;

/// [`TftpXfer::flags`]: do not compute the SHA-256 of the file (for
/// throughput measurements); `sha256` comes back zeroed.
pub const TFTP_NO_DIGEST: u16 = 1 << 0;

/// [`TftpXfer::flags`]: ([`IOC_TFTP_GET`] only) fetch the file twice, one
/// transfer after the other on one socket, as the fetch engine's workers
/// keep theirs; the report is the second transfer's.
pub const TFTP_TWICE: u16 = 1 << 1;

/// `struct lazyresume_tftp_xfer`: a transfer by the in-kernel TFTP client,
/// the argument of [`IOC_TFTP_GET`] and [`IOC_TFTP_PUT`]. The first part is
/// filled by the caller; the module fills the rest.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
        Self {
            server,
            port,
            blksize: 0,
            windowsize: 0,
            flags: 0,
            rto_ms: 0,
            deadline_ms: 0,
            filename: c_string(filename),
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
        c_str_bytes(&self.filename)
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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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

/// Size of [`Evict`] in bytes, as the kernel and C see it.
pub const EVICT_SIZE: usize = core::mem::size_of::<Evict>();

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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Policy {
    /// [`POLICY_BLOCK`] or [`POLICY_SIGBUS`].
    pub policy: u32,
    /// [`POLICY_SIGBUS`]: how long to retry, in milliseconds; 0 means the
    /// default (10000).
    pub deadline_ms: u32,
}

/// Size of [`Policy`] in bytes.
pub const POLICY_SIZE: usize = core::mem::size_of::<Policy>();

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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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

/// `LAZYRESUME_IOC_MEM_INJECT`: sets the [`MemInject`] fault injection
/// (needs `CAP_SYS_ADMIN`).
pub const IOC_MEM_INJECT: u32 = iow(0x06, MEM_INJECT_SIZE);

/// Length of [`TftpBackend::prefix`], NUL terminator included.
pub const TFTP_PREFIX_LEN: usize = 128;

/// [`TftpBackend::flags`]: the page files are on the server already (put
/// there by an earlier call or another tool): upload nothing.
pub const TFTP_BACKEND_NO_UPLOAD: u32 = 1 << 0;
/// [`TftpBackend::flags`]: the page files are LZ4-encoded chunk files of
/// an image of format version 3 (`Documentation/image-format.rst`): the
/// pages that are not zero, in LZ4 blocks, and no file for a chunk of
/// zeros. Needs [`TFTP_BACKEND_NO_UPLOAD`]. Without it the files are raw,
/// every page of a file in place (zero pages too, though none is ever
/// fetched).
pub const TFTP_BACKEND_LZ4: u32 = 1 << 1;
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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
        Self {
            server,
            port,
            blksize: 0,
            rto_ms: 0,
            flags: 0,
            prefix: c_string(prefix),
            pages: 0,
            elapsed_ns: 0,
        }
    }

    /// The prefix up to its NUL, or `None` if it has no NUL.
    pub fn prefix_bytes(&self) -> Option<&[u8]> {
        c_str_bytes(&self.prefix)
    }
}

/// `LAZYRESUME_IOC_TFTP_BACKEND`: moves every page the `memory` backend
/// holds to a TFTP server (one file per page, uploaded with the in-kernel
/// client unless [`TFTP_BACKEND_NO_UPLOAD`]) and from then on fills their
/// lazy entries from there: the `tftp` backend (needs `CAP_SYS_ADMIN` and
/// `CAP_NET_ADMIN`).
pub const IOC_TFTP_BACKEND: u32 = iowr(0x07, TFTP_BACKEND_SIZE);

/// [`EvictTask::flags`]: also evict pages shared copy-on-write with
/// another process; every mapping of such a page gets the same entry, and
/// the page is one page again, shared, once read after the resume (ABI
/// 2.1).
pub const EVICT_SHARED: u32 = 1;

/// `struct lazyresume_evict_task`: the argument of [`IOC_EVICT_TASK`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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

/// `LAZYRESUME_IOC_EVICT_TASK`: [`IOC_EVICT`] for another process (for the
/// capture of an image; needs `CAP_SYS_ADMIN`).
pub const IOC_EVICT_TASK: u32 = iowr(0x08, EVICT_TASK_SIZE);

/// `struct lazyresume_page_hashes`: the argument of [`IOC_PAGE_HASHES`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
    /// Sets the interface name (truncated to fit).
    pub fn set_ifname(&mut self, name: &[u8]) {
        self.ifname = c_string(name);
    }
}

/// [`Resume::flags`]: fetch, check and load the image, then give up
/// instead of jumping to it (a test of everything before the jump).
pub const RESUME_DRY_RUN: u32 = 1 << 0;
/// [`Resume::flags`]: the resumed system fetches only what its faults ask
/// for, with the background lane off ([`BACKGROUND_OFF`]) from the start.
pub const RESUME_BACKGROUND_OFF: u32 = 1 << 1;

/// [`Resume::flags`]: the resumed system records the order in which its
/// pageset2 pages are first touched ([`IOC_WORKINGSET`]), with the
/// background lane and the installer waiting until the recording stops
/// (ABI 2.2).
pub const RESUME_RECORD_WORKINGSET: u32 = 1 << 2;

/// [`Resume::flags`]: resume an image whose manifest carries no signature
/// rather than refuse it (ABI 3.0); a signature that is there must still
/// verify. Without it, only an image signed by a key of the kernel's
/// trusted keyrings is restored.
pub const RESUME_ALLOW_UNSIGNED: u32 = 1 << 3;

/// `struct lazyresume_resume`: the argument of [`IOC_RESUME`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
    /// Refuse an image whose generation is below this one (a rollback).
    pub min_generation: u64,
    /// Out: the image's generation.
    pub generation: u64,
    /// Out: 1 if the image's signature was checked and good.
    pub verified: u32,
    /// Must be zero.
    pub reserved: u32,
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
            min_generation: 0,
            generation: 0,
            verified: 0,
            reserved: 0,
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
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Adopt {
    /// The identity the boot kernel handed over.
    pub id: NetIdentity,
    /// The image that was resumed, NUL-terminated.
    pub image: [u8; IMAGE_NAME_LEN],
    /// `ADOPT_*` flags.
    pub flags: u32,
    /// Zero.
    pub reserved: u32,
}

/// [`Adopt::flags`]: the resume asked for the background lane off
/// ([`RESUME_BACKGROUND_OFF`]); the module turned it off.
pub const ADOPT_BACKGROUND_OFF: u32 = 1 << 0;

/// [`Adopt::flags`]: the resume asked for a recording of first touches
/// ([`RESUME_RECORD_WORKINGSET`]); the module started it.
pub const ADOPT_RECORD_WORKINGSET: u32 = 1 << 1;

/// Size of [`Adopt`] in bytes.
pub const ADOPT_SIZE: usize = core::mem::size_of::<Adopt>();

/// `LAZYRESUME_IOC_ADOPT`: after a resume, take over the boot kernel's
/// hand-off (needs `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`).
pub const IOC_ADOPT: u32 = ior(0x0B, ADOPT_SIZE);

/// [`Status::flags`]: this system was resumed from an image.
pub const STATUS_RESUMED: u16 = 1 << 0;
/// [`Status::flags`]: every page is local; the server is no longer needed.
pub const STATUS_COMPLETE: u16 = 1 << 1;

/// `struct lazyresume_status`: what [`IOC_STATUS`] returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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
    /// Time from the resume to the last lazy entry filled (with
    /// [`STATUS_COMPLETE`]).
    pub complete_after_ns: u64,
    /// Pages fetched because a fault waited for them.
    pub urgent_pages: u64,
    /// Their bytes on the wire.
    pub urgent_bytes: u64,
    /// Median latency of the faults that waited for a fetch (upper bound
    /// of a power-of-two bucket).
    pub urgent_p50_ns: u64,
    /// Their 99th percentile, likewise.
    pub urgent_p99_ns: u64,
    /// Pages fetched by the background lane.
    pub background_pages: u64,
    /// Their bytes on the wire.
    pub background_bytes: u64,
    /// Time the background lane spent in transfers.
    pub background_busy_ns: u64,
    /// Pages the background put into page tables.
    pub pages_installed: u64,
    /// Pages fetched and not installed yet.
    pub pages_local: u64,
    /// `BACKGROUND_*` mode of the background lane.
    pub background: u32,
    /// Its rate limit in MiB/s, 0 for none.
    pub rate_mib: u32,
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

/// `LAZYRESUME_IOC_STATUS`: the state of the pageset2 backend.
pub const IOC_STATUS: u32 = ior(0x0C, STATUS_SIZE);

/// [`Background::mode`]: stream the rest of the pages (the default).
pub const BACKGROUND_FULL: u32 = 0;
/// [`Background::mode`]: stream only while no fault is waiting.
pub const BACKGROUND_IDLE: u32 = 1;
/// [`Background::mode`]: fetch only what faults ask for.
pub const BACKGROUND_OFF: u32 = 2;

/// `struct lazyresume_background`: the background lane of the fetch
/// engine; argument of [`IOC_SET_BACKGROUND`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Background {
    /// `BACKGROUND_*`.
    pub mode: u32,
    /// At most this many MiB/s; 0: no limit.
    pub rate_mib: u32,
}

/// Size of [`Background`] in bytes.
pub const BACKGROUND_SIZE: usize = core::mem::size_of::<Background>();

/// `LAZYRESUME_IOC_SET_BACKGROUND`: sets the [`Background`] lane (needs
/// `CAP_SYS_ADMIN`).
pub const IOC_SET_BACKGROUND: u32 = iow(0x0E, BACKGROUND_SIZE);

/// `struct lazyresume_read_pages`: the argument of [`IOC_READ_PAGES`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
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

/// `LAZYRESUME_IOC_READ_PAGES`: the content of pages the memory backend
/// holds (for the capture; needs `CAP_SYS_ADMIN`).
pub const IOC_READ_PAGES: u32 = iow(0x0D, READ_PAGES_SIZE);

/// [`Workingset::op`]: only report (the out fields).
pub const WORKINGSET_QUERY: u32 = 0;
/// [`Workingset::op`]: start recording first touches, forgetting an
/// earlier recording.
pub const WORKINGSET_START: u32 = 1;
/// [`Workingset::op`]: stop recording; what was recorded stays.
pub const WORKINGSET_STOP: u32 = 2;
/// [`Workingset::op`]: copy recorded entries `first..first + count` to
/// `buf`.
pub const WORKINGSET_READ: u32 = 3;

/// [`Workingset::flags`], out: a recording runs.
pub const WORKINGSET_RECORDING: u32 = 1 << 0;

/// [`Workingset::loadset`]: the client has no loading set to fetch.
pub const LOADSET_NONE: u32 = 0;
/// [`Workingset::loadset`]: it is to be fetched, or being fetched.
pub const LOADSET_PENDING: u32 = 1;
/// [`Workingset::loadset`]: it was fetched and its pages kept.
pub const LOADSET_DONE: u32 = 2;
/// [`Workingset::loadset`]: it was refused (another image, damaged); the
/// kernel log says why.
pub const LOADSET_REFUSED: u32 = 3;
/// [`Workingset::loadset`]: the image has none on the server.
pub const LOADSET_MISSING: u32 = 4;
/// [`Workingset::stream`]: stopped before its end (the background lane
/// left full speed, a recording started, or its transfer failed after it
/// brought pages); page files bring the rest (ABI 3.2).
pub const LOADSET_STOPPED: u32 = 5;

/// `struct lazyresume_workingset`: the argument of [`IOC_WORKINGSET`]
/// (ABI 2.2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Workingset {
    /// `WORKINGSET_*` operation.
    pub op: u32,
    /// Out: `WORKINGSET_RECORDING` and the like.
    pub flags: u32,
    /// [`WORKINGSET_START`]: stop after this many pages; 0: every
    /// pageset2 page.
    pub max_pages: u64,
    /// [`WORKINGSET_START`]: stop after this many milliseconds; 0: never.
    pub max_ms: u64,
    /// [`WORKINGSET_READ`]: the first entry to copy.
    pub first: u64,
    /// [`WORKINGSET_READ`]: entries `buf` holds (at most 65536).
    pub count: u64,
    /// [`WORKINGSET_READ`]: user address of `count` `u64` page indexes.
    pub buf: u64,
    /// Out: entries recorded (pageset2 pages, in first-touch order).
    pub recorded: u64,
    /// Out: pages the loading set brought that were still needed.
    pub loadset_pages: u64,
    /// Out: bytes of the loading set fetched.
    pub loadset_bytes: u64,
    /// Out: `LOADSET_*`.
    pub loadset: u32,
    /// In: zero. Out: `LOADSET_*` of the image's stream, which the
    /// background lane fetches first (ABI 3.2; zero before).
    pub stream: u32,
}

/// Size of [`Workingset`] in bytes.
pub const WORKINGSET_SIZE: usize = core::mem::size_of::<Workingset>();

/// `LAZYRESUME_IOC_WORKINGSET`: record first touches of pageset2 pages
/// and report the loading set (needs `CAP_SYS_ADMIN` but for
/// [`WORKINGSET_QUERY`]).
pub const IOC_WORKINGSET: u32 = iowr(0x0F, WORKINGSET_SIZE);

/// [`Timeline::op`]: report the events and copy samples (anyone).
pub const TIMELINE_READ: u32 = 0;
/// [`Timeline::op`]: note that event [`Timeline::event`] happened at
/// [`Timeline::mark_ns`] (`CLOCK_MONOTONIC`, 0: now); only the events
/// user space sees ([`TL_DEVICES_RESUMED`], [`TL_THAWED`],
/// [`TL_HOOK_DONE`], [`TL_FIRST_ANSWER`]); needs `CAP_SYS_ADMIN`.
pub const TIMELINE_MARK: u32 = 1;

/// Events of the timeline, indexes of [`Timeline::event_ns`]. Boot
/// kernel: the module was loaded.
pub const TL_MODULE_LOADED: u32 = 0;
/// Boot kernel: `LAZYRESUME_IOC_RESUME` began.
pub const TL_RESUME_REQUESTED: u32 = 1;
/// Boot kernel: the manifest arrived.
pub const TL_MANIFEST_FETCHED: u32 = 2;
/// Boot kernel: the manifest's signature, name, generation and kernel
/// were checked.
pub const TL_MANIFEST_VERIFIED: u32 = 3;
/// Boot kernel: the last byte of `pageset1` arrived (it is checked,
/// decoded and loaded as it streams in).
pub const TL_PAGESET1_FETCHED: u32 = 4;
/// Boot kernel: `pageset1` was checked whole and decoded.
pub const TL_PAGESET1_DECODED: u32 = 5;
/// Boot kernel: the hand-off is written and the restore begins (freeze,
/// quiesce devices, copy the image into place, jump).
pub const TL_JUMP: u32 = 6;
/// Restored kernel: devices resumed, the resuming tool runs again (user
/// space marks it).
pub const TL_DEVICES_RESUMED: u32 = 7;
/// Restored kernel: the hand-off was adopted (`LAZYRESUME_IOC_ADOPT`).
pub const TL_ADOPTED: u32 = 8;
/// Restored kernel: user space thawed (user space marks it).
pub const TL_THAWED: u32 = 9;
/// Restored kernel: the post-resume hook returned (user space marks it).
pub const TL_HOOK_DONE: u32 = 10;
/// Restored kernel: the first fault on a lazy entry.
pub const TL_FIRST_FAULT: u32 = 11;
/// Restored kernel: the working-set lane ended (fetched, refused or
/// missing: `LAZYRESUME_IOC_WORKINGSET` says which).
pub const TL_LOADSET_DONE: u32 = 12;
/// Restored kernel: complete, every page is local.
pub const TL_COMPLETE: u32 = 13;
/// Restored kernel: an application's first answer (marked by it, the
/// first mark after the adoption counts; the test workload marks each of
/// its readiness answers).
pub const TL_FIRST_ANSWER: u32 = 14;
/// Number of events.
pub const TL_EVENTS: usize = 15;
/// Room for events in [`Timeline::event_ns`].
pub const TL_EVENT_SLOTS: usize = 16;

/// [`Timeline::flags`]: the boot kernel's events came with the hand-off
/// and the restored kernel's are anchored at the jump.
pub const TIMELINE_RESUMED: u32 = 1 << 0;
/// [`Timeline::flags`]: the time from the jump to the adoption was
/// measured (with the CPU's time-stamp counter); without it the adoption
/// is placed at the jump.
pub const TIMELINE_GAP_MEASURED: u32 = 1 << 1;
/// [`Timeline::flags`]: samples are still being taken.
pub const TIMELINE_SAMPLING: u32 = 1 << 2;

/// `struct lazyresume_timeline_sample`: the pages of each lane at one
/// time.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct TimelineSample {
    /// Time on the timeline's clock, nanoseconds.
    pub t_ns: i64,
    /// Pages fetched because a fault waited for them.
    pub urgent_pages: u64,
    /// Pages the loading set brought.
    pub workingset_pages: u64,
    /// Pages the background lane brought.
    pub background_pages: u64,
    /// Pages installed into page tables.
    pub installed_pages: u64,
}

/// Size of [`TimelineSample`] in bytes.
pub const TIMELINE_SAMPLE_SIZE: usize = core::mem::size_of::<TimelineSample>();

/// `struct lazyresume_timeline`: the argument of [`IOC_TIMELINE`] (ABI
/// 3.1). The clock: nanoseconds of the boot kernel's `CLOCK_MONOTONIC`
/// (from its start); the restored kernel's events are placed after the
/// jump by the time from the jump to the adoption.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Timeline {
    /// `TIMELINE_*` operation.
    pub op: u32,
    /// [`TIMELINE_MARK`]: the `TL_*` event.
    pub event: u32,
    /// [`TIMELINE_MARK`]: its `CLOCK_MONOTONIC` time in nanoseconds; 0:
    /// now.
    pub mark_ns: u64,
    /// [`TIMELINE_READ`]: user address of `count` samples, or 0.
    pub samples: u64,
    /// [`TIMELINE_READ`]: in, samples `samples` holds; out, copied.
    pub count: u32,
    /// Out: samples held.
    pub total: u32,
    /// Out: the sampling period in milliseconds (it doubles each time the
    /// samples fill their ring, which then keeps every other one).
    pub period_ms: u32,
    /// Out: `TIMELINE_*` flags.
    pub flags: u32,
    /// Out: bit `TL_*` set if that event happened.
    pub known: u64,
    /// Out: the time of each event, nanoseconds on the timeline's clock.
    pub event_ns: [i64; TL_EVENT_SLOTS],
}

/// Size of [`Timeline`] in bytes.
pub const TIMELINE_SIZE: usize = core::mem::size_of::<Timeline>();

/// `LAZYRESUME_IOC_TIMELINE`: the resume as a timeline (events and the
/// pages per lane over time).
pub const IOC_TIMELINE: u32 = iowr(0x10, TIMELINE_SIZE);

/// [`Mirrors::op`]: the mirrors of the next resume (ABI 3.3).
pub const MIRRORS_SET: u32 = 0;
/// [`Mirrors::op`]: the servers in use and their counters.
pub const MIRRORS_GET: u32 = 1;
/// Mirrors besides the primary server, at most.
pub const MIRRORS_MAX: usize = 4;
/// The primary server and its mirrors, at most.
pub const SERVERS_MAX: usize = MIRRORS_MAX + 1;

/// `struct lazyresume_server`: a TFTP server.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Server {
    /// IPv4 address, most significant byte first.
    pub addr: [u8; 4],
    /// UDP port; 0 means 69.
    pub port: u16,
    /// [`MIRRORS_SET`]: must be zero; [`MIRRORS_GET`] (ABI 3.4): times
    /// a fetcher that had left this server for silence came back to it
    /// and it answered (saturating at `u16::MAX`; 0 from a 3.3 module).
    pub returns: u16,
}

/// Size of [`Server`] in bytes.
pub const SERVER_SIZE: usize = core::mem::size_of::<Server>();

/// `struct lazyresume_mirrors`: the argument of [`IOC_MIRRORS`] (ABI
/// 3.3), the servers that hold the same image as the primary one.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(FromBytes, IntoBytes, Immutable, KnownLayout)
)]
pub struct Mirrors {
    /// `MIRRORS_*` operation.
    pub op: u32,
    /// [`MIRRORS_SET`]: in, mirrors in `server` (at most
    /// [`MIRRORS_MAX`]); [`MIRRORS_GET`]: out, servers in use, first
    /// the one the boot kernel fetched pageset1 from (the primary unless
    /// it failed over), then the others in their order (0: pages come
    /// from no server).
    pub count: u32,
    /// [`MIRRORS_SET`]: the mirrors; [`MIRRORS_GET`]: the servers.
    pub server: [Server; SERVERS_MAX],
    /// [`MIRRORS_GET`]: transfers each server answered during this
    /// resume, the boot kernel's included (ABI 3.4).
    pub transfers: [u64; SERVERS_MAX],
    /// [`MIRRORS_GET`]: transfers of each server that found no answer,
    /// after which the fetcher (or the boot kernel, ABI 3.4) went on
    /// with the next server.
    pub failovers: [u64; SERVERS_MAX],
}

/// Size of [`Mirrors`] in bytes.
pub const MIRRORS_SIZE: usize = core::mem::size_of::<Mirrors>();

/// `LAZYRESUME_IOC_MIRRORS`: set the mirrors of the primary server before
/// [`IOC_RESUME`] (`CAP_SYS_ADMIN` and `CAP_NET_ADMIN`), or get the
/// servers pages come from and their counters (anyone).
pub const IOC_MIRRORS: u32 = iowr(0x11, MIRRORS_SIZE);
