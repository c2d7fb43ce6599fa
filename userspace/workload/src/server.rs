// SPDX-License-Identifier: GPL-2.0

//! The line protocol, over TCP: one connection after another, one answer
//! line per request line.
//!
//! ```text
//! ping          -> pong
//! ready         -> ok | bad OFFSET_IN_SPACE (the readiness answer: the
//!                  first page, then every page of the hot set, --hot-mib;
//!                  an `ok` is marked as the resume timeline's first
//!                  answer, of which the module keeps the first)
//! read OFF LEN  -> ok | bad OFFSET_IN_SPACE
//! verify        -> ok BYTES | bad REGION OFFSET_IN_REGION
//! whoami        -> mac=MAC addr=A.B.C.D (none for what is missing)
//! quit          -> bye, and the workload exits
//! anything else -> error REASON
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use crate::hot::{self, HotSet};
use crate::ident;
use crate::memory::Memory;

/// Longest request line accepted, without its newline.
const MAX_LINE: usize = 256;
/// Longest `read`.
const MAX_READ: u64 = 65536;

/// A request.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// `ping`.
    Ping,
    /// `ready`: check the first page and the hot set.
    Ready,
    /// `read OFF LEN`: check LEN bytes at OFF of the space.
    Read { offset: u64, len: u64 },
    /// `verify`: check every byte.
    Verify,
    /// `whoami`: the interface's MAC and IPv4 address.
    Whoami,
    /// `quit`: answer and exit.
    Quit,
}

/// Parses a request line (without its newline) for a space of `total`
/// bytes; the error is the reason to answer.
fn parse(line: &str, total: u64) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[..] {
        ["ping"] => Ok(Request::Ping),
        ["ready"] => Ok(Request::Ready),
        ["verify"] => Ok(Request::Verify),
        ["whoami"] => Ok(Request::Whoami),
        ["quit"] => Ok(Request::Quit),
        ["read", offset, len] => {
            let offset: u64 = offset.parse().map_err(|_| format!("bad offset {offset}"))?;
            let len: u64 = len.parse().map_err(|_| format!("bad length {len}"))?;
            if !(1..=MAX_READ).contains(&len) {
                return Err(format!("length not in 1..={MAX_READ}"));
            }
            match offset.checked_add(len) {
                Some(end) if end <= total => Ok(Request::Read { offset, len }),
                _ => Err(format!("range past the end of {total} bytes")),
            }
        }
        ["read", ..] => Err("usage: read OFF LEN".to_string()),
        _ => Err("unknown request".to_string()),
    }
}

/// The first wrong byte of the first page and of every page of `hot`, in
/// its order.
fn check_ready(mem: &Memory, hot: &HotSet) -> anyhow::Result<Option<u64>> {
    let first = hot::PAGE.min(mem.total());
    let pages =
        std::iter::once((0, first)).chain(hot.pages().iter().map(|&p| (p * hot::PAGE, hot::PAGE)));
    for (offset, len) in pages {
        if let Some(bad) = mem.check(offset, len)? {
            return Ok(Some(bad.global));
        }
    }
    Ok(None)
}

/// Tells the lazyresume module, if there is one, that an answer is ready:
/// its timeline keeps the first one after a resume
/// (`LAZYRESUME_IOC_TIMELINE`). Best effort: no module, another ABI or no
/// privilege, and nothing is marked.
fn mark_first_answer() {
    use lazyresume_abi as abi;
    let Ok(dev) = std::fs::File::open("/dev/lazyresume") else {
        return;
    };
    let mut req = abi::Timeline {
        op: abi::TIMELINE_MARK,
        event: abi::TL_FIRST_ANSWER,
        ..Default::default()
    };
    // SAFETY: `req` is a `struct lazyresume_timeline` of the size the
    // request number encodes, valid for the module to read and write;
    // a MARK carries no user pointer. An older module answers ENOTTY.
    unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&dev),
            abi::IOC_TIMELINE as _,
            &mut req as *mut abi::Timeline,
        )
    };
}

