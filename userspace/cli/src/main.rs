// SPDX-License-Identifier: GPL-2.0

//! `lazyresume`: the userspace tool of lazyresume.

mod background;
mod capture;
mod device;
mod image;
mod loadgen;
mod location;
mod mounts;
mod netconf;
mod pageset1;
mod resume;
mod sign;
mod snapshot;
mod snapshot_load;
mod store;
mod stream;
mod tftp;
mod tftp_download;
mod tftp_upload;
mod timeline;
mod workingset;

use anyhow::Result;
use clap::{Parser, Subcommand};
use lazyresume_abi as abi;
use std::path::PathBuf;

/// Fast network boot by lazily resuming a memory image over TFTP.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The control device of the lazyresume module.
    #[arg(long, default_value = device::DEFAULT_PATH, global = true)]
    device: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the versions of this tool and of the loaded module.
    Version,
    /// Fetch a file with the in-kernel TFTP client (test and benchmark;
    /// needs lazyresume_test.ko).
    TftpGet(tftp::TftpArgs),
    /// Upload --length bytes of the test pattern with the in-kernel TFTP
    /// client (test and benchmark; needs lazyresume_test.ko).
    TftpPut(tftp::TftpArgs),
    /// Create an image directory from a pageset1 file and a file of
    /// pageset2 pages (for tests and hand-made images).
    ImageCreate(image::CreateArgs),
    /// Print the manifest and sizes of an image directory.
    Inspect {
        /// The image directory.
        image: PathBuf,
    },
    /// Check every hash of an image directory, and with --cert its
    /// signature.
    Verify {
        /// The image directory.
        image: PathBuf,
        /// Check manifest.sig too, trusting the key of this X.509
        /// certificate (PEM) only: fail if it is missing or bad.
        #[arg(long)]
        cert: Option<PathBuf>,
    },
    /// Sign an image's manifest (manifest.sig, PKCS#7 as the client's
    /// kernel checks it) with the openssl command, on an admin host.
    Sign(sign::SignArgs),
    /// Write an image's stream (on an admin host, after the capture and
    /// any recording of its loading set): its pages in index order in one
    /// file, which a resumed client's background lane fetches in one
    /// transfer instead of one per chunk file.
    MakeStream(stream::MakeStreamArgs),
    /// Take an image of this machine: freeze, evict every user page to
    /// pageset2, upload both pagesets and the manifest, power off. In a
    /// client that resumed the image, take over the client's identity.
    Capture(capture::CaptureArgs),
    /// Resume an image over TFTP; returns only if it cannot, saying why.
    Resume(resume::ResumeArgs),
    /// Show the state of lazily fetched pages on a resumed client.
    Status {
        /// Also write the resume as a timeline to this CSV file: the
        /// events of the boot and the restored kernel on one clock, and
        /// the pages of each lane over time (scripts/plot-timeline.py
        /// plots it).
        #[arg(long, value_name = "FILE.csv")]
        timeline: Option<PathBuf>,
    },
    /// Check a timeline CSV (status --timeline): its events in the order
    /// of a resume, its times and counters never going back.
    TimelineCheck {
        /// The CSV file.
        file: PathBuf,
    },
    /// Set what a fault does when the page server does not answer:
    /// `block` (wait for it) or `sigbus[:MS]` (SIGBUS after MS ms).
    Policy {
        /// block, sigbus or sigbus:MS.
        policy: String,
    },
    /// Set the background lane of a resumed client, which fetches the
    /// pages no fault asked for yet: `full` (stream them all, the
    /// default), `idle` (only while no fault is waiting) or `off` (fetch
    /// only what faults ask for).
    Background {
        /// full, idle or off.
        mode: background::Mode,
        /// At most this many MiB/s (0: no limit).
        #[arg(long, value_name = "MIB_PER_S", default_value_t = 0)]
        rate: u32,
    },
    /// Record the pages a resumed client touches first, and write them
    /// as the image's loading set, which clients then fetch first.
    Workingset {
        #[command(subcommand)]
        command: workingset::Command,
    },
    /// Replay N clients' fetch sequences against TFTP servers (the boot
    /// storm's host-side load generator): pageset1, the loading set,
    /// faults at their times and the background stream, as the module
    /// fetches them; prints the times to interactive and to complete and
    /// the servers' throughput.
    Loadgen(loadgen::LoadgenArgs),
    /// Wait until every page of a resumed client is local, so that it no
    /// longer needs the page server; fail if the timeout passes first.
    WaitComplete {
        /// Give up after this many seconds (fractions allowed); by
        /// default, wait forever.
        #[arg(long, value_name = "S", value_parser = background::parse_timeout)]
        timeout: Option<std::time::Duration>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => version(&cli.device),
        Command::TftpGet(args) => tftp::run(&cli.device, false, &args),
        Command::TftpPut(args) => tftp::run(&cli.device, true, &args),
        Command::ImageCreate(args) => image::create(&args),
        Command::Inspect { image } => image::inspect(&image),
        Command::Verify { image, cert } => image::verify(&image, cert.as_deref()),
        // One line: what failed and why.
        Command::Sign(args) => sign::run(&args).map_err(|e| anyhow::anyhow!("{e:#}")),
        Command::MakeStream(args) => stream::run(&args),
        Command::Capture(args) => capture::run(&cli.device, &args),
        Command::Resume(args) => resume::run(&cli.device, &args),
        Command::Status { timeline } => {
            resume::status(&cli.device)?;
            match timeline {
                Some(f) => timeline::write(&cli.device, &f),
                None => Ok(()),
            }
        }
        Command::TimelineCheck { file } => timeline::check(&file),
        Command::Policy { policy } => set_policy(&cli.device, &policy),
        Command::Background { mode, rate } => background::set(&cli.device, mode, rate),
        Command::Workingset { command } => workingset::run(&cli.device, &command),
        Command::Loadgen(args) => loadgen::run(&args),
        Command::WaitComplete { timeout } => background::wait_complete(&cli.device, timeout),
    }
}

fn version(path: &std::path::Path) -> Result<()> {
    println!(
        "tool:   lazyresume {} (ABI {}.{})",
        env!("CARGO_PKG_VERSION"),
        abi::ABI_MAJOR,
        abi::ABI_MINOR
    );
    let v = device::Device::open(path)?.version()?;
    println!(
        "module: lazyresume {} (ABI {}.{}, features {:#x})",
        v.version_str().unwrap_or("<invalid>"),
        v.abi_major,
        v.abi_minor,
        v.features
    );
    Ok(())
}

fn set_policy(path: &std::path::Path, policy: &str) -> Result<()> {
    let p = match policy.split_once(':') {
        None if policy == "block" => abi::Policy {
            policy: abi::POLICY_BLOCK,
            deadline_ms: 0,
        },
        None if policy == "sigbus" => abi::Policy {
            policy: abi::POLICY_SIGBUS,
            deadline_ms: 0,
        },
        Some(("sigbus", ms)) => abi::Policy {
            policy: abi::POLICY_SIGBUS,
            deadline_ms: ms.parse()?,
        },
        _ => anyhow::bail!("{policy}: expected block, sigbus or sigbus:MS"),
    };
    device::Device::open(path)?.set_policy(&p)?;
    println!("policy: {policy}");
    Ok(())
}
