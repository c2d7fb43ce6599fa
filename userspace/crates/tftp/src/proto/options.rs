// SPDX-License-Identifier: GPL-2.0

//! TFTP options (RFC 2347) and the client's side of their negotiation.

use core::fmt;

use super::packet::{DecodeError, EncodeError};
use super::wire::{self, Writer};

/// Block size without the `blksize` option (RFC 1350).
pub const DEFAULT_BLKSIZE: u16 = 512;
/// Smallest `blksize` value (RFC 2348).
pub const MIN_BLKSIZE: u16 = 8;
/// Largest `blksize` value (RFC 2348).
pub const MAX_BLKSIZE: u16 = 65464;
/// Smallest `timeout` value in seconds (RFC 2349); the largest is 255.
pub const MIN_TIMEOUT: u8 = 1;
/// Window size without the `windowsize` option: lockstep (RFC 1350).
pub const DEFAULT_WINDOWSIZE: u16 = 1;
/// Smallest `windowsize` value (RFC 7440); the largest is 65535.
pub const MIN_WINDOWSIZE: u16 = 1;

/// The options this implementation knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionKind {
    /// `blksize`: bytes per DATA block, 8 to 65464 (RFC 2348).
    Blksize,
    /// `timeout`: retransmission timeout in seconds, 1 to 255 (RFC 2349).
    Timeout,
    /// `tsize`: file size in bytes (RFC 2349).
    Tsize,
    /// `windowsize`: blocks per ACK, 1 to 65535 (RFC 7440).
    Windowsize,
}

impl OptionKind {
    /// The option's name as sent on the wire (lower case).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Blksize => "blksize",
            Self::Timeout => "timeout",
            Self::Tsize => "tsize",
            Self::Windowsize => "windowsize",
        }
    }

    /// The option named `name`, compared case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        [Self::Blksize, Self::Timeout, Self::Tsize, Self::Windowsize]
            .into_iter()
            .find(|kind| name.eq_ignore_ascii_case(kind.name().as_bytes()))
    }

    /// The option with value `value`, if the value is in its range.
    pub fn with_value(self, value: u64) -> Option<TftpOption<'static>> {
        match self {
            Self::Blksize => u16::try_from(value)
                .ok()
                .filter(|b| (MIN_BLKSIZE..=MAX_BLKSIZE).contains(b))
                .map(TftpOption::Blksize),
            Self::Timeout => u8::try_from(value)
                .ok()
                .filter(|t| *t >= MIN_TIMEOUT)
                .map(TftpOption::Timeout),
            Self::Tsize => Some(TftpOption::Tsize(value)),
            Self::Windowsize => u16::try_from(value)
                .ok()
                .filter(|w| *w >= MIN_WINDOWSIZE)
                .map(TftpOption::Windowsize),
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Blksize => 1,
            Self::Timeout => 2,
            Self::Tsize => 4,
            Self::Windowsize => 8,
        }
    }
}

/// One option of a request or OACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TftpOption<'a> {
    /// `blksize`.
    Blksize(u16),
    /// `timeout`, in seconds.
    Timeout(u8),
    /// `tsize`, in bytes.
    Tsize(u64),
    /// `windowsize`.
    Windowsize(u16),
    /// An option this implementation does not know.
    Unknown {
        /// Its name, without NUL; never empty.
        name: &'a [u8],
        /// Its value, without NUL; may be empty.
        value: &'a [u8],
    },
}

impl<'a> TftpOption<'a> {
    /// Parses the option `name` with value `value`.
    pub fn parse(name: &'a [u8], value: &'a [u8]) -> Result<Self, DecodeError> {
        if name.is_empty() {
            return Err(DecodeError::EmptyOptionName);
        }
        match OptionKind::from_name(name) {
            None => Ok(Self::Unknown { name, value }),
            Some(kind) => wire::parse_decimal(value)
                .and_then(|v| kind.with_value(v))
                .ok_or(DecodeError::BadOptionValue(kind)),
        }
    }

    /// Which known option this is; `None` for [`TftpOption::Unknown`].
    pub const fn kind(&self) -> Option<OptionKind> {
        match self {
            Self::Blksize(_) => Some(OptionKind::Blksize),
            Self::Timeout(_) => Some(OptionKind::Timeout),
            Self::Tsize(_) => Some(OptionKind::Tsize),
            Self::Windowsize(_) => Some(OptionKind::Windowsize),
            Self::Unknown { .. } => None,
        }
    }
}

/// The validated option list of a request or OACK, as it is on the wire:
/// `name NUL value NUL` pairs.
///
/// Every pair has a non-empty name and a value, the known options have
/// values in their ranges and none appears twice. Unknown options are
/// kept (a server ignores them). Equality compares the wire bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OptionList<'a> {
    raw: &'a [u8],
}

