// SPDX-License-Identifier: GPL-2.0

//! The loading set of an image (`Documentation/image-format.rst`): the
//! pageset2 pages a recording client touched first after a resume, in
//! the order it first touched them, in one file that a replaying client
//! fetches as one sequential transfer.
//!
//! The file `loadset` is a header, the list of page indexes (one
//! little-endian `u64` each) and the pages themselves in that order, in
//! LZ4 blocks framed as an LZ4-encoded `pageset1` (`blocks.rs`). The
//! header names the image by the SHA-256 of its manifest (a loading set
//! of another image is refused), covers the index list by its SHA-256
//! and itself by a SHA-256 at its end. The pages need no hash of their
//! own here: each one is checked against its hash in the image's page
//! hashes before it is used, and those hang from the manifest.
//!
//! [`Stream`] reads a loading set fed in pieces of any size (a TFTP
//! transfer) without allocating: the caller stores the index list and
//! gets each page whole, in order.

use super::blocks::{DecodeError, Decoder, DecompressFn};
use super::{Header, Sha256Fn, HASH_LEN};

/// Name of the loading set file in an image.
pub const LOADSET_NAME: &str = "loadset";
/// Name of the stream file in an image: its other pages in index order,
/// in the loading set's format, which the background lane fetches first.
pub const STREAM_NAME: &str = "stream";
/// First bytes of a loading set.
pub const LOADSET_MAGIC: [u8; 8] = *b"LZRLOADS";
/// The loading set format this code reads and writes.
pub const LOADSET_VERSION: u32 = 1;
/// Bytes of the header before its checksum.
const FIELDS_LEN: usize = 104;
/// Length of the header, its checksum included.
pub const LOADSET_HEADER_LEN: usize = FIELDS_LEN + HASH_LEN;
/// Bytes of one index in the index list.
pub const INDEX_LEN: usize = 8;

// Header layout: offsets of the fields.
const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 12;
const OFF_PAGE_SIZE: usize = 16;
const OFF_RESERVED: usize = 20;
const OFF_PAGES: usize = 24;
const OFF_PAYLOAD_LEN: usize = 32;
const OFF_MANIFEST_SHA: usize = 40;
const OFF_INDEX_SHA: usize = 72;

/// The header of a loading set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadsetHeader {
    /// Page size of the image.
    pub page_size: u32,
    /// Pages in the loading set (at least one).
    pub pages: u64,
    /// Bytes of LZ4 blocks after the index list.
    pub payload_len: u64,
    /// SHA-256 of the image's whole manifest.
    pub manifest_sha256: [u8; HASH_LEN],
    /// SHA-256 of the index list.
    pub index_sha256: [u8; HASH_LEN],
}

/// Why a loading set was refused; `E` is the caller's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadsetError<E> {
    /// The file ends inside its header.
    Truncated {
        /// Bytes there are.
        len: usize,
    },
    /// Not a loading set.
    BadMagic,
    /// A version this code does not read.
    UnsupportedVersion(u32),
    /// The header length field is not [`LOADSET_HEADER_LEN`].
    BadHeaderLen(u32),
    /// Reserved bytes are not zero.
    NonZeroReserved,
    /// The SHA-256 at the end of the header does not match.
    BadChecksum,
    /// The loading set is of another image (its manifest differs).
    OtherImage,
    /// Its page size is not the image's.
    BadPageSize(u32),
    /// No pages, or more than the image has.
    BadPageCount {
        /// Pages the header announces.
        pages: u64,
        /// Pageset2 pages of the image.
        image_pages: u64,
    },
    /// The payload length cannot hold the pages (or exceeds their
    /// longest encoding).
    BadPayloadLen(u64),
    /// The index list does not match its SHA-256.
    BadIndex,
    /// Entry `entry` names page `page`, past the image's last page.
    IndexOutOfRange {
        /// Place in the list.
        entry: u64,
        /// The page it names.
        page: u64,
    },
    /// The pages' LZ4 blocks are malformed.
    Payload(DecodeError<()>),
    /// The file is not as long as its header says.
    BadLength {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes that came.
        actual: u64,
    },
    /// The caller refused a part.
    Sink(E),
}

