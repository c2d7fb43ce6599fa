// SPDX-License-Identifier: GPL-2.0

//! The manifest: header, page hashes, checksum, and the file names.

use core::fmt;

/// The first bytes of a manifest.
pub const MAGIC: [u8; 8] = *b"LZRIMAGE";
/// The format version this code reads and writes.
pub const FORMAT_VERSION: u32 = 4;
/// Length of the manifest header.
pub const HEADER_LEN: usize = 352;
/// Length of a SHA-256 digest.
pub const HASH_LEN: usize = 32;
/// Length of [`Header::kernel_id`], NUL padding included.
pub const KERNEL_ID_LEN: usize = 64;
/// Length of [`Header::name`], NUL padding included: the ABI's
/// `IMAGE_NAME_LEN`, so that a name fits a resume request.
pub const NAME_LEN: usize = 128;
/// Largest `chunk_pages`.
pub const MAX_CHUNK_PAGES: u32 = 4096;
/// Name of the manifest file.
pub const MANIFEST_NAME: &str = "manifest";
/// Length of a manifest: the header and its SHA-256.
pub const MANIFEST_LEN: usize = HEADER_LEN + HASH_LEN;
/// Name of the detached signature of the manifest (PKCS#7/CMS SignedData
/// in DER, `lazyresume sign`).
pub const SIGNATURE_NAME: &str = "manifest.sig";
/// Largest signature a reader fetches: a resuming kernel refuses a longer
/// one before it allocates.
pub const MAX_SIGNATURE_LEN: usize = 8192;
/// Name of the file of pageset2 page hashes.
pub const HASHES_NAME: &str = "hashes";
/// Name of the pageset1 file.
pub const PAGESET1_NAME: &str = "pageset1";
/// Name of the file of the SHA-256 of each pageset1 segment.
pub const PAGESET1_SUMS_NAME: &str = "pageset1.sums";
/// Bytes of the `pageset1` file, as stored, per segment: each has its
/// SHA-256 in `pageset1.sums` (the last segment may be shorter). A block
/// of an LZ4-encoded image decodes to as much.
pub const SEGMENT_LEN: usize = 128 << 10;
/// Prefix of the pageset2 chunk file names.
pub const CHUNK_PREFIX: &str = "p2-";
/// Length of a chunk file name.
pub const CHUNK_NAME_LEN: usize = CHUNK_PREFIX.len() + 16;

/// A SHA-256 function.
pub type Sha256Fn = fn(&[u8]) -> [u8; HASH_LEN];

/// The SHA-256 of a page of zeros, for each page size from 4096 to 65536
/// (the `hashes` file says which pages are zero: they have no bytes in an
/// LZ4-encoded chunk file, and nobody fetches them).
const ZERO_PAGE_SHA256: [[u8; HASH_LEN]; 5] = [
    // 4096 bytes
    [
        0xad, 0x7f, 0xac, 0xb2, 0x58, 0x6f, 0xc6, 0xe9, 0x66, 0xc0, 0x04, 0xd7, 0xd1, 0xd1, 0x6b,
        0x02, 0x4f, 0x58, 0x05, 0xff, 0x7c, 0xb4, 0x7c, 0x7a, 0x85, 0xda, 0xbd, 0x8b, 0x48, 0x89,
        0x2c, 0xa7,
    ],
    // 8192 bytes
    [
        0x9f, 0x1d, 0xcb, 0xc3, 0x5c, 0x35, 0x0d, 0x60, 0x27, 0xf9, 0x8b, 0xe0, 0xf5, 0xc8, 0xb4,
        0x3b, 0x42, 0xca, 0x52, 0xb7, 0x60, 0x44, 0x59, 0xc0, 0xc4, 0x2b, 0xe3, 0xaa, 0x88, 0x91,
        0x3d, 0x47,
    ],
    // 16384 bytes
    [
        0x4f, 0xe7, 0xb5, 0x9a, 0xf6, 0xde, 0x3b, 0x66, 0x5b, 0x67, 0x78, 0x8c, 0xc2, 0xf9, 0x98,
        0x92, 0xab, 0x82, 0x7e, 0xfa, 0xe3, 0xa4, 0x67, 0x34, 0x2b, 0x3b, 0xb4, 0xe3, 0xbc, 0x8e,
        0x5b, 0xfe,
    ],
    // 32768 bytes
    [
        0xc3, 0x50, 0x20, 0x47, 0x3a, 0xed, 0x1b, 0x46, 0x42, 0xcd, 0x72, 0x6c, 0xad, 0x72, 0x7b,
        0x63, 0xff, 0xf2, 0x82, 0x4a, 0xd6, 0x8c, 0xed, 0xd7, 0xff, 0xb7, 0x3c, 0x7c, 0xbd, 0x89,
        0x04, 0x79,
    ],
    // 65536 bytes
    [
        0xde, 0x2f, 0x25, 0x60, 0x64, 0xa0, 0xaf, 0x79, 0x77, 0x47, 0xc2, 0xb9, 0x75, 0x05, 0xdc,
        0x0b, 0x9f, 0x3d, 0xf0, 0xde, 0x4f, 0x48, 0x9e, 0xac, 0x73, 0x1c, 0x23, 0xae, 0x9c, 0xa9,
        0xcc, 0x31,
    ],
];

