// SPDX-License-Identifier: GPL-2.0

//! The blocks of an LZ4-encoded `pageset1` and of LZ4-encoded pageset2
//! chunk files.
//!
//! The hibernation image (or the pages of a chunk that are not zero,
//! back to back: [`encode_chunk`], [`decode_chunk`]) is cut into blocks of [`BLOCK_LEN`] bytes (the
//! last one holds what remains) and each block is one frame: a
//! little-endian `u32` and a payload. The low 31 bits of the `u32` are the
//! payload's length; with [`FRAME_STORED`] set the payload is the block as
//! it is, otherwise it is the block compressed as one LZ4 block (the block
//! format of lz4: no frame header, no checksum). A block is stored as it
//! is when compressing it would not make it smaller.
//!
//! The compressor and the decompressor are passed in: `lz4_flex` in
//! userspace, `lib/lz4` in the kernel.

/// Bytes of the hibernation image in one block (the last may be shorter).
pub const BLOCK_LEN: usize = 128 << 10;
/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 4;
/// Frame header bit: the payload is the block as it is.
pub const FRAME_STORED: u32 = 1 << 31;
/// Largest frame: a header and a stored block.
pub const MAX_FRAME_LEN: usize = FRAME_HEADER_LEN + BLOCK_LEN;

/// Compresses its first argument as one LZ4 block into the second, which
/// it must not overrun; returns the compressed length, `None` if it does
/// not fit.
pub type CompressFn = fn(&[u8], &mut [u8]) -> Option<usize>;
/// Decompresses one LZ4 block into the second argument, which it must not
/// overrun; returns the decompressed length, `None` if the block is
/// malformed or does not fit.
pub type DecompressFn = fn(&[u8], &mut [u8]) -> Option<usize>;

/// Encodes `block` (1 to [`BLOCK_LEN`] bytes) as one frame into `out`,
/// which holds at least a frame header and the block as it is; returns the
/// frame's length, or `None` if either has a wrong size.
pub fn encode_block(block: &[u8], compress: CompressFn, out: &mut [u8]) -> Option<usize> {
    if block.is_empty()
        || block.len() > BLOCK_LEN
        || out.len() < FRAME_HEADER_LEN.checked_add(block.len())?
    {
        return None;
    }
    let (head, body) = out.split_at_mut(FRAME_HEADER_LEN);
    // Only a strictly smaller block is worth decompressing.
    let smaller = body.get_mut(..block.len().checked_sub(1)?)?;
    let word = match compress(block, smaller) {
        Some(n) if n > 0 && n < block.len() => u32::try_from(n).ok()?,
        _ => {
            body.get_mut(..block.len())?.copy_from_slice(block);
            u32::try_from(block.len()).ok()? | FRAME_STORED
        }
    };
    head.copy_from_slice(&word.to_le_bytes());
    FRAME_HEADER_LEN.checked_add((word & !FRAME_STORED) as usize)
}

/// Copies `src` into `dst`, which the caller made as long: element by
/// element, so that no length check can panic (the kernel's objtool does
/// not know `copy_from_slice`'s failure path does not return).
fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Why an encoded `pageset1` was rejected; `E` is the sink's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError<E> {
    /// The buffers given to [`Decoder::feed`] hold less than [`BLOCK_LEN`].
    SmallBuffers,
    /// The header of block `block` announces an impossible length.
    BadFrame {
        /// Index of the block.
        block: u64,
    },
    /// Block `block` does not decompress to its length.
    BadBlock {
        /// Index of the block.
        block: u64,
    },
    /// Bytes follow the last block.
    Trailing,
    /// The stream ends before the image does.
    Truncated {
        /// Image bytes decoded.
        decoded: u64,
        /// Image bytes expected.
        expected: u64,
    },
    /// The sink refused decoded bytes.
    Sink(E),
    /// A chunk's page size does not divide [`BLOCK_LEN`].
    BadPageSize,
}

impl<E> core::fmt::Display for DecodeError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::SmallBuffers => write!(f, "decoder buffers smaller than a block"),
            Self::BadFrame { block } => write!(f, "block {block} has a malformed frame header"),
            Self::BadBlock { block } => write!(f, "block {block} does not decompress"),
            Self::Trailing => write!(f, "bytes after the last block"),
            Self::Truncated { decoded, expected } => write!(
                f,
                "ends after {decoded} of {expected} bytes of the hibernation image"
            ),
            Self::Sink(_) => write!(f, "the decoded bytes were refused"),
            Self::BadPageSize => write!(f, "the page size does not divide a block"),
        }
    }
}

/// The frame being read.
#[derive(Clone, Copy, Debug)]
struct Frame {
    /// Payload length.
    len: usize,
    /// Payload bytes seen so far.
    fill: usize,
    /// The payload is the block as it is.
    stored: bool,
    /// Bytes the block decodes to.
    out_len: usize,
}

