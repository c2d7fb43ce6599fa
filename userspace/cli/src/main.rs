// SPDX-License-Identifier: GPL-2.0

//! `lazyresume`: the userspace tool of lazyresume.

mod device;
mod image;
mod tftp;

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
    /// Fetch a file with the in-kernel TFTP client (test and benchmark).
    TftpGet(tftp::TftpArgs),
    /// Upload --length bytes of the test pattern with the in-kernel TFTP
    /// client (test and benchmark).
    TftpPut(tftp::TftpArgs),
    /// Create an image directory from a pageset1 file and a file of
    /// pageset2 pages (for tests and hand-made images).
    ImageCreate(image::CreateArgs),
    /// Print the manifest and sizes of an image directory.
    Inspect {
        /// The image directory.
        image: PathBuf,
    },
    /// Check every hash of an image directory.
    Verify {
        /// The image directory.
        image: PathBuf,
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
        Command::Verify { image } => image::verify(&image),
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