/// The SHA-256 of a page of `page_size` zeros, or `None` if the page size
/// is not a power of two from 4096 to 65536.
pub fn zero_page_hash(page_size: usize) -> Option<&'static [u8; HASH_LEN]> {
    if !page_size.is_power_of_two() {
        return None;
    }
    let k = page_size.checked_ilog2()?.checked_sub(12)?;
    ZERO_PAGE_SHA256.get(usize::try_from(k).ok()?)
}

/// Whether `hash` is the SHA-256 of a page of `page_size` zeros.
pub fn is_zero_page_hash(hash: &[u8; HASH_LEN], page_size: usize) -> bool {
    zero_page_hash(page_size) == Some(hash)
}

/// How the `pageset1` file holds the hibernation image, or a chunk file
/// its pageset2 pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The image (or every page of the chunk) as it is.
    Raw,
    /// The image (or the chunk's pages that are not zero) in
    /// LZ4-compressed blocks (`blocks.rs`).
    Lz4Blocks,
}

impl Encoding {
    /// The encoding's number in a manifest, or `None` if unknown.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Raw),
            1 => Some(Self::Lz4Blocks),
            _ => None,
        }
    }

    /// The encoding's number in a manifest.
    pub const fn to_u32(self) -> u32 {
        match self {
            Self::Raw => 0,
            Self::Lz4Blocks => 1,
        }
    }

    /// The encoding's name, as `lazyresume inspect` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Lz4Blocks => "lz4-blocks",
        }
    }
}

/// The fixed part of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Page size of the machine that took the image (a power of two from
    /// 4096 to 65536).
    pub page_size: u32,
    /// Pages per pageset2 chunk file (1 to [`MAX_CHUNK_PAGES`]).
    pub chunk_pages: u32,
    /// The build of the kernel that took the image (for instance its
    /// release and build hash), NUL-padded UTF-8, not empty: only the same
    /// build can resume it.
    pub kernel_id: [u8; KERNEL_ID_LEN],
    /// Length of the `pageset1` file in bytes.
    pub pageset1_len: u64,
    /// SHA-256 of the `pageset1` file.
    pub pageset1_sha256: [u8; HASH_LEN],
    /// SHA-256 of the `pageset1.sums` file (the SHA-256 of each
    /// [`SEGMENT_LEN`] bytes of `pageset1`).
    pub pageset1_sums_sha256: [u8; HASH_LEN],
    /// How `pageset1` holds the hibernation image.
    pub pageset1_encoding: Encoding,
    /// Length of the hibernation image `pageset1` decodes to: whole pages,
    /// and `pageset1_len` for [`Encoding::Raw`].
    pub snapshot_len: u64,
    /// Number of pageset2 pages.
    pub pageset2_pages: u64,
    /// How the chunk files hold their pages: [`Encoding::Raw`], every
    /// page at `(i % chunk_pages) * page_size`; [`Encoding::Lz4Blocks`],
    /// the pages that are not zero in LZ4 blocks, no file for a chunk of
    /// zeros (see `blocks::encode_chunk`).
    pub pageset2_encoding: Encoding,
    /// SHA-256 of the `hashes` file.
    pub hashes_sha256: [u8; HASH_LEN],
    /// A number the operator raises with each new image (`lazyresume
    /// capture` takes the time in seconds since the epoch): a client can
    /// refuse an image older than one it names (a rollback).
    pub generation: u64,
    /// The image's name as clients ask for it (its directory on the TFTP
    /// server), NUL-padded UTF-8: not empty, no NUL inside, not starting
    /// with `/`, at most `NAME_LEN - 1` bytes (see [`Header::set_name`]).
    pub name: [u8; NAME_LEN],
}

/// What is wrong with an image name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than `NAME_LEN - 1` bytes (in a manifest: it has
    /// no NUL after it).
    TooLong,
    /// The name holds a NUL (in a manifest: bytes other than NUL after
    /// its end).
    Nul,
    /// The name starts with `/`.
    Absolute,
    /// The name is not UTF-8.
    NotUtf8,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty"),
            Self::TooLong => write!(f, "longer than {} bytes", NAME_LEN - 1),
            Self::Nul => write!(f, "holds a NUL byte"),
            Self::Absolute => write!(f, "starts with '/'"),
            Self::NotUtf8 => write!(f, "not UTF-8"),
        }
    }
}

/// Checks an image name as a manifest holds it: UTF-8 text up to the
/// first NUL, only NULs after it, not empty, not starting with `/`.
fn check_name(name: &[u8; NAME_LEN]) -> Result<(), NameError> {
    let end = name
        .iter()
        .position(|&c| c == 0)
        .ok_or(NameError::TooLong)?;
    let (text, pad) = (
        name.get(..end).unwrap_or(&[]),
        name.get(end..).unwrap_or(&[]),
    );
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    if pad.iter().any(|&c| c != 0) {
        return Err(NameError::Nul);
    }
    if text.first() == Some(&b'/') {
        return Err(NameError::Absolute);
    }
    core::str::from_utf8(text).map_err(|_| NameError::NotUtf8)?;
    Ok(())
}

