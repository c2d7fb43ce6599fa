// SPDX-License-Identifier: GPL-2.0

//! `lazyresume-workload`: the test application of lazyresume. It holds a
//! given amount of deterministic data in several memory shapes and answers
//! requests over TCP by checking slices of it, or all of it, so that any
//! wrong byte after a lazy resume shows. See `request.rs` for the protocol.

mod ident;
mod memory;
mod pattern;
mod request;

use anyhow::{Context, Result};
use clap::Parser;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use memory::Memory;
use request::Request;

/// Deterministic memory, checked over TCP.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// MiB of memory to hold.
    #[arg(long)]
    mib: u64,
    /// TCP port to listen on (all addresses).
    #[arg(long)]
    port: u16,
    /// Seed of the content.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds of CPU work before anything else (an application's own
    /// start-up).
    #[arg(long, default_value_t = 0)]
    startup_secs: u64,
    /// Interface `whoami` reports.
    #[arg(long, default_value = "eth0")]
    iface: String,
}

/// Busy work for `secs` seconds; the result keeps it from being optimised
/// away.
fn startup_work(secs: u64) -> u64 {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut x = 0u64;
    while Instant::now() < end {
        for _ in 0..10_000 {
            x = pattern::splitmix64(x);
        }
    }
    x
}

/// What a connection asks next.
enum Next {
    Continue,
    Close,
    Quit,
}

/// Answers one request line.
fn answer(mem: &mut Memory, iface: &str, line: &str) -> (String, Next) {
    let fail = |e: anyhow::Error| (format!("error {e:#}"), Next::Close);
    match request::parse(line, mem.total()) {
        Err(reason) => (format!("error {reason}"), Next::Continue),
        Ok(Request::Ping) => ("pong".into(), Next::Continue),
        Ok(Request::Whoami) => (ident::whoami(iface), Next::Continue),
        Ok(Request::Quit) => ("bye".into(), Next::Quit),
        Ok(Request::Read { offset, len }) => match mem.check(offset, len) {
            Ok(None) => ("ok".into(), Next::Continue),
            Ok(Some(bad)) => (format!("bad {}", bad.global), Next::Continue),
            Err(e) => fail(e),
        },
        Ok(Request::Verify) => match mem.verify() {
            Ok(Ok(n)) => (format!("ok {n}"), Next::Continue),
            Ok(Err(bad)) => (format!("bad {} {}", bad.region, bad.offset), Next::Continue),
            Err(e) => fail(e),
        },
    }
}

/// Serves one connection; true if the workload is to quit.
fn serve(mem: &mut Memory, iface: &str, stream: TcpStream) -> Result<bool> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    loop {
        let mut line = String::new();
        let n = (&mut input)
            .take(request::MAX_LINE as u64 + 1)
            .read_line(&mut line)?;
        if n == 0 {
            return Ok(false);
        }
        if !line.ends_with('\n') && n > request::MAX_LINE {
            writeln!(out, "error line too long")?;
            return Ok(false);
        }
        let (reply, next) = answer(mem, iface, line.trim_end());
        writeln!(out, "{reply}")?;
        match next {
            Next::Continue => {}
            Next::Close => return Ok(false),
            Next::Quit => return Ok(true),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::hint::black_box(startup_work(args.startup_secs));
    let mut mem = Memory::new(args.mib, args.seed)?;
    let listener = TcpListener::bind(("0.0.0.0", args.port))
        .with_context(|| format!("listening on port {}", args.port))?;
    println!(
        "ready port={} mib={} pid={}",
        args.port,
        args.mib,
        std::process::id()
    );
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A client that goes away ends its connection, not the workload.
        if let Ok(true) = serve(&mut mem, &args.iface, stream) {
            break;
        }
    }
    mem.shutdown()
}
