// SPDX-License-Identifier: GPL-2.0

//! TFTP packets: zero-copy decoding, encoding into caller buffers.

use core::fmt;

use super::options::{OptionKind, OptionList, OptionSet};
use super::wire::{self, Writer};

/// Length of the DATA header (opcode and block number) before the payload.
pub const DATA_HEADER_LEN: usize = 4;

/// Length of an ACK packet.
pub const ACK_LEN: usize = 4;

/// The opcode of a TFTP packet, its first two bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// Read request (1).
    Rrq,
    /// Write request (2).
    Wrq,
    /// Data block (3).
    Data,
    /// Acknowledgment (4).
    Ack,
    /// Error (5).
    Error,
    /// Option acknowledgment (6, RFC 2347).
    Oack,
}

impl Opcode {
    /// The opcode with wire value `value`, if there is one.
    pub const fn from_u16(value: u16) -> Option<Self> {
        match value {
            1 => Some(Self::Rrq),
            2 => Some(Self::Wrq),
            3 => Some(Self::Data),
            4 => Some(Self::Ack),
            5 => Some(Self::Error),
            6 => Some(Self::Oack),
            _ => None,
        }
    }

    /// The opcode of the packet `pkt`, if it has a known one.
    pub const fn of(pkt: &[u8]) -> Option<Self> {
        match pkt {
            [hi, lo, ..] => Self::from_u16(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }

    /// The wire value of the opcode.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::Rrq => 1,
            Self::Wrq => 2,
            Self::Data => 3,
            Self::Ack => 4,
            Self::Error => 5,
            Self::Oack => 6,
        }
    }
}

/// The transfer mode of a request.
///
/// Decoding accepts the three modes of RFC 1350, in any case; lazyresume
/// itself only sends [`Mode::Octet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `octet`: raw bytes.
    Octet,
    /// `netascii`: 8-bit ASCII with CR LF line ends.
    Netascii,
    /// `mail`: obsolete mail delivery mode.
    Mail,
}

impl Mode {
    /// The mode's name as sent on the wire (lower case).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Octet => "octet",
            Self::Netascii => "netascii",
            Self::Mail => "mail",
        }
    }

    /// The mode named `name`, compared case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        [Self::Octet, Self::Netascii, Self::Mail]
            .into_iter()
            .find(|mode| name.eq_ignore_ascii_case(mode.as_str().as_bytes()))
    }
}

/// The error code of an ERROR packet.
///
/// [`ErrorCode::from_u16`] maps 0 to 8 to the named variants and anything
/// else to [`ErrorCode::Other`]; `Other` never holds 0 to 8 when decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: not defined, see the message.
    NotDefined,
    /// 1: file not found.
    FileNotFound,
    /// 2: access violation.
    AccessViolation,
    /// 3: disk full or allocation exceeded.
    DiskFull,
    /// 4: illegal TFTP operation.
    IllegalOperation,
    /// 5: unknown transfer ID.
    UnknownTransferId,
    /// 6: file already exists.
    FileExists,
    /// 7: no such user.
    NoSuchUser,
    /// 8: option negotiation failed (RFC 2347).
    OptionNegotiation,
    /// Any other code.
    Other(u16),
}

impl ErrorCode {
    /// The code with wire value `value`.
    pub const fn from_u16(value: u16) -> Self {
        match value {
            0 => Self::NotDefined,
            1 => Self::FileNotFound,
            2 => Self::AccessViolation,
            3 => Self::DiskFull,
            4 => Self::IllegalOperation,
            5 => Self::UnknownTransferId,
            6 => Self::FileExists,
            7 => Self::NoSuchUser,
            8 => Self::OptionNegotiation,
            other => Self::Other(other),
        }
    }

    /// The wire value of the code.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::NotDefined => 0,
            Self::FileNotFound => 1,
            Self::AccessViolation => 2,
            Self::DiskFull => 3,
            Self::IllegalOperation => 4,
            Self::UnknownTransferId => 5,
            Self::FileExists => 6,
            Self::NoSuchUser => 7,
            Self::OptionNegotiation => 8,
            Self::Other(other) => other,
        }
    }

    /// The meaning of the code as RFC 1350 and RFC 2347 word it.
    pub const fn description(self) -> &'static str {
        match self {
            Self::NotDefined => "Not defined",
            Self::FileNotFound => "File not found",
            Self::AccessViolation => "Access violation",
            Self::DiskFull => "Disk full or allocation exceeded",
            Self::IllegalOperation => "Illegal TFTP operation",
            Self::UnknownTransferId => "Unknown transfer ID",
            Self::FileExists => "File already exists",
            Self::NoSuchUser => "No such user",
            Self::OptionNegotiation => "Option negotiation failed",
            Self::Other(_) => "Unknown error code",
        }
    }
}