/// Why a manifest was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Shorter than a header.
    Truncated {
        /// Bytes there are.
        len: usize,
    },
    /// Not a lazyresume manifest.
    BadMagic,
    /// A format version this code does not read.
    UnsupportedVersion(u32),
    /// The header length field is not [`HEADER_LEN`].
    BadHeaderLen(u32),
    /// The page size is not a power of two from 4096 to 65536.
    BadPageSize(u32),
    /// `chunk_pages` is 0 or above [`MAX_CHUNK_PAGES`].
    BadChunkPages(u32),
    /// A `pageset1` encoding this code does not know.
    UnknownEncoding(u32),
    /// A pageset2 encoding this code does not know.
    UnknownPageset2Encoding(u32),
    /// The image length is not whole pages, or differs from the file's
    /// length in a raw `pageset1`.
    BadSnapshotLen {
        /// The image length.
        snapshot: u64,
        /// The file length.
        stored: u64,
    },
    /// The kernel identity is empty, not NUL-padded or not UTF-8.
    BadKernelId,
    /// The image name is not a valid one.
    BadName(NameError),
    /// The manifest is not [`MANIFEST_LEN`] bytes.
    BadLength {
        /// Bytes there are.
        actual: u64,
    },
    /// The `hashes` file's length does not match the page count.
    BadHashesLength {
        /// Bytes expected from the page count.
        expected: u64,
        /// Bytes there are.
        actual: u64,
    },
    /// The `hashes` file does not match its SHA-256 in the manifest.
    BadHashes,
    /// The SHA-256 at the end does not match the manifest.
    BadChecksum,
    /// The `pageset1.sums` file's length does not match `pageset1_len`.
    BadSumsLength {
        /// Bytes expected from `pageset1_len`.
        expected: u64,
        /// Bytes there are.
        actual: u64,
    },
    /// The `pageset1.sums` file does not match its SHA-256 in the
    /// manifest.
    BadSums,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { len } => {
                write!(
                    f,
                    "manifest truncated: {len} bytes, the header alone is {HEADER_LEN}"
                )
            }
            Self::BadMagic => write!(f, "not a lazyresume manifest (bad magic)"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "manifest format version {v}, this build reads version {FORMAT_VERSION}"
            ),
            Self::BadHeaderLen(l) => write!(f, "manifest header length {l}, expected {HEADER_LEN}"),
            Self::BadPageSize(s) => {
                write!(f, "page size {s} is not a power of two from 4096 to 65536")
            }
            Self::BadChunkPages(c) => {
                write!(f, "{c} pages per chunk, expected 1 to {MAX_CHUNK_PAGES}")
            }
            Self::UnknownEncoding(e) => write!(f, "unknown pageset1 encoding {e}"),
            Self::UnknownPageset2Encoding(e) => write!(f, "unknown pageset2 encoding {e}"),
            Self::BadSnapshotLen { snapshot, stored } => write!(
                f,
                "pageset1 of {stored} bytes holds an image of {snapshot} bytes: \
                 not whole pages, or not its length when not encoded"
            ),
            Self::BadKernelId => write!(f, "kernel identity is empty, unterminated or not UTF-8"),
            Self::BadName(e) => write!(f, "bad image name: {e}"),
            Self::BadLength { actual } => {
                write!(f, "manifest is {actual} bytes, expected {MANIFEST_LEN}")
            }
            Self::BadHashesLength { expected, actual } => write!(
                f,
                "hashes file is {actual} bytes, the page count makes it {expected}"
            ),
            Self::BadHashes => write!(f, "hashes file SHA-256 mismatch (corrupted hashes)"),
            Self::BadChecksum => write!(f, "manifest checksum mismatch (corrupted manifest)"),
            Self::BadSumsLength { expected, actual } => write!(
                f,
                "{PAGESET1_SUMS_NAME} is {actual} bytes, the pageset1 length makes it {expected}"
            ),
            Self::BadSums => write!(
                f,
                "{PAGESET1_SUMS_NAME} SHA-256 mismatch (corrupted {PAGESET1_SUMS_NAME})"
            ),
        }
    }
}

impl core::error::Error for FormatError {}

// Header layout: offsets of the fields.
const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 12;
const OFF_PAGE_SIZE: usize = 16;
const OFF_CHUNK_PAGES: usize = 20;
const OFF_ENCODING: usize = 24;
const OFF_P2_ENCODING: usize = 28;
const OFF_PAGESET1_LEN: usize = 32;
const OFF_PAGESET2_PAGES: usize = 40;
const OFF_PAGESET1_SHA: usize = 48;
const OFF_KERNEL_ID: usize = 80;
const OFF_SNAPSHOT_LEN: usize = OFF_KERNEL_ID + KERNEL_ID_LEN;
const OFF_HASHES_SHA: usize = OFF_SNAPSHOT_LEN + 8;
const OFF_GENERATION: usize = OFF_HASHES_SHA + HASH_LEN;
const OFF_NAME: usize = OFF_GENERATION + 8;
const OFF_PAGESET1_SUMS_SHA: usize = OFF_NAME + NAME_LEN;
const _: () = assert!(OFF_PAGESET1_SUMS_SHA + HASH_LEN == HEADER_LEN);