impl<E> core::fmt::Display for LoadsetError<E> {
    /// Says what is wrong, without naming the file: the caller does (a
    /// loading set or a stream, which share the format).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated { len } => write!(
                f,
                "truncated: {len} bytes, the header alone is {LOADSET_HEADER_LEN}"
            ),
            Self::BadMagic => write!(f, "bad magic (not in the loading set format)"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "format version {v}, this build reads version {LOADSET_VERSION}"
            ),
            Self::BadHeaderLen(l) => {
                write!(f, "header length {l}, expected {LOADSET_HEADER_LEN}")
            }
            Self::NonZeroReserved => write!(f, "reserved header bytes are not zero"),
            Self::BadChecksum => write!(f, "header checksum mismatch (corrupted)"),
            Self::OtherImage => write!(f, "of another image (manifest differs)"),
            Self::BadPageSize(s) => write!(f, "of {s}-byte pages, not the image's"),
            Self::BadPageCount { pages, image_pages } => {
                write!(f, "of {pages} pages, the image has 1 to {image_pages}")
            }
            Self::BadPayloadLen(l) => write!(f, "payload of {l} bytes is impossible"),
            Self::BadIndex => write!(f, "index SHA-256 mismatch (corrupted)"),
            Self::IndexOutOfRange { entry, page } => {
                write!(f, "entry {entry} names page {page}, past the image")
            }
            Self::Payload(e) => write!(f, "pages corrupted: {e}"),
            Self::BadLength { expected, actual } => {
                write!(f, "{actual} bytes, its header says {expected}")
            }
            Self::Sink(_) => write!(f, "refused by its reader"),
        }
    }
}

/// Copies `src` into `dst` as far as both go (no length to mismatch, so
/// nothing to panic about in the kernel).
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

fn get_le32(b: &[u8; LOADSET_HEADER_LEN], off: usize) -> u32 {
    let mut x = [0u8; 4];
    copy(&mut x, b.get(off..).unwrap_or(&[]));
    u32::from_le_bytes(x)
}

fn get_le64(b: &[u8; LOADSET_HEADER_LEN], off: usize) -> u64 {
    let mut x = [0u8; 8];
    copy(&mut x, b.get(off..).unwrap_or(&[]));
    u64::from_le_bytes(x)
}

fn get_hash(b: &[u8; LOADSET_HEADER_LEN], off: usize) -> [u8; HASH_LEN] {
    let mut x = [0u8; HASH_LEN];
    copy(&mut x, b.get(off..).unwrap_or(&[]));
    x
}

fn put(b: &mut [u8; LOADSET_HEADER_LEN], off: usize, v: &[u8]) {
    copy(b.get_mut(off..).unwrap_or(&mut []), v);
}

impl LoadsetHeader {
    /// Bytes of the index list.
    pub fn index_len(&self) -> Option<u64> {
        self.pages.checked_mul(INDEX_LEN as u64)
    }

    /// Bytes of the whole file.
    pub fn file_len(&self) -> Option<u64> {
        self.index_len()?
            .checked_add(LOADSET_HEADER_LEN as u64)?
            .checked_add(self.payload_len)
    }

    /// Bytes the pages decode to.
    pub fn pages_len(&self) -> Option<u64> {
        self.pages.checked_mul(u64::from(self.page_size))
    }

