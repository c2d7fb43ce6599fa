// SPDX-License-Identifier: GPL-2.0

//! `lazyresume tftp-get` and `tftp-put`: transfers with the in-kernel TFTP
//! client, reporting what the module measured.

use anyhow::{bail, Result};
use clap::Args;
use lazyresume_abi as abi;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use crate::device::Device;

/// Arguments of `lazyresume tftp-get` and `tftp-put`.
#[derive(Args)]
pub struct TftpArgs {
    /// Server as ADDRESS or ADDRESS:PORT (IPv4; port 69 by default).
    server: String,
    /// File to fetch or to create.
    file: String,
    /// tftp-put: how many bytes of the test pattern to upload.
    #[arg(long, default_value_t = 0)]
    length: u64,
    /// blksize option to ask for (8 to 65464; 512 asks for none).
    #[arg(long, default_value_t = 512)]
    blksize: u16,
    /// windowsize option to ask for (1 asks for none).
    #[arg(long, default_value_t = 1)]
    windowsize: u16,
    /// Initial retransmission timeout in milliseconds.
    #[arg(long, default_value_t = 500)]
    rto_ms: u32,
    /// Deadline of the whole transfer in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    deadline_ms: u32,
    /// Skip the SHA-256 of the data (for throughput measurements).
    #[arg(long)]
    no_digest: bool,
    /// tftp-get: fetch the file twice on one kept socket, as the fetch
    /// engine does, and report the second transfer.
    #[arg(long)]
    twice: bool,
}

fn parse_server(s: &str) -> Result<SocketAddrV4> {
    if let Ok(a) = s.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    match s.parse::<Ipv4Addr>() {
        Ok(ip) => Ok(SocketAddrV4::new(ip, 69)),
        Err(_) => bail!("{s}: not an IPv4 ADDRESS or ADDRESS:PORT"),
    }
}

/// Runs `lazyresume tftp-get` (`put` false) or `tftp-put` and prints one
/// `key=value` line per result.
pub fn run(device: &Path, put: bool, args: &TftpArgs) -> Result<()> {
    let server = parse_server(&args.server)?;
    if args.file.is_empty() || args.file.len() >= abi::TFTP_FILENAME_LEN {
        bail!(
            "file name must have 1 to {} bytes",
            abi::TFTP_FILENAME_LEN - 1
        );
    }
    let mut req = abi::TftpXfer::new(server.ip().octets(), server.port(), args.file.as_bytes());
    req.length = args.length;
    req.blksize = args.blksize;
    req.windowsize = args.windowsize;
    req.rto_ms = args.rto_ms;
    req.deadline_ms = args.deadline_ms;
    if args.no_digest {
        req.flags |= abi::TFTP_NO_DIGEST;
    }
    if args.twice {
        if put {
            bail!("--twice is for tftp-get only");
        }
        req.flags |= abi::TFTP_TWICE;
    }
    let dev = Device::open(device)?;
    let what = if put { "tftp-put" } else { "tftp-get" };
    dev.tftp(put, &mut req).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::ENOTTY) {
            " (a request of the test module: load lazyresume_test.ko)"
        } else {
            ""
        };
        anyhow::Error::new(e).context(format!("{what} {server} {}{hint}", args.file))
    })?;
    let secs = req.elapsed_ns as f64 / 1e9;
    let mib_s = if secs > 0.0 {
        req.length as f64 / secs / (1024.0 * 1024.0)
    } else {
        0.0
    };
    println!("length={}", req.length);
    if !args.no_digest {
        let hex: String = req.sha256.iter().map(|b| format!("{b:02x}")).collect();
        println!("sha256={hex}");
    }
    println!("elapsed_us={}", req.elapsed_ns / 1000);
    println!("throughput_mib_s={mib_s:.2}");
    println!("retransmits={}", req.retransmits);
    println!("blksize={}", req.blksize_used);
    println!("windowsize={}", req.windowsize_used);
    Ok(())
}