impl<'a> OptionList<'a> {
    /// The empty list.
    pub const EMPTY: OptionList<'static> = OptionList { raw: &[] };

    /// Validates the option bytes `raw`, everything after the mode of a
    /// request or after the opcode of an OACK.
    pub fn parse(raw: &'a [u8]) -> Result<Self, DecodeError> {
        let mut seen = 0u8;
        let mut rest = raw;
        while !rest.is_empty() {
            let (name, after) = wire::split_cstr(rest).ok_or(DecodeError::MissingNul)?;
            if after.is_empty() {
                return Err(DecodeError::MissingOptionValue);
            }
            let (value, after) = wire::split_cstr(after).ok_or(DecodeError::MissingNul)?;
            if let Some(kind) = TftpOption::parse(name, value)?.kind() {
                if seen & kind.bit() != 0 {
                    return Err(DecodeError::DuplicateOption(kind));
                }
                seen |= kind.bit();
            }
            rest = after;
        }
        Ok(Self { raw })
    }

    /// The wire bytes of the list.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the list has no option.
    pub const fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The options in wire order.
    pub fn iter(&self) -> OptionIter<'a> {
        OptionIter { rest: self.raw }
    }

    /// The values of the known options in the list.
    pub fn known(&self) -> OptionSet {
        let mut set = OptionSet::NONE;
        for option in self.iter() {
            match option {
                TftpOption::Blksize(v) => set.blksize = Some(v),
                TftpOption::Timeout(v) => set.timeout = Some(v),
                TftpOption::Tsize(v) => set.tsize = Some(v),
                TftpOption::Windowsize(v) => set.windowsize = Some(v),
                TftpOption::Unknown { .. } => {}
            }
        }
        set
    }

    /// Whether the list has options this implementation does not know.
    pub fn has_unknown(&self) -> bool {
        self.iter().any(|option| option.kind().is_none())
    }
}

impl<'a> IntoIterator for &OptionList<'a> {
    type Item = TftpOption<'a>;
    type IntoIter = OptionIter<'a>;

    fn into_iter(self) -> OptionIter<'a> {
        self.iter()
    }
}

/// Iterator over the options of an [`OptionList`].
#[derive(Clone, Debug)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = TftpOption<'a>;

    fn next(&mut self) -> Option<TftpOption<'a>> {
        // The list was validated: none of these fail.
        let (name, after) = wire::split_cstr(self.rest)?;
        let (value, after) = wire::split_cstr(after)?;
        self.rest = after;
        TftpOption::parse(name, value).ok()
    }
}

/// Values of the known options: what a client asks for, or what a server
/// acknowledges. `None` leaves an option out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OptionSet {
    /// `blksize`, 8 to 65464.
    pub blksize: Option<u16>,
    /// `timeout` in seconds, 1 to 255.
    pub timeout: Option<u8>,
    /// `tsize` in bytes: 0 in an RRQ (asks the server for the size), the
    /// file size in a WRQ and in OACKs.
    pub tsize: Option<u64>,
    /// `windowsize`, 1 to 65535.
    pub windowsize: Option<u16>,
}

impl OptionSet {
    /// No option at all.
    pub const NONE: Self = Self {
        blksize: None,
        timeout: None,
        tsize: None,
        windowsize: None,
    };

    /// Whether no option is set.
    pub const fn is_empty(&self) -> bool {
        self.blksize.is_none()
            && self.timeout.is_none()
            && self.tsize.is_none()
            && self.windowsize.is_none()
    }

    /// Checks that every set value is in its option's range; the error is
    /// the first option that is not.
    pub fn validate(&self) -> Result<(), OptionKind> {
        let checks = [
            (OptionKind::Blksize, self.blksize.map(u64::from)),
            (OptionKind::Timeout, self.timeout.map(u64::from)),
            (OptionKind::Tsize, self.tsize),
            (OptionKind::Windowsize, self.windowsize.map(u64::from)),
        ];
        for (kind, value) in checks {
            if let Some(value) = value {
                kind.with_value(value).ok_or(kind)?;
            }
        }
        Ok(())
    }

    /// Appends the set options as `name NUL value NUL` pairs.
    pub(super) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let pairs = [
            (OptionKind::Blksize, self.blksize.map(u64::from)),
            (OptionKind::Timeout, self.timeout.map(u64::from)),
            (OptionKind::Tsize, self.tsize),
            (OptionKind::Windowsize, self.windowsize.map(u64::from)),
        ];
        for (kind, value) in pairs {
            if let Some(value) = value {
                w.cstr(kind.name().as_bytes())?;
                w.decimal(value)?;
                w.bytes(&[0])?;
            }
        }
        Ok(())
    }
}