fn le32(b: &[u8; HEADER_LEN], off: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(b.get(off..off.wrapping_add(4)).unwrap_or(&[0; 4]));
    u32::from_le_bytes(x)
}

fn le64(b: &[u8; HEADER_LEN], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(b.get(off..off.wrapping_add(8)).unwrap_or(&[0; 8]));
    u64::from_le_bytes(x)
}

fn put(b: &mut [u8; HEADER_LEN], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off.wrapping_add(v.len())) {
        dst.copy_from_slice(v);
    }
}

/// Length of the `hashes` file of an image with `pages` pageset2 pages, or
/// `None` if it does not fit in a `u64`.
pub fn hashes_len(pages: u64) -> Option<u64> {
    pages.checked_mul(HASH_LEN as u64)
}

impl Header {
    /// A header for a kernel identified by `kernel_id` (truncated to fit),
    /// generation 0 and no name yet: [`Header::set_name`] gives it one.
    pub fn new(page_size: u32, chunk_pages: u32, kernel_id: &str) -> Self {
        let mut id = [0u8; KERNEL_ID_LEN];
        for (d, s) in id.iter_mut().zip(kernel_id.bytes().take(KERNEL_ID_LEN - 1)) {
            *d = s;
        }
        Self {
            page_size,
            chunk_pages,
            kernel_id: id,
            pageset1_len: 0,
            pageset1_sha256: [0; HASH_LEN],
            pageset1_sums_sha256: [0; HASH_LEN],
            pageset1_encoding: Encoding::Raw,
            snapshot_len: 0,
            pageset2_pages: 0,
            pageset2_encoding: Encoding::Raw,
            hashes_sha256: [0; HASH_LEN],
            generation: 0,
            name: [0; NAME_LEN],
        }
    }

    /// Sets the image name, if it is a valid one: not empty, no NUL, not
    /// starting with `/`, at most `NAME_LEN - 1` bytes.
    pub fn set_name(&mut self, name: &str) -> Result<(), FormatError> {
        let mut n = [0u8; NAME_LEN];
        n.get_mut(..name.len())
            .filter(|_| name.len() < NAME_LEN)
            .ok_or(FormatError::BadName(NameError::TooLong))?
            .copy_from_slice(name.as_bytes());
        if name.as_bytes().contains(&0) {
            return Err(FormatError::BadName(NameError::Nul));
        }
        check_name(&n).map_err(FormatError::BadName)?;
        self.name = n;
        Ok(())
    }

    /// The image name as a string (valid in a parsed header).
    pub fn name_str(&self) -> &str {
        let end = self.name.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
        core::str::from_utf8(self.name.get(..end).unwrap_or(&[])).unwrap_or("")
    }

    /// The kernel identity as a string (valid in a parsed header).
    pub fn kernel_id_str(&self) -> &str {
        let end = self
            .kernel_id
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(KERNEL_ID_LEN);
        core::str::from_utf8(self.kernel_id.get(..end).unwrap_or(&[])).unwrap_or("")
    }

    /// Number of pageset2 chunk files.
    pub fn chunks(&self) -> u64 {
        let per = u64::from(self.chunk_pages.max(1));
        self.pageset2_pages.div_ceil(per)
    }

    /// The chunk holding pageset2 page `page`, and the page's byte offset
    /// in it; `None` past the last page.
    pub fn locate(&self, page: u64) -> Option<(u64, u64)> {
        if page >= self.pageset2_pages {
            return None;
        }
        let per = u64::from(self.chunk_pages.max(1));
        let offset = page
            .checked_rem(per)?
            .checked_mul(u64::from(self.page_size))?;
        Some((page.checked_div(per)?, offset))
    }

    /// Pages of chunk `chunk` (the last one may be short), `None` past
    /// the last chunk.
    pub fn chunk_page_count(&self, chunk: u64) -> Option<u64> {
        let per = u64::from(self.chunk_pages.max(1));
        let first = chunk.checked_mul(per)?;
        let pages = self.pageset2_pages.checked_sub(first)?.min(per);
        (pages > 0).then_some(pages)
    }

    /// Length in bytes of chunk `chunk` (the last one may be short), as
    /// it is: the length of its file in a raw pageset2.
    pub fn chunk_len(&self, chunk: u64) -> Option<u64> {
        self.chunk_page_count(chunk)?
            .checked_mul(u64::from(self.page_size))
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        put(&mut b, 0, &MAGIC);
        put(&mut b, OFF_VERSION, &FORMAT_VERSION.to_le_bytes());
        put(&mut b, OFF_HEADER_LEN, &(HEADER_LEN as u32).to_le_bytes());
        put(&mut b, OFF_PAGE_SIZE, &self.page_size.to_le_bytes());
        put(&mut b, OFF_CHUNK_PAGES, &self.chunk_pages.to_le_bytes());
        put(&mut b, OFF_PAGESET1_LEN, &self.pageset1_len.to_le_bytes());
        put(
            &mut b,
            OFF_PAGESET2_PAGES,
            &self.pageset2_pages.to_le_bytes(),
        );
        put(&mut b, OFF_PAGESET1_SHA, &self.pageset1_sha256);
        put(&mut b, OFF_KERNEL_ID, &self.kernel_id);
        put(
            &mut b,
            OFF_ENCODING,
            &self.pageset1_encoding.to_u32().to_le_bytes(),
        );
        put(
            &mut b,
            OFF_P2_ENCODING,
            &self.pageset2_encoding.to_u32().to_le_bytes(),
        );
        put(&mut b, OFF_SNAPSHOT_LEN, &self.snapshot_len.to_le_bytes());
        put(&mut b, OFF_HASHES_SHA, &self.hashes_sha256);
        put(&mut b, OFF_GENERATION, &self.generation.to_le_bytes());
        put(&mut b, OFF_NAME, &self.name);
        put(&mut b, OFF_PAGESET1_SUMS_SHA, &self.pageset1_sums_sha256);
        b
    }