/// Decodes an LZ4-encoded `pageset1` fed in pieces of any size, handing
/// the hibernation image to a sink in order.
#[derive(Clone, Debug)]
pub struct Decoder {
    /// Image bytes expected.
    total: u64,
    /// Image bytes of the whole blocks decoded so far.
    done: u64,
    /// The frame header being read, and how much of it has come.
    head: [u8; FRAME_HEADER_LEN],
    head_fill: usize,
    /// The frame whose payload is being read, once its header is complete.
    frame: Option<Frame>,
}

impl Decoder {
    /// A decoder of a stream that decodes to `total` bytes.
    pub const fn new(total: u64) -> Self {
        Self {
            total,
            done: 0,
            head: [0; FRAME_HEADER_LEN],
            head_fill: 0,
            frame: None,
        }
    }

    /// Decodes `data`, the next bytes of the stream. `stage` and `out`
    /// (at least [`BLOCK_LEN`] bytes each) keep a compressed block and its
    /// decompressed bytes between calls; `sink` gets the image's bytes in
    /// order. A stored block goes to `sink` as it arrives, so a stream
    /// found bad later may already have given some of it.
    pub fn feed<E>(
        &mut self,
        mut data: &[u8],
        stage: &mut [u8],
        out: &mut [u8],
        decompress: DecompressFn,
        sink: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), DecodeError<E>> {
        if stage.len() < BLOCK_LEN || out.len() < BLOCK_LEN {
            return Err(DecodeError::SmallBuffers);
        }
        while !data.is_empty() {
            let Some(mut frame) = self.frame else {
                data = self.read_header(data)?;
                continue;
            };
            let want = frame.len.saturating_sub(frame.fill);
            let (now, rest) = data.split_at(want.min(data.len()));
            data = rest;
            if frame.stored {
                sink(now).map_err(DecodeError::Sink)?;
            } else {
                let end = frame.fill.saturating_add(now.len());
                copy(
                    stage
                        .get_mut(frame.fill..end)
                        .ok_or(DecodeError::SmallBuffers)?,
                    now,
                );
            }
            frame.fill = frame.fill.saturating_add(now.len());
            self.frame = Some(frame);
            if frame.fill < frame.len {
                continue;
            }
            if !frame.stored {
                let bad = DecodeError::BadBlock {
                    block: self.block(),
                };
                let src = stage.get(..frame.len).ok_or(DecodeError::SmallBuffers)?;
                let dst = out
                    .get_mut(..frame.out_len)
                    .ok_or(DecodeError::SmallBuffers)?;
                if decompress(src, dst) != Some(frame.out_len) {
                    return Err(bad);
                }
                sink(dst).map_err(DecodeError::Sink)?;
            }
            self.done = self.done.saturating_add(frame.out_len as u64);
            self.frame = None;
        }
        Ok(())
    }

    /// Reads frame header bytes from `data`; returns what follows them.
    fn read_header<'d, E>(&mut self, data: &'d [u8]) -> Result<&'d [u8], DecodeError<E>> {
        if self.done >= self.total {
            return Err(DecodeError::Trailing);
        }
        let k = FRAME_HEADER_LEN
            .saturating_sub(self.head_fill)
            .min(data.len());
        let (now, rest) = data.split_at(k);
        let end = self.head_fill.saturating_add(k);
        copy(
            self.head.get_mut(self.head_fill..end).unwrap_or(&mut []),
            now,
        );
        self.head_fill = end;
        if self.head_fill < FRAME_HEADER_LEN {
            return Ok(rest);
        }
        self.head_fill = 0;
        let word = u32::from_le_bytes(self.head);
        let len = (word & !FRAME_STORED) as usize;
        let stored = word & FRAME_STORED != 0;
        let left = self.total.saturating_sub(self.done);
        let out_len = usize::try_from(left.min(BLOCK_LEN as u64)).unwrap_or(BLOCK_LEN);
        let fits = if stored {
            len == out_len
        } else {
            (1..=BLOCK_LEN).contains(&len)
        };
        if !fits {
            return Err(DecodeError::BadFrame {
                block: self.block(),
            });
        }
        self.frame = Some(Frame {
            len,
            fill: 0,
            stored,
            out_len,
        });
        Ok(rest)
    }

    /// Index of the block being read: every block before it is whole.
    fn block(&self) -> u64 {
        self.done.checked_div(BLOCK_LEN as u64).unwrap_or(0)
    }

    /// Image bytes of the whole blocks decoded so far.
    pub fn decoded(&self) -> u64 {
        self.done
    }

    /// Checks that the stream, now at its end, held the whole image.
    pub fn finish<E>(&self) -> Result<(), DecodeError<E>> {
        if self.done != self.total || self.frame.is_some() || self.head_fill != 0 {
            return Err(DecodeError::Truncated {
                decoded: self.done,
                expected: self.total,
            });
        }
        Ok(())
    }
}

/// Longest encoded form of `len` bytes: every block stored as it is, each
/// behind its frame header; `None` if that does not fit in a `usize`.
pub fn max_encoded_len(len: usize) -> Option<usize> {
    len.div_ceil(BLOCK_LEN)
        .checked_mul(FRAME_HEADER_LEN)?
        .checked_add(len)
}