impl From<u16> for ErrorCode {
    fn from(value: u16) -> Self {
        Self::from_u16(value)
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> Self {
        code.as_u16()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description(), self.as_u16())
    }
}

/// Which request a client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// RRQ: download a file from the server.
    Read,
    /// WRQ: upload a file to the server.
    Write,
}

/// The body of an RRQ or WRQ packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    /// The file name, without its NUL terminator; any bytes but NUL.
    pub filename: &'a [u8],
    /// The transfer mode.
    pub mode: Mode,
    /// The options the client asks for (RFC 2347); may hold unknown ones.
    pub options: OptionList<'a>,
}

impl<'a> Request<'a> {
    fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let (filename, rest) = wire::split_cstr(body).ok_or(DecodeError::MissingNul)?;
        let (mode, rest) = wire::split_cstr(rest).ok_or(DecodeError::MissingNul)?;
        let mode = Mode::from_name(mode).ok_or(DecodeError::BadMode)?;
        let options = OptionList::parse(rest)?;
        Ok(Self {
            filename,
            mode,
            options,
        })
    }
}

/// A TFTP packet that borrows its strings and data from the buffer it was
/// decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Packet<'a> {
    /// Read request.
    Rrq(Request<'a>),
    /// Write request.
    Wrq(Request<'a>),
    /// A data block; `data` is shorter than the block size in the last one.
    Data {
        /// Block number, 1 for the first block, wrapping from 65535 to 0.
        block: u16,
        /// The payload.
        data: &'a [u8],
    },
    /// Acknowledgment of a data block, or of the request (block 0).
    Ack {
        /// Block number acknowledged.
        block: u16,
    },
    /// Error: ends the transfer.
    Error {
        /// The error code.
        code: ErrorCode,
        /// The message, without its NUL terminator; any bytes but NUL.
        message: &'a [u8],
    },
    /// Option acknowledgment: the options the server accepts.
    Oack(OptionList<'a>),
}

impl<'a> Packet<'a> {
    /// Decodes `buf`, one whole UDP payload, without copying.
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let (opcode, body) = wire::split_u16(buf).ok_or(DecodeError::Truncated)?;
        match Opcode::from_u16(opcode) {
            Some(Opcode::Rrq) => Ok(Self::Rrq(Request::decode(body)?)),
            Some(Opcode::Wrq) => Ok(Self::Wrq(Request::decode(body)?)),
            Some(Opcode::Data) => {
                let (block, data) = wire::split_u16(body).ok_or(DecodeError::Truncated)?;
                Ok(Self::Data { block, data })
            }
            Some(Opcode::Ack) => {
                let (block, rest) = wire::split_u16(body).ok_or(DecodeError::Truncated)?;
                if !rest.is_empty() {
                    return Err(DecodeError::TrailingBytes);
                }
                Ok(Self::Ack { block })
            }
            Some(Opcode::Error) => {
                let (code, rest) = wire::split_u16(body).ok_or(DecodeError::Truncated)?;
                let (message, rest) = wire::split_cstr(rest).ok_or(DecodeError::MissingNul)?;
                if !rest.is_empty() {
                    return Err(DecodeError::TrailingBytes);
                }
                Ok(Self::Error {
                    code: ErrorCode::from_u16(code),
                    message,
                })
            }
            Some(Opcode::Oack) => Ok(Self::Oack(OptionList::parse(body)?)),
            None => Err(DecodeError::BadOpcode(opcode)),
        }
    }

    /// Encodes the packet at the start of `out` and returns its length.
    ///
    /// Requests are encoded with their mode in lower case and their options
    /// exactly as they were decoded.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(out);
        w.u16(self.opcode().as_u16())?;
        match self {
            Self::Rrq(request) | Self::Wrq(request) => {
                w.cstr(request.filename)?;
                w.cstr(request.mode.as_str().as_bytes())?;
                w.bytes(request.options.as_bytes())?;
            }
            Self::Data { block, data } => {
                w.u16(*block)?;
                w.bytes(data)?;
            }
            Self::Ack { block } => w.u16(*block)?,
            Self::Error { code, message } => {
                w.u16(code.as_u16())?;
                w.cstr(message)?;
            }
            Self::Oack(options) => w.bytes(options.as_bytes())?,
        }
        Ok(w.len())
    }

    /// The packet's opcode.
    pub const fn opcode(&self) -> Opcode {
        match self {
            Self::Rrq(_) => Opcode::Rrq,
            Self::Wrq(_) => Opcode::Wrq,
            Self::Data { .. } => Opcode::Data,
            Self::Ack { .. } => Opcode::Ack,
            Self::Error { .. } => Opcode::Error,
            Self::Oack(_) => Opcode::Oack,
        }
    }
}