    /// Parses and checks a header (not the rest of the manifest).
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, FormatError> {
        if b.get(..8) != Some(&MAGIC[..]) {
            return Err(FormatError::BadMagic);
        }
        let version = le32(b, OFF_VERSION);
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let header_len = le32(b, OFF_HEADER_LEN);
        if header_len as usize != HEADER_LEN {
            return Err(FormatError::BadHeaderLen(header_len));
        }
        let page_size = le32(b, OFF_PAGE_SIZE);
        if !page_size.is_power_of_two() || !(4096..=65536).contains(&page_size) {
            return Err(FormatError::BadPageSize(page_size));
        }
        let chunk_pages = le32(b, OFF_CHUNK_PAGES);
        if !(1..=MAX_CHUNK_PAGES).contains(&chunk_pages) {
            return Err(FormatError::BadChunkPages(chunk_pages));
        }
        let encoding = le32(b, OFF_ENCODING);
        let pageset1_encoding =
            Encoding::from_u32(encoding).ok_or(FormatError::UnknownEncoding(encoding))?;
        let encoding = le32(b, OFF_P2_ENCODING);
        let pageset2_encoding =
            Encoding::from_u32(encoding).ok_or(FormatError::UnknownPageset2Encoding(encoding))?;
        let mut kernel_id = [0u8; KERNEL_ID_LEN];
        kernel_id.copy_from_slice(
            b.get(OFF_KERNEL_ID..OFF_SNAPSHOT_LEN)
                .ok_or(FormatError::BadKernelId)?,
        );
        let mut hashes_sha256 = [0u8; HASH_LEN];
        hashes_sha256.copy_from_slice(
            b.get(OFF_HASHES_SHA..OFF_GENERATION)
                .ok_or(FormatError::BadMagic)?,
        );
        let mut name = [0u8; NAME_LEN];
        name.copy_from_slice(
            b.get(OFF_NAME..OFF_PAGESET1_SUMS_SHA)
                .ok_or(FormatError::BadMagic)?,
        );
        let mut pageset1_sums_sha256 = [0u8; HASH_LEN];
        pageset1_sums_sha256.copy_from_slice(
            b.get(OFF_PAGESET1_SUMS_SHA..)
                .ok_or(FormatError::BadMagic)?,
        );
        let mut pageset1_sha256 = [0u8; HASH_LEN];
        pageset1_sha256.copy_from_slice(
            b.get(OFF_PAGESET1_SHA..OFF_KERNEL_ID)
                .ok_or(FormatError::BadMagic)?,
        );
        let header = Self {
            page_size,
            chunk_pages,
            kernel_id,
            pageset1_len: le64(b, OFF_PAGESET1_LEN),
            pageset1_sha256,
            pageset1_sums_sha256,
            pageset1_encoding,
            snapshot_len: le64(b, OFF_SNAPSHOT_LEN),
            pageset2_pages: le64(b, OFF_PAGESET2_PAGES),
            pageset2_encoding,
            hashes_sha256,
            generation: le64(b, OFF_GENERATION),
            name,
        };
        let whole_pages = header.snapshot_len.checked_rem(u64::from(page_size)) == Some(0);
        let raw_matches =
            pageset1_encoding != Encoding::Raw || header.snapshot_len == header.pageset1_len;
        if !whole_pages || !raw_matches {
            return Err(FormatError::BadSnapshotLen {
                snapshot: header.snapshot_len,
                stored: header.pageset1_len,
            });
        }
        // Text up to the first NUL, only NULs after it, not empty.
        let end = kernel_id.iter().position(|&c| c == 0);
        let valid = match end {
            Some(0) | None => false,
            Some(n) => {
                kernel_id
                    .get(n..)
                    .is_some_and(|t| t.iter().all(|&c| c == 0))
                    && kernel_id
                        .get(..n)
                        .is_some_and(|s| core::str::from_utf8(s).is_ok())
            }
        };
        if !valid {
            return Err(FormatError::BadKernelId);
        }
        check_name(&name).map_err(FormatError::BadName)?;
        Ok(header)
    }
}

/// A parsed, checked manifest.
#[derive(Clone, Copy, Debug)]
pub struct Manifest {
    /// The header.
    pub header: Header,
}

