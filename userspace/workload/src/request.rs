// SPDX-License-Identifier: GPL-2.0

//! The workload's line protocol: one request line, one answer line.

/// Longest request line accepted.
pub const MAX_LINE: usize = 256;
/// Longest `read`.
pub const MAX_READ: u64 = 65536;

/// A request.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// `ping`: answered `pong`.
    Ping,
    /// `read OFF LEN`: check LEN bytes at OFF of the workload's memory.
    Read {
        /// Offset in the concatenation of the regions.
        offset: u64,
        /// Bytes, 1 to [`MAX_READ`].
        len: u64,
    },
    /// `verify`: check every byte.
    Verify,
    /// `whoami`: the interface's MAC and address.
    Whoami,
    /// `quit`: answer `bye` and exit.
    Quit,
}

/// Parses a request line (without its newline) for a workload of `total`
/// bytes; the error is the answer's reason.
pub fn parse(line: &str, total: u64) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["ping"] => Ok(Request::Ping),
        ["verify"] => Ok(Request::Verify),
        ["whoami"] => Ok(Request::Whoami),
        ["quit"] => Ok(Request::Quit),
        ["read", off, len] => {
            let offset: u64 = off.parse().map_err(|_| format!("bad offset {off}"))?;
            let len: u64 = len.parse().map_err(|_| format!("bad length {len}"))?;
            if len == 0 || len > MAX_READ {
                return Err(format!("length must be 1 to {MAX_READ}"));
            }
            match offset.checked_add(len) {
                Some(end) if end <= total => Ok(Request::Read { offset, len }),
                _ => Err(format!("range past the end ({total} bytes)")),
            }
        }
        _ => Err("unknown request".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(parse("ping", 10), Ok(Request::Ping));
        assert_eq!(parse(" verify ", 10), Ok(Request::Verify));
        assert_eq!(
            parse("read 2 8", 10),
            Ok(Request::Read { offset: 2, len: 8 })
        );
        assert!(parse("read 3 8", 10).is_err());
        assert!(parse("read 0 0", 10).is_err());
        assert!(parse("read x 1", 10).is_err());
        assert!(parse("read 18446744073709551615 2", u64::MAX).is_err());
        assert_eq!(parse("hello", 10), Err("unknown request".to_string()));
        assert!(parse("", 10).is_err());
    }
}
