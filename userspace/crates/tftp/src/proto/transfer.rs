// SPDX-License-Identifier: GPL-2.0

//! What the download and upload state machines share.

use core::fmt;

use super::options::NegotiationError;
use super::packet::{encode_error_truncated, encode_unknown_tid, DecodeError, ErrorCode, Opcode};
use super::wire;

/// The smallest `out` buffer [`super::Receiver::on_packet`] and
/// [`super::Sender::on_packet`] accept: room for an ACK or for an ERROR
/// with its message. (The sender needs [`super::DATA_HEADER_LEN`] plus the
/// block size to send DATA.)
pub const MIN_OUT_LEN: usize = 128;

/// Why a transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferError<'p> {
    /// The peer sent an ERROR packet.
    Remote {
        /// Its error code.
        code: ErrorCode,
        /// Its message, borrowed from the packet.
        message: &'p [u8],
    },
    /// The server's OACK is unacceptable; the client answers ERROR 8.
    Negotiation(NegotiationError),
    /// The peer sent a packet that does not decode; answered with ERROR 4.
    Malformed(DecodeError),
    /// The peer sent a packet that has no place in this transfer (say, an
    /// ACK during a download); answered with ERROR 4.
    Unexpected(Opcode),
    /// The server sent a DATA block longer than the block size; answered
    /// with ERROR 4.
    OversizedBlock {
        /// Payload length of the block.
        len: usize,
        /// The negotiated block size.
        blksize: u16,
    },
    /// The transfer passed 2^64 bytes or blocks.
    Overflow,
    /// The caller's `out` buffer is shorter than [`MIN_OUT_LEN`].
    BufferTooSmall,
}

impl TransferError<'_> {
    /// The ERROR packet the client sends to the peer about this failure,
    /// if any.
    pub const fn reply(&self) -> Option<(ErrorCode, &'static str)> {
        match self {
            Self::Remote { .. } | Self::BufferTooSmall => None,
            Self::Negotiation(e) => Some((ErrorCode::OptionNegotiation, e.message())),
            Self::Malformed(_) => Some((ErrorCode::IllegalOperation, "Malformed packet")),
            Self::Unexpected(_) => Some((ErrorCode::IllegalOperation, "Unexpected packet")),
            Self::OversizedBlock { .. } => Some((
                ErrorCode::IllegalOperation,
                "DATA block larger than blksize",
            )),
            Self::Overflow => Some((ErrorCode::DiskFull, "Transfer too large")),
        }
    }
}

impl fmt::Display for TransferError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote { code, message } => {
                write!(f, "peer error {code}: \"")?;
                for &b in *message {
                    write!(f, "{}", core::ascii::escape_default(b))?;
                }
                f.write_str("\"")
            }
            Self::Negotiation(e) => write!(f, "option negotiation failed: {e}"),
            Self::Malformed(e) => write!(f, "malformed packet: {e}"),
            Self::Unexpected(op) => write!(f, "unexpected {op:?} packet"),
            Self::OversizedBlock { len, blksize } => {
                write!(f, "DATA block of {len} bytes exceeds blksize {blksize}")
            }
            Self::Overflow => f.write_str("transfer too large"),
            Self::BufferTooSmall => f.write_str("output buffer too small"),
        }
    }
}

/// The answer to a packet from a stranger (a wrong TID): ERROR 5 in `out`,
/// or `None` if the stranger's packet is an ERROR itself (errors are never
/// answered) or `out` is too small.
pub(super) fn reject_stranger(pkt: &[u8], out: &mut [u8]) -> Option<usize> {
    if let Some((opcode, _)) = wire::split_u16(pkt) {
        if opcode == Opcode::Error.as_u16() {
            return None;
        }
    }
    encode_unknown_tid(out).ok()
}

/// Writes the ERROR packet that reports `error` to the peer, if there is
/// one and it fits.
pub(super) fn write_reply(error: &TransferError<'_>, out: &mut [u8]) -> Option<usize> {
    let (code, message) = error.reply()?;
    encode_error_truncated(out, code, message.as_bytes()).ok()
}

/// Writes an ERROR packet to abort a transfer, if it fits.
pub(super) fn write_abort(code: ErrorCode, message: &[u8], out: &mut [u8]) -> Option<usize> {
    encode_error_truncated(out, code, message).ok()
}