    /// The pageset2 pages the file `file` (this header's) holds, in its
    /// order, once its index list is whole and matches its SHA-256; pages
    /// past `image`'s last are refused as the [`Stream`] refuses them.
    pub fn index<'a, E>(
        &self,
        file: &'a [u8],
        sha256: Sha256Fn,
        image: &Header,
    ) -> Result<impl Iterator<Item = u64> + 'a, LoadsetError<E>> {
        let end = self
            .index_len()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_add(LOADSET_HEADER_LEN))
            .ok_or(LoadsetError::BadIndex)?;
        let list = file
            .get(LOADSET_HEADER_LEN..end)
            .ok_or(LoadsetError::BadLength {
                expected: end as u64,
                actual: file.len() as u64,
            })?;
        if sha256(list) != self.index_sha256 {
            return Err(LoadsetError::BadIndex);
        }
        let entries = list.chunks_exact(INDEX_LEN).map(index_at);
        if let Some((entry, page)) = entries
            .clone()
            .enumerate()
            .find(|(_, p)| *p >= image.pageset2_pages)
        {
            return Err(LoadsetError::IndexOutOfRange {
                entry: entry as u64,
                page,
            });
        }
        Ok(entries)
    }

    /// The header's bytes, its checksum made with `sha256`.
    pub fn encode(&self, sha256: Sha256Fn) -> [u8; LOADSET_HEADER_LEN] {
        let mut b = [0u8; LOADSET_HEADER_LEN];
        put(&mut b, 0, &LOADSET_MAGIC);
        put(&mut b, OFF_VERSION, &LOADSET_VERSION.to_le_bytes());
        put(
            &mut b,
            OFF_HEADER_LEN,
            &(LOADSET_HEADER_LEN as u32).to_le_bytes(),
        );
        put(&mut b, OFF_PAGE_SIZE, &self.page_size.to_le_bytes());
        put(&mut b, OFF_PAGES, &self.pages.to_le_bytes());
        put(&mut b, OFF_PAYLOAD_LEN, &self.payload_len.to_le_bytes());
        put(&mut b, OFF_MANIFEST_SHA, &self.manifest_sha256);
        put(&mut b, OFF_INDEX_SHA, &self.index_sha256);
        let sum = sha256(b.get(..FIELDS_LEN).unwrap_or(&[]));
        put(&mut b, FIELDS_LEN, &sum);
        b
    }

    /// Parses the first [`LOADSET_HEADER_LEN`] bytes of `bytes` and checks
    /// them against the image whose manifest has SHA-256 `manifest_sha256`
    /// and header `image`.
    pub fn parse<E>(
        bytes: &[u8],
        sha256: Sha256Fn,
        manifest_sha256: &[u8; HASH_LEN],
        image: &Header,
    ) -> Result<Self, LoadsetError<E>> {
        let b: &[u8; LOADSET_HEADER_LEN] = bytes
            .get(..LOADSET_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(LoadsetError::Truncated { len: bytes.len() })?;
        if b.get(..8) != Some(&LOADSET_MAGIC[..]) {
            return Err(LoadsetError::BadMagic);
        }
        let version = get_le32(b, OFF_VERSION);
        if version != LOADSET_VERSION {
            return Err(LoadsetError::UnsupportedVersion(version));
        }
        let header_len = get_le32(b, OFF_HEADER_LEN);
        if header_len as usize != LOADSET_HEADER_LEN {
            return Err(LoadsetError::BadHeaderLen(header_len));
        }
        if get_le32(b, OFF_RESERVED) != 0 {
            return Err(LoadsetError::NonZeroReserved);
        }
        if sha256(b.get(..FIELDS_LEN).unwrap_or(&[])) != get_hash(b, FIELDS_LEN) {
            return Err(LoadsetError::BadChecksum);
        }
        let h = Self {
            page_size: get_le32(b, OFF_PAGE_SIZE),
            pages: get_le64(b, OFF_PAGES),
            payload_len: get_le64(b, OFF_PAYLOAD_LEN),
            manifest_sha256: get_hash(b, OFF_MANIFEST_SHA),
            index_sha256: get_hash(b, OFF_INDEX_SHA),
        };
        if h.manifest_sha256 != *manifest_sha256 {
            return Err(LoadsetError::OtherImage);
        }
        if h.page_size != image.page_size {
            return Err(LoadsetError::BadPageSize(h.page_size));
        }
        if h.pages == 0 || h.pages > image.pageset2_pages {
            return Err(LoadsetError::BadPageCount {
                pages: h.pages,
                image_pages: image.pageset2_pages,
            });
        }
        // Every block holds at least one byte of pages and a frame header.
        let most = h
            .pages_len()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(super::blocks::max_encoded_len);
        let fits = most.is_some_and(|m| h.payload_len <= m as u64);
        if !fits || h.payload_len == 0 || h.file_len().is_none() {
            return Err(LoadsetError::BadPayloadLen(h.payload_len));
        }
        Ok(h)
    }
}

/// What a [`Stream`] hands to its caller.
pub trait LoadsetSink {
    /// The caller's error.
    type Error;

    /// The header, checked against the image: make room for its index
    /// list.
    fn header(&mut self, header: &LoadsetHeader) -> Result<(), Self::Error>;

    /// Bytes `offset..` of the index list, in order.
    fn index(&mut self, offset: u64, bytes: &[u8]) -> Result<(), Self::Error>;

