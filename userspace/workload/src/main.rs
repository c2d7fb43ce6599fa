// SPDX-License-Identifier: GPL-2.0

//! `lazyresume-workload`: the test application of lazyresume. It holds
//! deterministic data in four memory shapes (see `memory.rs`) and answers
//! requests over TCP that check a slice of it or all of it (see
//! `server.rs`), so that any wrong byte after a lazy resume shows.

mod hot;
mod ident;
mod memory;
mod pattern;
mod server;

use anyhow::{Context, Result};
use clap::Parser;
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use memory::Memory;

/// Deterministic memory in several shapes, checked over TCP.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// MiB of memory to hold.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
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
    /// Interface whose MAC and address `whoami` reports.
    #[arg(long, default_value = "eth0")]
    iface: String,
    /// MiB of pages, spread over the memory, that the readiness answer
    /// (`ready`) checks: a working set that time to interactive depends
    /// on, as a real application's does.
    #[arg(long, default_value_t = 0)]
    hot_mib: u64,
    /// Seed of which pages make the hot set, and in which order.
    #[arg(long, default_value_t = 1)]
    hot_seed: u64,
}

/// Spends `secs` seconds of CPU work.
fn startup_work(secs: u64) {
    let start = Instant::now();
    let mut x = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..10_000 {
            x = pattern::splitmix64(x);
        }
    }
    std::hint::black_box(x);
}

fn main() -> Result<()> {
    let args = Args::parse();
    startup_work(args.startup_secs);
    // Forks: before any thread exists.
    let mem = Memory::new(args.mib, args.seed)?;
    let hot = hot::HotSet::new(mem.total(), args.hot_mib, args.hot_seed);
    // std sets SO_REUSEADDR on listening sockets.
    let listener = TcpListener::bind(("0.0.0.0", args.port))
        .with_context(|| format!("listening on port {}", args.port))?;
    println!(
        "ready port={} mib={} hot_pages={} pid={}",
        listener.local_addr()?.port(),
        args.mib,
        hot.pages().len(),
        std::process::id()
    );
    std::io::stdout().flush()?;
    server::serve(&listener, &mem, &hot, &args.iface);
    mem.shutdown()
}