/// Encodes a pageset2 chunk file into `out`: the pages of `pages` (whole
/// pages of `page_size` bytes, index order) for which `zero` is false, back
/// to back, cut into blocks of [`BLOCK_LEN`] bytes and framed like an
/// LZ4-encoded `pageset1`. `zero(j)` says whether page `j` of the chunk is
/// all zeros (a reader learns it from the page's hash): such a page has
/// no bytes in the file. `block` (at least [`BLOCK_LEN`] bytes) gathers a
/// block; `out` must hold [`max_encoded_len`] of the pages kept. Returns
/// the file's length, 0 if every page is zero (the chunk has no file), or
/// `None` if a buffer is too small or `pages` is not whole pages.
pub fn encode_chunk(
    pages: &[u8],
    page_size: usize,
    zero: impl Fn(usize) -> bool,
    compress: CompressFn,
    block: &mut [u8],
    out: &mut [u8],
) -> Option<usize> {
    if page_size == 0 || pages.len().checked_rem(page_size)? != 0 || block.len() < BLOCK_LEN {
        return None;
    }
    let mut fill = 0usize;
    let mut written = 0usize;
    let kept = pages
        .chunks_exact(page_size)
        .enumerate()
        .filter(|(j, _)| !zero(*j))
        .map(|(_, p)| p);
    for mut page in kept {
        while !page.is_empty() {
            let room = BLOCK_LEN.checked_sub(fill)?;
            let (now, rest) = page.split_at(room.min(page.len()));
            let end = fill.checked_add(now.len())?;
            block.get_mut(fill..end)?.copy_from_slice(now);
            fill = end;
            page = rest;
            if fill == BLOCK_LEN {
                let n = encode_block(block.get(..fill)?, compress, out.get_mut(written..)?)?;
                written = written.checked_add(n)?;
                fill = 0;
            }
        }
    }
    if fill > 0 {
        let n = encode_block(block.get(..fill)?, compress, out.get_mut(written..)?)?;
        written = written.checked_add(n)?;
    }
    Some(written)
}

/// Decodes `file`, a whole pageset2 chunk file of `pages` pages of
/// `page_size` bytes encoded by [`encode_chunk`], where `zero(j)` says
/// whether page `j` of the chunk is all zeros (and so not in the file):
/// hands each page that is in the file to `sink` with its place `j` in
/// the chunk, in order. `stage` and `out` are those of
/// [`Decoder::feed`]. An empty `file` is a chunk of zeros. Errors as
/// [`Decoder`]'s; the pages handed out before an error were whole and in
/// place, but the file was not.
#[allow(clippy::too_many_arguments)]
pub fn decode_chunk<E>(
    file: &[u8],
    pages: usize,
    page_size: usize,
    zero: impl Fn(usize) -> bool,
    stage: &mut [u8],
    out: &mut [u8],
    decompress: DecompressFn,
    sink: &mut impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<(), DecodeError<E>> {
    // Every block then holds whole pages.
    if page_size == 0 || BLOCK_LEN.checked_rem(page_size) != Some(0) {
        return Err(DecodeError::BadPageSize);
    }
    let stored = (0..pages).filter(|&j| !zero(j)).count();
    let total = (stored as u64).saturating_mul(page_size as u64);
    let mut decoder = Decoder::new(total);
    let mut next = 0usize;
    let mut pieces = |bytes: &[u8]| -> Result<(), Option<E>> {
        // The whole file is fed at once: a piece is a whole block.
        if bytes.len().checked_rem(page_size) != Some(0) {
            return Err(None);
        }
        for page in bytes.chunks_exact(page_size) {
            while next < pages && zero(next) {
                next = next.saturating_add(1);
            }
            sink(next, page).map_err(Some)?;
            next = next.saturating_add(1);
        }
        Ok(())
    };
    match decoder.feed(file, stage, out, decompress, &mut pieces) {
        Ok(()) => {}
        Err(DecodeError::Sink(Some(e))) => return Err(DecodeError::Sink(e)),
        Err(DecodeError::Sink(None)) => return Err(DecodeError::BadPageSize),
        Err(e) => return Err(e.without_sink()),
    }
    decoder.finish()
}

impl<E> DecodeError<E> {
    /// The same error for another sink error type ([`DecodeError::Sink`],
    /// which callers handle first, becomes [`DecodeError::BadPageSize`]).
    fn without_sink<F>(self) -> DecodeError<F> {
        match self {
            Self::SmallBuffers => DecodeError::SmallBuffers,
            Self::BadFrame { block } => DecodeError::BadFrame { block },
            Self::BadBlock { block } => DecodeError::BadBlock { block },
            Self::Trailing => DecodeError::Trailing,
            Self::Truncated { decoded, expected } => DecodeError::Truncated { decoded, expected },
            Self::BadPageSize | Self::Sink(_) => DecodeError::BadPageSize,
        }
    }
}