/// Encodes an `octet` RRQ or WRQ for `filename` with `options` into `out`
/// and returns its length.
///
/// RFC 2347 limits requests to 512 bytes; keeping file names short enough
/// is up to the caller.
pub fn encode_request(
    out: &mut [u8],
    kind: RequestKind,
    filename: &[u8],
    options: &OptionSet,
) -> Result<usize, EncodeError> {
    options.validate().map_err(EncodeError::BadOptionValue)?;
    let opcode = match kind {
        RequestKind::Read => Opcode::Rrq,
        RequestKind::Write => Opcode::Wrq,
    };
    let mut w = Writer::new(out);
    w.u16(opcode.as_u16())?;
    w.cstr(filename)?;
    w.cstr(Mode::Octet.as_str().as_bytes())?;
    options.write(&mut w)?;
    Ok(w.len())
}

/// Encodes an OACK acknowledging `options` into `out` and returns its
/// length.
pub fn encode_oack(out: &mut [u8], options: &OptionSet) -> Result<usize, EncodeError> {
    options.validate().map_err(EncodeError::BadOptionValue)?;
    let mut w = Writer::new(out);
    w.u16(Opcode::Oack.as_u16())?;
    options.write(&mut w)?;
    Ok(w.len())
}

/// Encodes DATA block `block` carrying `data` into `out` and returns its
/// length, [`DATA_HEADER_LEN`] + `data.len()`.
pub fn encode_data(out: &mut [u8], block: u16, data: &[u8]) -> Result<usize, EncodeError> {
    Packet::Data { block, data }.encode(out)
}

/// Encodes an ACK of block `block` into `out` and returns its length,
/// [`ACK_LEN`].
pub fn encode_ack(out: &mut [u8], block: u16) -> Result<usize, EncodeError> {
    Packet::Ack { block }.encode(out)
}

/// Encodes an ERROR with `code` and `message` (which must not contain a
/// NUL) into `out` and returns its length.
pub fn encode_error(out: &mut [u8], code: ErrorCode, message: &[u8]) -> Result<usize, EncodeError> {
    Packet::Error { code, message }.encode(out)
}

/// Encodes ERROR 5 "Unknown transfer ID", the answer to a packet from a
/// host and port that is not the peer of the transfer, into `out` and
/// returns its length.
pub fn encode_unknown_tid(out: &mut [u8]) -> Result<usize, EncodeError> {
    let code = ErrorCode::UnknownTransferId;
    encode_error(out, code, code.description().as_bytes())
}

/// Encodes an ERROR with `code` and as much of `message` as fits into
/// `out`; only fails if `out` cannot hold an empty message.
pub(super) fn encode_error_truncated(
    out: &mut [u8],
    code: ErrorCode,
    message: &[u8],
) -> Result<usize, EncodeError> {
    let mut w = Writer::new(out);
    w.u16(Opcode::Error.as_u16())?;
    w.u16(code.as_u16())?;
    w.cstr_truncated(message)?;
    Ok(w.len())
}

/// Why a packet could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Shorter than the fixed fields of its opcode (2 bytes for any packet,
    /// 4 for DATA, ACK and ERROR).
    Truncated,
    /// The opcode is not 1 to 6.
    BadOpcode(u16),
    /// A file name, mode, option name or value or error message is not
    /// NUL-terminated.
    MissingNul,
    /// The mode of a request is not `octet`, `netascii` or `mail`.
    BadMode,
    /// An option name is not followed by a value.
    MissingOptionValue,
    /// An option name is empty.
    EmptyOptionName,
    /// A known option has a value that is not a decimal number in its
    /// range.
    BadOptionValue(OptionKind),
    /// A known option appears twice (names compare case-insensitively).
    DuplicateOption(OptionKind),
    /// Bytes follow a complete ACK or ERROR packet.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated packet"),
            Self::BadOpcode(op) => write!(f, "bad opcode {op}"),
            Self::MissingNul => f.write_str("string not NUL-terminated"),
            Self::BadMode => f.write_str("unknown transfer mode"),
            Self::MissingOptionValue => f.write_str("option without a value"),
            Self::EmptyOptionName => f.write_str("empty option name"),
            Self::BadOptionValue(kind) => write!(f, "bad value for option {}", kind.name()),
            Self::DuplicateOption(kind) => write!(f, "duplicate option {}", kind.name()),
            Self::TrailingBytes => f.write_str("trailing bytes after the packet"),
        }
    }
}

/// Why a packet could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncodeError {
    /// The output buffer is too small for the packet.
    BufferTooSmall,
    /// A file name or error message contains a NUL byte.
    ContainsNul,
    /// An option's value is outside its range.
    BadOptionValue(OptionKind),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall => f.write_str("output buffer too small"),
            Self::ContainsNul => f.write_str("string contains a NUL byte"),
            Self::BadOptionValue(kind) => {
                write!(f, "value of option {} out of range", kind.name())
            }
        }
    }
}