/// The parameters of a transfer once the server has answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Negotiated {
    /// Bytes per DATA block; a shorter block ends the transfer.
    pub blksize: u16,
    /// DATA blocks sent per ACK.
    pub windowsize: u16,
    /// The retransmission timeout both sides use, in seconds, if the server
    /// acknowledged the `timeout` option; `None`: the client's own.
    pub timeout: Option<u8>,
    /// The file size the server announced (RRQ) or acknowledged (WRQ), if
    /// any. Informational only.
    pub tsize: Option<u64>,
}

impl Negotiated {
    /// RFC 1350 parameters: what applies when the server ignores options.
    pub const DEFAULT: Self = Self {
        blksize: DEFAULT_BLKSIZE,
        windowsize: DEFAULT_WINDOWSIZE,
        timeout: None,
        tsize: None,
    };
}

impl Default for Negotiated {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a client refuses a server's OACK. The client answers with ERROR 8
/// ([`super::ErrorCode::OptionNegotiation`]) and abandons the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NegotiationError {
    /// The OACK has a known option the client did not ask for.
    Unrequested(OptionKind),
    /// The OACK has an option this implementation does not know (so the
    /// client did not ask for it).
    UnknownOption,
    /// The server raised the block size instead of lowering it.
    BlksizeRaised {
        /// What the client asked for.
        requested: u16,
        /// What the server answered.
        offered: u16,
    },
    /// The server raised the window size instead of lowering it.
    WindowsizeRaised {
        /// What the client asked for.
        requested: u16,
        /// What the server answered.
        offered: u16,
    },
    /// The server answered another timeout than the one asked for.
    TimeoutChanged {
        /// What the client asked for.
        requested: u8,
        /// What the server answered.
        offered: u8,
    },
}

impl NegotiationError {
    /// The message of the ERROR 8 packet the client sends.
    pub const fn message(&self) -> &'static str {
        match self {
            Self::Unrequested(OptionKind::Blksize) => {
                "Option negotiation failed: unrequested blksize"
            }
            Self::Unrequested(OptionKind::Timeout) => {
                "Option negotiation failed: unrequested timeout"
            }
            Self::Unrequested(OptionKind::Tsize) => "Option negotiation failed: unrequested tsize",
            Self::Unrequested(OptionKind::Windowsize) => {
                "Option negotiation failed: unrequested windowsize"
            }
            Self::UnknownOption => "Option negotiation failed: unrequested option",
            Self::BlksizeRaised { .. } => "Option negotiation failed: blksize raised",
            Self::WindowsizeRaised { .. } => "Option negotiation failed: windowsize raised",
            Self::TimeoutChanged { .. } => "Option negotiation failed: timeout changed",
        }
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlksizeRaised { requested, offered } => {
                write!(f, "server raised blksize from {requested} to {offered}")
            }
            Self::WindowsizeRaised { requested, offered } => {
                write!(f, "server raised windowsize from {requested} to {offered}")
            }
            Self::TimeoutChanged { requested, offered } => {
                write!(f, "server changed timeout from {requested} to {offered}")
            }
            Self::Unrequested(kind) => write!(f, "server added unrequested option {}", kind.name()),
            Self::UnknownOption => f.write_str("server added an unknown option"),
        }
    }
}

/// Checks the OACK `oack` answering a request that asked for `requested`
/// and gives the transfer's parameters.
///
/// The server may lower `blksize` and `windowsize`, must echo `timeout`,
/// may announce any `tsize` and may leave out any option (which then keeps
/// its default). It must not add an option the client did not ask for.
pub fn negotiate(
    requested: &OptionSet,
    oack: &OptionList<'_>,
) -> Result<Negotiated, NegotiationError> {
    let mut params = Negotiated::DEFAULT;
    for option in oack {
        match option {
            TftpOption::Blksize(offered) => {
                let requested = requested
                    .blksize
                    .ok_or(NegotiationError::Unrequested(OptionKind::Blksize))?;
                if offered > requested {
                    return Err(NegotiationError::BlksizeRaised { requested, offered });
                }
                params.blksize = offered;
            }
            TftpOption::Windowsize(offered) => {
                let requested = requested
                    .windowsize
                    .ok_or(NegotiationError::Unrequested(OptionKind::Windowsize))?;
                if offered > requested {
                    return Err(NegotiationError::WindowsizeRaised { requested, offered });
                }
                params.windowsize = offered;
            }
            TftpOption::Timeout(offered) => {
                let requested = requested
                    .timeout
                    .ok_or(NegotiationError::Unrequested(OptionKind::Timeout))?;
                if offered != requested {
                    return Err(NegotiationError::TimeoutChanged { requested, offered });
                }
                params.timeout = Some(offered);
            }
            TftpOption::Tsize(size) => {
                requested
                    .tsize
                    .ok_or(NegotiationError::Unrequested(OptionKind::Tsize))?;
                params.tsize = Some(size);
            }
            TftpOption::Unknown { .. } => return Err(NegotiationError::UnknownOption),
        }
    }
    Ok(params)
}
