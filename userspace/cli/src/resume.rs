// SPDX-License-Identifier: GPL-2.0

//! `lazyresume resume` (on a booting client: resume an image, or say why
//! not and return so that the boot goes on) and `lazyresume status` (on a
//! resumed client).

use anyhow::{Context, Result};
use clap::Args;
use lazyresume_abi as abi;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use crate::background;
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
    /// A mirror of the server (ADDRESS[:PORT], port 69 by default): a
    /// server with the same image, which the transfers go on from when
    /// the server stops answering, before and after the resume; the
    /// resumed system spreads its transfers over them. Repeat it, or give
    /// several separated by commas, up to four.
    #[arg(long = "mirror", value_name = "ADDRESS[:PORT]", value_delimiter = ',')]
    mirrors: Vec<String>,
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
    /// The resumed system fetches only what its faults ask for: the
    /// background lane starts off (`lazyresume background` turns it on).
    #[arg(long)]
    no_background: bool,
    /// The resumed system records the order in which it first touches
    /// its pageset2 pages (until `lazyresume workingset stop`), with the
    /// background lane waiting meanwhile.
    #[arg(long)]
    record_workingset: bool,
    /// Resume the image even if it has no signature (no manifest.sig; the
    /// kernel log says so), for migration and tests. A signature that is
    /// there must still verify.
    #[arg(long)]
    allow_unsigned: bool,
    /// Refuse an image whose generation is below N (a rollback to an
    /// older image).
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_generation: u64,
    /// Benchmark aid, with --dry-run only: load the image from user space
    /// into /dev/snapshot (opened O_WRONLY, as uswsusp's resume does)
    /// instead of through the module, and print the time of each step
    /// (Documentation/performance.rst). It checks no signature (user space
    /// has no trusted keyring), so it needs --allow-unsigned.
    #[arg(long, requires_all = ["dry_run", "allow_unsigned"])]
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

/// A server given as ADDRESS[:PORT], port 69 by default.
pub fn parse_server(s: &str) -> Result<SocketAddrV4> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    let ip = s
        .parse::<Ipv4Addr>()
        .with_context(|| format!("'{s}' is not ADDRESS[:PORT]"))?;
    Ok(SocketAddrV4::new(ip, 69))
}

/// The mirrors of `--mirror`, as `LAZYRESUME_IOC_MIRRORS` takes them.
fn mirrors_request(list: &[String]) -> Result<abi::Mirrors> {
    let mut req = abi::Mirrors {
        op: abi::MIRRORS_SET,
        ..Default::default()
    };
    if list.len() > abi::MIRRORS_MAX {
        anyhow::bail!("--mirror: at most {} mirrors", abi::MIRRORS_MAX);
    }
    for (slot, m) in req.server.iter_mut().zip(list) {
        let a = parse_server(m).context("--mirror")?;
        if a.ip().is_unspecified() || a.ip().is_broadcast() || a.ip().is_multicast() {
            anyhow::bail!("--mirror: {a} is not a unicast address");
        }
        slot.addr = a.ip().octets();
        slot.port = a.port();
    }
    req.count = list.len() as u32;
    Ok(req)
}