impl Manifest {
    /// Parses `bytes` (a whole manifest file) and checks every field, its
    /// length and its checksum with `sha256`.
    pub fn parse(bytes: &[u8], sha256: Sha256Fn) -> Result<Self, FormatError> {
        // The magic and version first, so that a manifest of another
        // version (and length) is named as such, not as truncated.
        let version = bytes
            .get(OFF_VERSION..OFF_HEADER_LEN)
            .and_then(|v| v.try_into().ok())
            .map(u32::from_le_bytes);
        if let (Some(magic), Some(version)) = (bytes.get(..MAGIC.len()), version) {
            if magic != MAGIC {
                return Err(FormatError::BadMagic);
            }
            if version != FORMAT_VERSION {
                return Err(FormatError::UnsupportedVersion(version));
            }
        }
        let head: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(FormatError::Truncated { len: bytes.len() })?;
        let header = Header::decode(head)?;
        if bytes.len() != MANIFEST_LEN {
            return Err(FormatError::BadLength {
                actual: bytes.len() as u64,
            });
        }
        let (body, sum) = bytes.split_at(HEADER_LEN);
        if sha256(body) != sum {
            return Err(FormatError::BadChecksum);
        }
        Ok(Self { header })
    }

    /// The bytes of the manifest of `header`.
    pub fn encode(header: &Header, sha256: Sha256Fn) -> [u8; MANIFEST_LEN] {
        let mut m = [0u8; MANIFEST_LEN];
        let (head, sum) = m.split_at_mut(HEADER_LEN);
        let h = header.encode();
        head.copy_from_slice(&h);
        sum.copy_from_slice(&sha256(&h));
        m
    }
}

/// The checked `hashes` file: the SHA-256 of every pageset2 page, page 0
/// first.
#[derive(Clone, Copy, Debug)]
pub struct PageHashes<'a> {
    hashes: &'a [u8],
}

impl<'a> PageHashes<'a> {
    /// Checks `bytes` (a whole `hashes` file) against `header`: its length
    /// and its SHA-256.
    pub fn parse(header: &Header, bytes: &'a [u8], sha256: Sha256Fn) -> Result<Self, FormatError> {
        let expected = hashes_len(header.pageset2_pages).unwrap_or(u64::MAX);
        if expected != bytes.len() as u64 {
            return Err(FormatError::BadHashesLength {
                expected,
                actual: bytes.len() as u64,
            });
        }
        if sha256(bytes) != header.hashes_sha256 {
            return Err(FormatError::BadHashes);
        }
        Ok(Self { hashes: bytes })
    }

    /// The SHA-256 of pageset2 page `page`.
    pub fn page_hash(&self, page: u64) -> Option<&'a [u8; HASH_LEN]> {
        let start = usize::try_from(page).ok()?.checked_mul(HASH_LEN)?;
        self.hashes
            .get(start..start.checked_add(HASH_LEN)?)?
            .try_into()
            .ok()
    }
}

/// Number of segments of a `pageset1` file of `pageset1_len` bytes: the
/// entries of its `pageset1.sums`.
pub const fn segment_count(pageset1_len: u64) -> u64 {
    pageset1_len.div_ceil(SEGMENT_LEN as u64)
}

/// Length of the `pageset1.sums` file of a `pageset1` file of
/// `pageset1_len` bytes (32 bytes per segment), or `None` if it does not
/// fit in a `u64`.
pub const fn pageset1_sums_len(pageset1_len: u64) -> Option<u64> {
    segment_count(pageset1_len).checked_mul(HASH_LEN as u64)
}

/// Writes into `out` the `pageset1.sums` file of `pageset1`, a whole
/// file; returns its length, `None` if `out` is too short.
pub fn write_pageset1_sums(pageset1: &[u8], sha256: Sha256Fn, out: &mut [u8]) -> Option<usize> {
    let len = usize::try_from(pageset1_sums_len(pageset1.len() as u64)?).ok()?;
    let out = out.get_mut(..len)?;
    for (segment, sum) in pageset1
        .chunks(SEGMENT_LEN)
        .zip(out.chunks_exact_mut(HASH_LEN))
    {
        copy(sum, &sha256(segment));
    }
    Some(len)
}

/// An incremental SHA-256, for [`SumsWriter`].
pub trait Sha256Hasher {
    /// Adds `data` to the digest.
    fn update(&mut self, data: &[u8]);
    /// The digest of what was added; starts a new one.
    fn finish_reset(&mut self) -> [u8; HASH_LEN];
}

/// Makes the `pageset1.sums` of a `pageset1` written in pieces of any
/// size (`lazyresume capture`, which uploads pageset1 as it encodes it),
/// hashing each byte once with `H`.
#[derive(Clone, Debug, Default)]
pub struct SumsWriter<H> {
    hasher: H,
    /// Bytes of the current segment hashed so far.
    fill: usize,
}

impl<H: Sha256Hasher> SumsWriter<H> {
    /// A writer that hashes with `hasher` (fresh).
    pub const fn new(hasher: H) -> Self {
        Self { hasher, fill: 0 }
    }