/// The answer to `request`.
fn answer(mem: &Memory, hot: &HotSet, iface: &str, request: Request) -> String {
    match request {
        Request::Ping => "pong".to_string(),
        Request::Ready => match check_ready(mem, hot) {
            Ok(None) => {
                mark_first_answer();
                "ok".to_string()
            }
            Ok(Some(bad)) => format!("bad {bad}"),
            Err(e) => format!("error {e:#}"),
        },
        Request::Whoami => ident::whoami(iface),
        Request::Quit => "bye".to_string(),
        Request::Read { offset, len } => match mem.check(offset, len) {
            Ok(None) => "ok".to_string(),
            Ok(Some(bad)) => format!("bad {}", bad.global),
            Err(e) => format!("error {e:#}"),
        },
        Request::Verify => match mem.verify() {
            Ok(None) => format!("ok {}", mem.total()),
            Ok(Some(bad)) => format!("bad {} {}", bad.region, bad.offset),
            Err(e) => format!("error {e:#}"),
        },
    }
}

/// Serves one connection until it ends; true after `quit`.
fn connection(mem: &Memory, hot: &HotSet, iface: &str, stream: &TcpStream) -> io::Result<bool> {
    let mut input = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(false);
        }
        if n > MAX_LINE && line.last() != Some(&b'\n') {
            let mut out = stream;
            out.write_all(b"error line too long\n")?;
            // Closing with unread input would reset the connection, and
            // the client might lose the answer: read on (bounded) first.
            out.shutdown(Shutdown::Write)?;
            out.set_read_timeout(Some(Duration::from_secs(1)))?;
            let _ = io::copy(&mut input.take(1 << 16), &mut io::sink());
            return Ok(false);
        }
        let text = String::from_utf8_lossy(&line);
        let request = parse(text.trim_end(), mem.total());
        // A readiness probe its client gave up on (the harness closes the
        // ones still waiting once one is answered): checking the hot set
        // for nobody would delay the requests behind it.
        if request == Ok(Request::Ready) && peer_gone(stream) {
            return Ok(false);
        }
        let quit = request == Ok(Request::Quit);
        let reply = match request {
            Ok(request) => answer(mem, hot, iface, request),
            Err(reason) => format!("error {reason}"),
        };
        let mut out = stream;
        out.write_all(format!("{reply}\n").as_bytes())?;
        if quit {
            return Ok(true);
        }
    }
}

/// Whether the client closed its end (nothing more to read, ever).
fn peer_gone(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let gone = matches!(stream.peek(&mut [0u8; 1]), Ok(0));
    let _ = stream.set_nonblocking(false);
    gone
}

/// Serves connections one after another until `quit`. A connection that
/// fails (the client went away) ends alone.
pub fn serve(listener: &TcpListener, mem: &Memory, hot: &HotSet, iface: &str) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if let Ok(true) = connection(mem, hot, iface, &stream) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(parse("ping", 10), Ok(Request::Ping));
        assert_eq!(parse(" verify \r", 10), Ok(Request::Verify));
        assert_eq!(parse("whoami", 10), Ok(Request::Whoami));
        assert_eq!(parse("ready", 10), Ok(Request::Ready));
        assert_eq!(parse("quit", 10), Ok(Request::Quit));
        assert_eq!(
            parse("read 2 8", 10),
            Ok(Request::Read { offset: 2, len: 8 })
        );
        assert_eq!(
            parse("read 0 65536", 1 << 20),
            Ok(Request::Read {
                offset: 0,
                len: 65536
            })
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let unknown = Err("unknown request".to_string());
        for line in [
            "",
            "hello",
            "PING",
            "ping 1",
            "ready 1",
            "verify all",
            "quit now",
        ] {
            assert_eq!(parse(line, 10), unknown, "{line:?}");
        }
        for line in [
            "read",
            "read 1",
            "read 1 2 3",
            "read x 1",
            "read 1 x",
            "read -1 2",
            "read 1 -2",
            "read 0x10 2",
            "read 99999999999999999999 1",
            "read 0 0",
            "read 0 65537",
            "read 3 8",
            "read 10 1",
            "read 18446744073709551615 2",
        ] {
            assert!(parse(line, 10).is_err(), "{line:?}");
        }
        assert!(parse("read 18446744073709551615 2", u64::MAX).is_err());
    }
}
