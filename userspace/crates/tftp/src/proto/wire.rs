// SPDX-License-Identifier: GPL-2.0

//! Bounds-checked reading and writing of wire fields.

use super::packet::EncodeError;

/// A cursor that writes into a caller-provided buffer and never goes past
/// its end.
pub(super) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the beginning of `buf`.
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Number of bytes written so far.
    pub(super) fn len(&self) -> usize {
        self.pos
    }

    /// Appends `bytes`.
    pub(super) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Appends `value` in network byte order.
    pub(super) fn u16(&mut self, value: u16) -> Result<(), EncodeError> {
        self.bytes(&value.to_be_bytes())
    }

    /// Appends `s` and its NUL terminator; `s` must not contain a NUL.
    pub(super) fn cstr(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        if s.contains(&0) {
            return Err(EncodeError::ContainsNul);
        }
        self.bytes(s)?;
        self.bytes(&[0])
    }

    /// Appends as much of `s` (up to its first NUL) as fits with its NUL
    /// terminator, and the terminator.
    pub(super) fn cstr_truncated(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        let s = s.split(|&b| b == 0).next().unwrap_or(&[]);
        let room = self.buf.len().saturating_sub(self.pos).saturating_sub(1);
        let s = s.get(..room).unwrap_or(s);
        self.bytes(s)?;
        self.bytes(&[0])
    }

    /// Appends `value` in decimal ASCII, without leading zeros.
    pub(super) fn decimal(&mut self, value: u64) -> Result<(), EncodeError> {
        // u64::MAX has 20 digits.
        let mut digits = [0u8; 20];
        let mut rest = value;
        let mut start = digits.len();
        for (i, slot) in digits.iter_mut().enumerate().rev() {
            *slot = b'0' | (rest % 10) as u8;
            rest /= 10;
            start = i;
            if rest == 0 {
                break;
            }
        }
        self.bytes(digits.get(start..).unwrap_or(&[]))
    }
}

/// Splits a big-endian `u16` off the front of `buf`.
pub(super) fn split_u16(buf: &[u8]) -> Option<(u16, &[u8])> {
    let (head, rest) = buf.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes(*head), rest))
}

/// Splits a NUL-terminated string off the front of `buf`: the string
/// without its NUL, and what follows the NUL. `None` if there is no NUL.
pub(super) fn split_cstr(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut parts = buf.splitn(2, |&b| b == 0);
    let s = parts.next()?;
    let rest = parts.next()?;
    Some((s, rest))
}

/// Parses a non-empty string of ASCII digits; `None` if it is empty, has
/// anything else than digits or does not fit in a `u64`.
pub(super) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}