    /// Adds `data`, the next bytes of the file; `sum` gets the SHA-256 of
    /// each segment it completes, in order.
    pub fn feed(&mut self, mut data: &[u8], sum: &mut impl FnMut([u8; HASH_LEN])) {
        while !data.is_empty() {
            let k = SEGMENT_LEN.saturating_sub(self.fill).min(data.len());
            let (now, rest) = data.split_at(k);
            self.hasher.update(now);
            self.fill = self.fill.saturating_add(k);
            data = rest;
            if self.fill >= SEGMENT_LEN {
                self.fill = 0;
                sum(self.hasher.finish_reset());
            }
        }
    }

    /// Ends the file: `sum` gets the SHA-256 of the last, shorter,
    /// segment if there is one.
    pub fn finish(mut self, sum: &mut impl FnMut([u8; HASH_LEN])) {
        if self.fill > 0 {
            sum(self.hasher.finish_reset());
        }
    }
}

/// The checked `pageset1.sums` file: the SHA-256 of each segment of
/// `pageset1` as stored, segment 0 first.
#[derive(Clone, Copy, Debug)]
pub struct SegmentSums<'a> {
    sums: &'a [u8],
    /// Length of `pageset1`.
    len: u64,
}

impl<'a> SegmentSums<'a> {
    /// Checks `bytes` (a whole `pageset1.sums` file) against `header`: its
    /// length and its SHA-256.
    pub fn parse(header: &Header, bytes: &'a [u8], sha256: Sha256Fn) -> Result<Self, FormatError> {
        let expected = pageset1_sums_len(header.pageset1_len).unwrap_or(u64::MAX);
        if expected != bytes.len() as u64 {
            return Err(FormatError::BadSumsLength {
                expected,
                actual: bytes.len() as u64,
            });
        }
        if sha256(bytes) != header.pageset1_sums_sha256 {
            return Err(FormatError::BadSums);
        }
        Ok(Self {
            sums: bytes,
            len: header.pageset1_len,
        })
    }

    /// Length of the `pageset1` file the sums are of.
    pub fn pageset1_len(&self) -> u64 {
        self.len
    }

    /// Number of segments.
    pub fn segments(&self) -> u64 {
        segment_count(self.len)
    }

    /// The SHA-256 of segment `segment`.
    pub fn segment_hash(&self, segment: u64) -> Option<&'a [u8; HASH_LEN]> {
        let start = usize::try_from(segment).ok()?.checked_mul(HASH_LEN)?;
        self.sums
            .get(start..start.checked_add(HASH_LEN)?)?
            .try_into()
            .ok()
    }

    /// Length of segment `segment` (the last one may be shorter), `None`
    /// past the last one.
    pub fn segment_len(&self, segment: u64) -> Option<usize> {
        let start = segment.checked_mul(SEGMENT_LEN as u64)?;
        let left = self.len.checked_sub(start).filter(|&l| l > 0)?;
        usize::try_from(left.min(SEGMENT_LEN as u64)).ok()
    }

    /// Checks a whole `pageset1` file against the sums: `Ok` if it is
    /// [`Self::pageset1_len`] bytes and every segment matches.
    pub fn check(&self, pageset1: &[u8], sha256: Sha256Fn) -> Result<(), SegmentError<()>> {
        let received = pageset1.len() as u64;
        if received > self.len {
            return Err(SegmentError::TooLong { expected: self.len });
        }
        if received < self.len {
            return Err(SegmentError::Truncated {
                received,
                expected: self.len,
            });
        }
        for (i, segment) in (0u64..).zip(pageset1.chunks(SEGMENT_LEN)) {
            if self.segment_hash(i) != Some(&sha256(segment)) {
                return Err(SegmentError::Mismatch { segment: i });
            }
        }
        Ok(())
    }
}

/// Why `pageset1` bytes were refused by a [`SegmentChecker`]; `E` is the
/// sink's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentError<E> {
    /// The buffer given to [`SegmentChecker::feed`] holds less than
    /// [`SEGMENT_LEN`].
    SmallBuffer,
    /// Segment `segment` does not match its SHA-256.
    Mismatch {
        /// Index of the segment.
        segment: u64,
    },
    /// More bytes than the file's length.
    TooLong {
        /// The file's length.
        expected: u64,
    },
    /// The file ends early.
    Truncated {
        /// Bytes received.
        received: u64,
        /// The file's length.
        expected: u64,
    },
    /// The sink refused a verified segment.
    Sink(E),
}

impl<E> fmt::Display for SegmentError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SmallBuffer => write!(f, "segment buffer smaller than a segment"),
            Self::Mismatch { segment } => write!(f, "segment {segment} SHA-256 mismatch"),
            Self::TooLong { expected } => write!(f, "longer than its {expected} bytes"),
            Self::Truncated { received, expected } => {
                write!(f, "ends after {received} of its {expected} bytes")
            }
            Self::Sink(_) => write!(f, "a verified segment was refused"),
        }
    }
}

/// Checks a `pageset1` fed in pieces of any size (a TFTP transfer)
/// against its `pageset1.sums`, and hands on only verified bytes: it
/// keeps each segment in a buffer of the caller's until it is whole, and
/// gives it to the sink once it matches its SHA-256. Each byte is hashed
/// once.
#[derive(Clone, Debug)]
pub struct SegmentChecker<'a> {
    sums: SegmentSums<'a>,
    /// Bytes taken so far.
    received: u64,
    /// Bytes of the current segment in the buffer.
    fill: usize,
}