    /// The whole index list, once every byte of it came.
    fn index_bytes(&self) -> &[u8];

    /// Page `entry` of the list, page `page` of pageset2, whole. Its
    /// content is not checked yet: the caller checks it against its hash.
    fn page(&mut self, entry: u64, page: u64, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Where a [`Stream`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Header,
    Index,
    Pages,
    Failed,
}

/// Reads a loading set fed in pieces of any size.
#[derive(Clone, Debug)]
pub struct Stream {
    phase: Phase,
    sha256: Sha256Fn,
    manifest_sha256: [u8; HASH_LEN],
    image: Header,
    head: [u8; LOADSET_HEADER_LEN],
    /// Bytes fed so far.
    len: u64,
    header: Option<LoadsetHeader>,
    decoder: Decoder,
    /// Bytes of the page being put together.
    page_fill: usize,
    /// Pages handed out.
    entry: u64,
}

impl Stream {
    /// A reader of the loading set of the image whose manifest has SHA-256
    /// `manifest_sha256` and header `image`.
    pub fn new(sha256: Sha256Fn, manifest_sha256: [u8; HASH_LEN], image: Header) -> Self {
        Self {
            phase: Phase::Header,
            sha256,
            manifest_sha256,
            image,
            head: [0; LOADSET_HEADER_LEN],
            len: 0,
            header: None,
            decoder: Decoder::new(0),
            page_fill: 0,
            entry: 0,
        }
    }

    /// The header, once it came and checked out.
    pub fn header(&self) -> Option<&LoadsetHeader> {
        self.header.as_ref()
    }

    /// Pages handed out so far.
    pub fn pages_done(&self) -> u64 {
        self.entry
    }

    /// Feeds the next `data`. `stage` and `out` are those of
    /// [`Decoder::feed`]; `page` (at least a page) puts together a page
    /// whose bytes come in pieces. After an error the stream refuses
    /// everything.
    pub fn feed<S: LoadsetSink>(
        &mut self,
        data: &[u8],
        stage: &mut [u8],
        out: &mut [u8],
        page: &mut [u8],
        decompress: DecompressFn,
        sink: &mut S,
    ) -> Result<(), LoadsetError<S::Error>> {
        let r = self.feed_inner(data, stage, out, page, decompress, sink);
        if r.is_err() {
            self.phase = Phase::Failed;
        }
        r
    }

    fn feed_inner<S: LoadsetSink>(
        &mut self,
        mut data: &[u8],
        stage: &mut [u8],
        out: &mut [u8],
        page: &mut [u8],
        decompress: DecompressFn,
        sink: &mut S,
    ) -> Result<(), LoadsetError<S::Error>> {
        while !data.is_empty() {
            match self.phase {
                Phase::Failed => return Err(LoadsetError::Payload(DecodeError::Trailing)),
                Phase::Header => {
                    let at = usize::try_from(self.len).unwrap_or(usize::MAX);
                    let k = LOADSET_HEADER_LEN.saturating_sub(at).min(data.len());
                    let (now, rest) = data.split_at(k);
                    copy(self.head.get_mut(at..).unwrap_or(&mut []), now);
                    self.len = self.len.saturating_add(k as u64);
                    data = rest;
                    if self.len < LOADSET_HEADER_LEN as u64 {
                        continue;
                    }
                    let h = LoadsetHeader::parse(
                        &self.head,
                        self.sha256,
                        &self.manifest_sha256,
                        &self.image,
                    )?;
                    if (h.page_size as usize) > page.len() {
                        return Err(LoadsetError::BadPageSize(h.page_size));
                    }
                    sink.header(&h).map_err(LoadsetError::Sink)?;
                    self.decoder = Decoder::new(h.pages_len().unwrap_or(0));
                    self.header = Some(h);
                    self.phase = Phase::Index;
                }
                Phase::Index => {
                    let Some(h) = self.header else {
                        return Err(LoadsetError::Truncated { len: 0 });
                    };
                    let done = self.len.saturating_sub(LOADSET_HEADER_LEN as u64);
                    let left = h.index_len().unwrap_or(0).saturating_sub(done);
                    let k = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let (now, rest) = data.split_at(k);
                    sink.index(done, now).map_err(LoadsetError::Sink)?;
                    self.len = self.len.saturating_add(k as u64);
                    data = rest;
                    if self.len.saturating_sub(LOADSET_HEADER_LEN as u64)
                        < h.index_len().unwrap_or(0)
                    {
                        continue;
                    }
                    let list = sink.index_bytes();
                    if (self.sha256)(list) != h.index_sha256 {
                        return Err(LoadsetError::BadIndex);
                    }
                    let bad = list
                        .chunks_exact(INDEX_LEN)
                        .map(index_at)
                        .enumerate()
                        .find(|&(_, p)| p >= self.image.pageset2_pages);
                    if let Some((entry, page)) = bad {
                        return Err(LoadsetError::IndexOutOfRange {
                            entry: entry as u64,
                            page,
                        });
                    }
                    self.phase = Phase::Pages;
                }
                Phase::Pages => {
                    self.len = self.len.saturating_add(data.len() as u64);
                    let expected = self.header.and_then(|h| h.file_len()).unwrap_or(u64::MAX);
                    if self.len > expected {
                        return Err(LoadsetError::BadLength {
                            expected,
                            actual: self.len,
                        });
                    }
                    let page_size = self.image.page_size as usize;
                    let (fill, entry) = (&mut self.page_fill, &mut self.entry);
                    let mut failed = None;
                    let mut pieces = |mut bytes: &[u8]| -> Result<(), ()> {
                        while !bytes.is_empty() {
                            let k = page_size.saturating_sub(*fill).min(bytes.len());
                            let (now, rest) = bytes.split_at(k);
                            copy(page.get_mut(*fill..).ok_or(())?, now);
                            *fill = fill.saturating_add(k);
                            bytes = rest;
                            if *fill == page_size {
                                *fill = 0;
                                let at = usize::try_from(*entry)
                                    .ok()
                                    .and_then(|e| e.checked_mul(INDEX_LEN))
                                    .unwrap_or(usize::MAX);
                                let index = sink
                                    .index_bytes()
                                    .get(at..at.saturating_add(INDEX_LEN))
                                    .map(index_at)
                                    .ok_or(())?;
                                let whole = page.get(..page_size).ok_or(())?;
                                if let Err(e) = sink.page(*entry, index, whole) {
                                    failed = Some(e);
                                    return Err(());
                                }
                                *entry = entry.saturating_add(1);
                            }
                        }
                        Ok(())
                    };
                    let r = self.decoder.feed(data, stage, out, decompress, &mut pieces);
                    if let Some(e) = failed {
                        return Err(LoadsetError::Sink(e));
                    }
                    r.map_err(|e| LoadsetError::Payload(e.map_sink()))?;
                    data = &[];
                }
            }
        }
        Ok(())
    }

    /// Checks that the stream, now at its end, held the whole loading
    /// set.
    pub fn finish<E>(&self) -> Result<(), LoadsetError<E>> {
        let Some(h) = self.header.filter(|_| self.phase == Phase::Pages) else {
            return Err(LoadsetError::Truncated {
                len: usize::try_from(self.len).unwrap_or(usize::MAX),
            });
        };
        let expected = h.file_len().unwrap_or(u64::MAX);
        if self.len != expected {
            return Err(LoadsetError::BadLength {
                expected,
                actual: self.len,
            });
        }
        self.decoder.finish().map_err(LoadsetError::Payload)
    }
}

/// The index stored in `b` (8 little-endian bytes).
fn index_at(b: &[u8]) -> u64 {
    let mut x = [0u8; INDEX_LEN];
    copy(&mut x, b);
    u64::from_le_bytes(x)
}

impl<E> DecodeError<E> {
    /// The same error without the sink's (which the caller reports
    /// itself).
    fn map_sink(self) -> DecodeError<()> {
        match self {
            Self::SmallBuffers => DecodeError::SmallBuffers,
            Self::BadFrame { block } => DecodeError::BadFrame { block },
            Self::BadBlock { block } => DecodeError::BadBlock { block },
            Self::Trailing => DecodeError::Trailing,
            Self::Truncated { decoded, expected } => DecodeError::Truncated { decoded, expected },
            Self::BadPageSize => DecodeError::BadPageSize,
            Self::Sink(_) => DecodeError::Sink(()),
        }
    }
}
