// SPDX-License-Identifier: GPL-2.0

//! `lazyresume resume` (on a booting client: resume an image, or say why
//! not and return so that the boot goes on) and `lazyresume status` (on a
//! resumed client).

use anyhow::{Context, Result};
use clap::Args;
use lazyresume_abi as abi;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use crate::device::Device;
use crate::netconf;
use crate::snapshot_load;

/// Arguments of `lazyresume resume`.
#[derive(Args)]
pub struct ResumeArgs {
    /// The image (its directory on the server).
    #[arg(long)]
    image: String,
    /// The TFTP server as ADDRESS[:PORT]; by default the boot server DHCP
    /// named (/proc/net/pnp), else the default gateway.
    #[arg(long)]
    server: Option<String>,
    /// The interface whose identity the resumed system takes over.
    #[arg(long, default_value = "eth0")]
    iface: String,
    /// blksize to ask for (0: the largest).
    #[arg(long, default_value_t = 0)]
    blksize: u16,
    /// windowsize to ask for (RFC 7440; 1: none). A server without the
    /// option (tftpd-hpa) ignores it and sends one block per ACK.
    #[arg(long, default_value_t = 16)]
    windowsize: u16,
    /// Fetch, check and load the image, then give up instead of jumping.
    #[arg(long)]
    dry_run: bool,
    /// Benchmark aid, with --dry-run only: load the image from user space
    /// into /dev/snapshot (opened O_WRONLY, as uswsusp's resume does)
    /// instead of through the module, and print the time of each step
    /// (Documentation/performance.rst).
    #[arg(long, requires = "dry_run")]
    via_snapshot_dev: bool,
}

/// The boot server of DHCP, from the kernel's IP autoconfiguration.
fn pnp_bootserver() -> Option<Ipv4Addr> {
    let pnp = std::fs::read_to_string("/proc/net/pnp").ok()?;
    pnp.lines()
        .find_map(|l| l.strip_prefix("bootserver "))
        .and_then(|a| a.trim().parse().ok())
        .filter(|a: &Ipv4Addr| !a.is_unspecified())
}

/// `lazyresume resume`: returns only if the image was not resumed.
pub fn run(device: &Path, args: &ResumeArgs) -> Result<()> {
    let (server, port) = match &args.server {
        Some(s) => match s.parse::<SocketAddrV4>() {
            Ok(a) => (*a.ip(), a.port()),
            Err(_) => (s.parse::<Ipv4Addr>().context("--server")?, 69),
        },
        None => {
            let id = netconf::read_identity(&args.iface, Ipv4Addr::UNSPECIFIED, 0)?;
            let s = pnp_bootserver().unwrap_or(Ipv4Addr::from(id.gateway));
            if s.is_unspecified() {
                anyhow::bail!("no --server, and neither DHCP nor a gateway names one");
            }
            (s, 69)
        }
    };
    if args.via_snapshot_dev {
        println!(
            "resume: image {} from {server}:{port} via /dev/snapshot (dry run)",
            args.image
        );
        return snapshot_load::dry_run(
            SocketAddrV4::new(server, port),
            &args.image,
            args.blksize,
            args.windowsize,
        )
        .map_err(|e| anyhow::anyhow!("not resuming image {}: {e:#}", args.image));
    }
    let id = netconf::read_identity(&args.iface, server, port)?;
    let dev = Device::open(device)?;
    dev.version()?;
    let mut req = abi::Resume::new(id, args.image.as_bytes());
    req.blksize = args.blksize;
    req.windowsize = args.windowsize;
    if args.dry_run {
        req.flags |= abi::RESUME_DRY_RUN;
    }
    println!(
        "resume: image {} from {server}:{port} as {} ({})",
        args.image,
        Ipv4Addr::from(id.addr),
        netconf::mac_text(&id.mac)
    );
    match dev.resume(&mut req) {
        Ok(()) => {
            println!(
                "resume: dry run: manifest {} bytes, pageset1 {} bytes, fetched and loaded in {} ms",
                req.manifest_bytes,
                req.pageset1_bytes,
                req.elapsed_ns / 1_000_000
            );
            Ok(())
        }
        Err(e) => {
            let reason = String::from_utf8_lossy(abi::c_str_bytes(&req.reason).unwrap_or(b""));
            let reason = if reason.is_empty() {
                e.to_string()
            } else {
                reason.into_owned()
            };
            anyhow::bail!("not resuming image {}: {reason}", args.image)
        }
    }
}

/// `lazyresume status`.
pub fn status(device: &Path) -> Result<()> {
    let s = Device::open(device)?.status()?;
    if s.flags & abi::STATUS_RESUMED != 0 {
        println!(
            "resumed:            {:.1} s ago",
            s.since_resume_ns as f64 / 1e9
        );
    } else {
        println!("resumed:            no");
    }
    if s.server != [0; 4] {
        println!(
            "server:             {}:{} ({}...)",
            Ipv4Addr::from(s.server),
            s.port,
            String::from_utf8_lossy(abi::c_str_bytes(&s.prefix).unwrap_or(b""))
        );
    } else {
        println!("server:             none (pages kept in memory, if any)");
    }
    println!("pages outstanding:  {}", s.pages_outstanding);
    println!("pages fetched:      {}", s.pages_fetched);
    println!("bytes fetched:      {}", s.bytes_fetched);
    println!("fetch failures:     {}", s.fetch_failures);
    println!(
        "fault latency:      mean {} us, max {} us over {} faults",
        s.latency_mean_ns / 1000,
        s.latency_max_ns / 1000,
        s.latency_count
    );
    Ok(())
}