impl<'a> SegmentChecker<'a> {
    /// A checker of the file `sums` are of.
    pub const fn new(sums: SegmentSums<'a>) -> Self {
        Self {
            sums,
            received: 0,
            fill: 0,
        }
    }

    /// Takes `data`, the next bytes of the file. `buf` (at least
    /// [`SEGMENT_LEN`] bytes, the same at each call) keeps the current
    /// segment between calls; `sink` gets each segment, in order, once it
    /// matched its SHA-256 (computed with `sha256`), and never bytes of
    /// a segment that did not. Bytes past the file's length are refused
    /// before any of them is taken.
    pub fn feed<E>(
        &mut self,
        mut data: &[u8],
        buf: &mut [u8],
        sha256: Sha256Fn,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), SegmentError<E>> {
        if buf.len() < SEGMENT_LEN {
            return Err(SegmentError::SmallBuffer);
        }
        let left = self.sums.len.saturating_sub(self.received);
        if data.len() as u64 > left {
            return Err(SegmentError::TooLong {
                expected: self.sums.len,
            });
        }
        while !data.is_empty() {
            let segment = self.received.checked_div(SEGMENT_LEN as u64).unwrap_or(0);
            let len = self
                .sums
                .segment_len(segment)
                .ok_or(SegmentError::TooLong {
                    expected: self.sums.len,
                })?;
            let k = len.saturating_sub(self.fill).min(data.len());
            let (now, rest) = data.split_at(k);
            let end = self.fill.saturating_add(k);
            copy(
                buf.get_mut(self.fill..end)
                    .ok_or(SegmentError::SmallBuffer)?,
                now,
            );
            self.fill = end;
            self.received = self.received.saturating_add(k as u64);
            data = rest;
            if self.fill < len {
                continue;
            }
            self.fill = 0;
            let whole = buf.get(..len).ok_or(SegmentError::SmallBuffer)?;
            if self.sums.segment_hash(segment) != Some(&sha256(whole)) {
                return Err(SegmentError::Mismatch { segment });
            }
            sink(whole).map_err(SegmentError::Sink)?;
        }
        Ok(())
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Starts the file over, as a transfer that restarts from its first
    /// byte (TFTP cannot resume one, from the same server or another)
    /// hands it on again: drops the bytes of the segment not whole yet
    /// and returns how many bytes were handed on (whole segments, each
    /// checked). The caller skips that many bytes of the restarted file
    /// and feeds the rest; what it skips is never used, so a server that
    /// sends other bytes there changes nothing.
    pub fn restart(&mut self) -> u64 {
        self.received = self.received.saturating_sub(self.fill as u64);
        self.fill = 0;
        self.received
    }

    /// Checks that the file, now at its end, was whole (its last segment,
    /// then, was checked and handed on).
    pub fn finish<E>(&self) -> Result<(), SegmentError<E>> {
        if self.received != self.sums.len || self.fill != 0 {
            return Err(SegmentError::Truncated {
                received: self.received,
                expected: self.sums.len,
            });
        }
        Ok(())
    }
}

/// Copies `src` into `dst`, which the caller made as long: element by
/// element, so that no length check can panic (as `blocks.rs` does).
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Writes the name of pageset2 chunk `chunk` into `out`.
pub fn chunk_name(chunk: u64, out: &mut [u8; CHUNK_NAME_LEN]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (prefix, digits) = out.split_at_mut(CHUNK_PREFIX.len());
    prefix.copy_from_slice(CHUNK_PREFIX.as_bytes());
    for (i, d) in digits.iter_mut().enumerate() {
        let shift = 60usize.saturating_sub(i.saturating_mul(4));
        *d = *HEX.get(((chunk >> shift) & 0xf) as usize).unwrap_or(&b'0');
    }
}

/// Hex digits of the version hash in [`kernel_id`].
const KERNEL_ID_HASH_DIGITS: usize = 16;
/// Bytes of the release kept in [`kernel_id`]: room for a space, the hash
/// digits and a NUL.
const KERNEL_ID_RELEASE_MAX: usize = KERNEL_ID_LEN - KERNEL_ID_HASH_DIGITS - 2;

/// The identity of a kernel build as a manifest records it: its release
/// (`uname -r`, truncated to fit), a space and the first 16 hex digits of
/// the SHA-256 of its version string (`uname -v`, which holds the build
/// number and time), NUL-padded.
pub fn kernel_id(release: &[u8], version: &[u8], sha256: Sha256Fn) -> [u8; KERNEL_ID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = sha256(version);
    let digits = hash
        .iter()
        .take(KERNEL_ID_HASH_DIGITS / 2)
        .flat_map(|b| [HEX.get(usize::from(b >> 4)), HEX.get(usize::from(b & 15))])
        .flatten()
        .copied();
    let bytes = release
        .iter()
        .copied()
        .take(KERNEL_ID_RELEASE_MAX)
        .chain(core::iter::once(b' '))
        .chain(digits);
    let mut id = [0u8; KERNEL_ID_LEN];
    for (d, s) in id.iter_mut().zip(bytes) {
        *d = s;
    }
    id
}