/// `lazyresume resume`: returns only if the image was not resumed.
pub fn run(device: &Path, args: &ResumeArgs) -> Result<()> {
    let mut mirrors = mirrors_request(&args.mirrors)?;
    let (server, port) = match &args.server {
        Some(s) => {
            let a = parse_server(s).context("--server")?;
            (*a.ip(), a.port())
        }
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
    // Always set, so that none given clears what an earlier call set; a
    // module without mirrors (before ABI 3.3) is fine without any.
    match dev.mirrors(&mut mirrors) {
        Ok(()) => {}
        Err(e) if mirrors.count == 0 && e.raw_os_error() == Some(libc::ENOTTY) => {}
        Err(e) => return Err(e).context("LAZYRESUME_IOC_MIRRORS"),
    }
    if mirrors.count > 0 {
        println!("resume: mirrors {}", servers_text(&mirrors, false));
    }
    let mut req = abi::Resume::new(id, args.image.as_bytes());
    req.blksize = args.blksize;
    req.windowsize = args.windowsize;
    if args.dry_run {
        req.flags |= abi::RESUME_DRY_RUN;
    }
    if args.no_background {
        req.flags |= abi::RESUME_BACKGROUND_OFF;
    }
    if args.record_workingset {
        req.flags |= abi::RESUME_RECORD_WORKINGSET;
    }
    if args.allow_unsigned {
        req.flags |= abi::RESUME_ALLOW_UNSIGNED;
    }
    req.min_generation = args.min_generation;
    println!(
        "resume: image {} from {server}:{port} as {} ({})",
        args.image,
        Ipv4Addr::from(id.addr),
        netconf::mac_text(&id.mac)
    );
    match dev.resume(&mut req) {
        Ok(()) => {
            println!("{}", dry_run_line(&req));
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

/// What `lazyresume resume --dry-run` prints when the image was fetched,
/// checked and loaded.
fn dry_run_line(req: &abi::Resume) -> String {
    format!(
        "resume: dry run: manifest {} bytes, pageset1 {} bytes, fetched and loaded in {} ms; \
         image generation {}, signature {}",
        req.manifest_bytes,
        req.pageset1_bytes,
        req.elapsed_ns / 1_000_000,
        req.generation,
        if req.verified != 0 {
            "verified"
        } else {
            "not verified (--allow-unsigned)"
        }
    )
}

/// `lazyresume status`.
pub fn status(device: &Path) -> Result<()> {
    let dev = Device::open(device)?;
    let s = dev.status()?;
    let mut lines = status_lines(&s);
    // The servers with their counters, when there are mirrors (a module
    // before ABI 3.3 has none).
    let mut m = abi::Mirrors {
        op: abi::MIRRORS_GET,
        ..Default::default()
    };
    if dev.mirrors(&mut m).is_ok() && m.count > 1 {
        lines.insert(3, format!("servers:            {}", servers_text(&m, true)));
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// The servers of `m`, comma-separated; `counters`: with the transfers
/// each answered and the failovers away from it during the resume (the
/// boot kernel's included), and the returns to it of fetchers that had
/// left it.
fn servers_text(m: &abi::Mirrors, counters: bool) -> String {
    let n = (m.count as usize).min(abi::SERVERS_MAX);
    (0..n)
        .map(|k| {
            let s = m.server[k];
            let addr = SocketAddrV4::new(Ipv4Addr::from(s.addr), s.port);
            if counters {
                format!(
                    "{addr} ({} transfers, {} failovers, {} returns)",
                    m.transfers[k], m.failovers[k], s.returns
                )
            } else {
                addr.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Nanoseconds as seconds with one decimal.
fn secs(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e9)
}

/// Bytes as MiB with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// `bytes` transferred in `ns` as MiB/s with one decimal, `-` if no time
/// was spent.
fn mib_per_s(bytes: u64, ns: u64) -> String {
    if ns == 0 {
        return "-".to_string();
    }
    format!(
        "{:.1}",
        bytes as f64 / (1u64 << 20) as f64 / (ns as f64 / 1e9)
    )
}

/// The lines `lazyresume status` prints for `s`.
fn status_lines(s: &abi::Status) -> Vec<String> {
    let mut out = Vec::new();
    if s.flags & abi::STATUS_RESUMED != 0 {
        out.push(format!(
            "resumed:            {} s ago",
            secs(s.since_resume_ns)
        ));
    } else {
        out.push("resumed:            no".to_string());
    }
    if s.flags & abi::STATUS_COMPLETE != 0 {
        out.push(format!(
            "complete:           yes, {} s after the resume",
            secs(s.complete_after_ns)
        ));
    } else {
        out.push("complete:           no".to_string());
    }
    if s.server != [0; 4] {
        out.push(format!(
            "server:             {}:{} ({}...)",
            Ipv4Addr::from(s.server),
            s.port,
            String::from_utf8_lossy(abi::c_str_bytes(&s.prefix).unwrap_or(b""))
        ));
    } else {
        out.push("server:             none (pages kept in memory, if any)".to_string());
    }
    out.push(format!("pages outstanding:  {}", s.pages_outstanding));
    out.push(format!("pages fetched:      {}", s.pages_fetched));
    out.push(format!("bytes fetched:      {}", s.bytes_fetched));
    out.push(format!("fetch failures:     {}", s.fetch_failures));
    out.push(format!(
        "fault latency:      mean {} us, max {} us over {} faults",
        s.latency_mean_ns / 1000,
        s.latency_max_ns / 1000,
        s.latency_count
    ));
    out.push(format!(
        "urgent:             {} pages, {} MiB, fault latency p50 {} us, p99 {} us",
        s.urgent_pages,
        mib(s.urgent_bytes),
        s.urgent_p50_ns / 1000,
        s.urgent_p99_ns / 1000
    ));
    out.push(format!(
        "background:         {}; {} pages, {} MiB, {} MiB/s",
        background::describe(s.background, s.rate_mib),
        s.background_pages,
        mib(s.background_bytes),
        mib_per_s(s.background_bytes, s.background_busy_ns)
    ));
    out.push(format!("pages installed:    {}", s.pages_installed));
    out.push(format!(
        "pages local:        {} (fetched, not installed yet)",
        s.pages_local
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lazyresume_abi::FromZeros;

    #[test]
    fn servers_and_mirrors_parse() {
        assert_eq!(
            parse_server("10.0.2.2").unwrap(),
            "10.0.2.2:69".parse().unwrap()
        );
        assert_eq!(
            parse_server(" 10.0.2.2:6970").unwrap(),
            "10.0.2.2:6970".parse().unwrap()
        );
        assert!(parse_server("server.example").is_err());
        assert!(parse_server("10.0.2.2:70000").is_err());
        let list: Vec<String> = ["10.0.2.2:6970", "192.168.1.9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = mirrors_request(&list).unwrap();
        assert_eq!(m.op, abi::MIRRORS_SET);
        assert_eq!(m.count, 2);
        assert_eq!(m.server[0].addr, [10, 0, 2, 2]);
        assert_eq!(m.server[0].port, 6970);
        assert_eq!(m.server[1].addr, [192, 168, 1, 9]);
        assert_eq!(m.server[1].port, 69);
        assert_eq!(servers_text(&m, false), "10.0.2.2:6970, 192.168.1.9:69");
        assert_eq!(mirrors_request(&[]).unwrap().count, 0);
        let five: Vec<String> = (1..=5).map(|i| format!("10.0.0.{i}")).collect();
        assert!(mirrors_request(&five).is_err());
        assert!(mirrors_request(&["224.0.0.1".to_string()]).is_err());
        assert!(mirrors_request(&["0.0.0.0:69".to_string()]).is_err());
    }

    #[test]
    fn servers_line_counts_transfers_and_failovers() {
        let mut m = abi::Mirrors {
            op: abi::MIRRORS_GET,
            count: 2,
            ..Default::default()
        };
        m.server[0].addr = [10, 0, 2, 2];
        m.server[0].port = 69;
        m.server[1].addr = [10, 0, 2, 2];
        m.server[1].port = 6970;
        m.transfers = [12, 40, 0, 0, 0];
        m.failovers = [1, 0, 0, 0, 0];
        m.server[0].returns = 1;
        assert_eq!(
            servers_text(&m, true),
            "10.0.2.2:69 (12 transfers, 1 failovers, 1 returns), \
             10.0.2.2:6970 (40 transfers, 0 failovers, 0 returns)"
        );
        assert_eq!(servers_text(&m, false), "10.0.2.2:69, 10.0.2.2:6970");
    }

    #[test]
    fn units() {
        assert_eq!(secs(0), "0.0");
        assert_eq!(secs(2_460_000_000), "2.5");
        assert_eq!(mib(3 << 19), "1.5");
        assert_eq!(mib_per_s(100 << 20, 2_000_000_000), "50.0");
        assert_eq!(mib_per_s(100 << 20, 0), "-");
    }

    #[test]
    fn a_dry_run_says_generation_and_signature() {
        let mut req = abi::Resume::new(abi::NetIdentity::default(), b"images/web");
        req.manifest_bytes = 384;
        req.pageset1_bytes = 4096;
        req.elapsed_ns = 12_500_000;
        req.generation = 1_767_225_600;
        req.verified = 1;
        assert_eq!(
            dry_run_line(&req),
            "resume: dry run: manifest 384 bytes, pageset1 4096 bytes, fetched and loaded \
             in 12 ms; image generation 1767225600, signature verified"
        );
        req.verified = 0;
        assert!(dry_run_line(&req).ends_with("signature not verified (--allow-unsigned)"));
    }

    #[test]
    fn status_of_a_fresh_module() {
        let s = abi::Status::new_zeroed();
        assert_eq!(
            status_lines(&s),
            [
                "resumed:            no",
                "complete:           no",
                "server:             none (pages kept in memory, if any)",
                "pages outstanding:  0",
                "pages fetched:      0",
                "bytes fetched:      0",
                "fetch failures:     0",
                "fault latency:      mean 0 us, max 0 us over 0 faults",
                "urgent:             0 pages, 0.0 MiB, fault latency p50 0 us, p99 0 us",
                "background:         full, no rate limit; 0 pages, 0.0 MiB, - MiB/s",
                "pages installed:    0",
                "pages local:        0 (fetched, not installed yet)",
            ]
        );
    }

    #[test]
    fn status_of_a_complete_client() {
        let mut s = abi::Status::new_zeroed();
        s.flags = abi::STATUS_RESUMED | abi::STATUS_COMPLETE;
        s.since_resume_ns = 60_000_000_000;
        s.complete_after_ns = 12_340_000_000;
        s.server = [10, 0, 2, 2];
        s.port = 69;
        s.prefix[..10].copy_from_slice(b"golden/p2-");
        s.pages_fetched = 3000;
        s.bytes_fetched = 3000 * 4096;
        s.latency_count = 200;
        s.latency_mean_ns = 1_500_000;
        s.latency_max_ns = 9_000_000;
        s.urgent_pages = 1000;
        s.urgent_bytes = 1000 * 4096;
        s.urgent_p50_ns = 1 << 20;
        s.urgent_p99_ns = 1 << 23;
        s.background = abi::BACKGROUND_IDLE;
        s.rate_mib = 20;
        s.background_pages = 2000;
        s.background_bytes = 8 << 20;
        s.background_busy_ns = 400_000_000;
        s.pages_installed = 1900;
        s.pages_local = 0;
        let lines = status_lines(&s);
        assert_eq!(lines[0], "resumed:            60.0 s ago");
        assert_eq!(lines[1], "complete:           yes, 12.3 s after the resume");
        assert_eq!(lines[2], "server:             10.0.2.2:69 (golden/p2-...)");
        assert_eq!(
            lines[8],
            "urgent:             1000 pages, 3.9 MiB, fault latency p50 1048 us, p99 8388 us"
        );
        assert_eq!(
            lines[9],
            "background:         idle, at most 20 MiB/s; 2000 pages, 8.0 MiB, 20.0 MiB/s"
        );
        assert_eq!(lines[10], "pages installed:    1900");
    }
}
