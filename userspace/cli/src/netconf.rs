// SPDX-License-Identifier: GPL-2.0

//! A network interface's identity: read on the booting client (MAC,
//! address, netmask, default gateway), applied in the resumed image.

use anyhow::{bail, Context, Result};
use lazyresume_abi as abi;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// An `AF_INET` datagram socket, the handle of the interface ioctls.
fn inet_socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(AF_INET)");
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A `struct ifreq` naming `ifname`.
fn ifreq(ifname: &str) -> Result<libc::ifreq> {
    if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ {
        bail!("bad interface name '{ifname}'");
    }
    // SAFETY: `ifreq` is plain old data; all zeros is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(ifname.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(r)
}

/// Runs interface ioctl `cmd` on `r`.
fn if_ioctl(fd: &OwnedFd, cmd: libc::c_ulong, r: &mut libc::ifreq, what: &str) -> Result<()> {
    // SAFETY: every command used here reads or writes one `struct ifreq`,
    // which `r` is, valid across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), cmd, r as *mut libc::ifreq) } < 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_string());
    }
    Ok(())
}

/// The IPv4 address in a `sockaddr` of an `ifreq`.
fn sockaddr_v4(sa: &libc::sockaddr) -> [u8; 4] {
    // SAFETY: `sockaddr_in` fits in `sockaddr` and has no invalid values;
    // the kernel filled an AF_INET address.
    let sin = unsafe { &*(sa as *const libc::sockaddr).cast::<libc::sockaddr_in>() };
    sin.sin_addr.s_addr.to_ne_bytes()
}

/// A `sockaddr` holding the IPv4 address `a`.
fn to_sockaddr(a: [u8; 4]) -> libc::sockaddr {
    // SAFETY: plain old data; zero is valid.
    let mut sa: libc::sockaddr = unsafe { std::mem::zeroed() };
    // SAFETY: as in `sockaddr_v4`, `sockaddr_in` fits in `sockaddr`.
    let sin = unsafe { &mut *(&mut sa as *mut libc::sockaddr).cast::<libc::sockaddr_in>() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from_ne_bytes(a);
    sa
}

/// The default gateway of `ifname` from `/proc/net/route`, if any.
fn default_gateway(ifname: &str) -> Option<[u8; 4]> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[0] != ifname || f[1] != "00000000" {
            return None;
        }
        u32::from_str_radix(f[2], 16).ok().map(u32::to_ne_bytes)
    })
}

/// The identity of `ifname` as it is now, with `server:port` the image's
/// TFTP server.
pub fn read_identity(ifname: &str, server: Ipv4Addr, port: u16) -> Result<abi::NetIdentity> {
    let fd = inet_socket()?;
    let mut id = abi::NetIdentity::default();
    id.set_ifname(ifname.as_bytes());
    let mut r = ifreq(ifname)?;
    if_ioctl(&fd, libc::SIOCGIFHWADDR, &mut r, "SIOCGIFHWADDR")?;
    // SAFETY: SIOCGIFHWADDR filled the `ifr_hwaddr` member.
    let hw = unsafe { r.ifr_ifru.ifru_hwaddr };
    for (d, s) in id.mac.iter_mut().zip(hw.sa_data.iter()) {
        *d = *s as u8;
    }
    let mut r = ifreq(ifname)?;
    if_ioctl(&fd, libc::SIOCGIFADDR, &mut r, "SIOCGIFADDR")
        .with_context(|| format!("{ifname} has no IPv4 address"))?;
    // SAFETY: SIOCGIFADDR filled the `ifr_addr` member.
    id.addr = sockaddr_v4(unsafe { &r.ifr_ifru.ifru_addr });
    let mut r = ifreq(ifname)?;
    if_ioctl(&fd, libc::SIOCGIFNETMASK, &mut r, "SIOCGIFNETMASK")?;
    // SAFETY: SIOCGIFNETMASK filled the `ifr_netmask` member.
    id.netmask = sockaddr_v4(unsafe { &r.ifr_ifru.ifru_netmask });
    id.gateway = default_gateway(ifname).unwrap_or([0; 4]);
    id.server = server.octets();
    id.port = port;
    Ok(id)
}

/// A MAC address as text.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Gives `id.ifname` the MAC, address and netmask of `id` and makes
/// `id.gateway` (if set) the default route.
pub fn apply_identity(id: &abi::NetIdentity) -> Result<()> {
    let ifname = std::str::from_utf8(abi::c_str_bytes(&id.ifname).unwrap_or(b""))?.to_string();
    let fd = inet_socket()?;
    let mut r = ifreq(&ifname)?;
    if_ioctl(&fd, libc::SIOCGIFFLAGS, &mut r, "SIOCGIFFLAGS")?;
    // SAFETY: SIOCGIFFLAGS filled the `ifr_flags` member.
    let flags = unsafe { r.ifr_ifru.ifru_flags };
    // Down for the MAC change (not every driver changes it live).
    r.ifr_ifru.ifru_flags = flags & !(libc::IFF_UP as libc::c_short);
    if_ioctl(&fd, libc::SIOCSIFFLAGS, &mut r, "SIOCSIFFLAGS down")?;
    let mut r = ifreq(&ifname)?;
    // SAFETY: plain old data; zero is valid.
    let mut hw: libc::sockaddr = unsafe { std::mem::zeroed() };
    hw.sa_family = libc::ARPHRD_ETHER;
    for (d, s) in hw.sa_data.iter_mut().zip(id.mac.iter()) {
        *d = *s as libc::c_char;
    }
    r.ifr_ifru.ifru_hwaddr = hw;
    if_ioctl(&fd, libc::SIOCSIFHWADDR, &mut r, "SIOCSIFHWADDR")?;
    let mut r = ifreq(&ifname)?;
    r.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    if_ioctl(&fd, libc::SIOCSIFFLAGS, &mut r, "SIOCSIFFLAGS up")?;
    let mut r = ifreq(&ifname)?;
    r.ifr_ifru.ifru_addr = to_sockaddr(id.addr);
    if_ioctl(&fd, libc::SIOCSIFADDR, &mut r, "SIOCSIFADDR")?;
    let mut r = ifreq(&ifname)?;
    r.ifr_ifru.ifru_netmask = to_sockaddr(id.netmask);
    if_ioctl(&fd, libc::SIOCSIFNETMASK, &mut r, "SIOCSIFNETMASK")?;
    if id.gateway != [0; 4] {
        set_default_route(&fd, id.gateway)?;
    }
    Ok(())
}

/// Replaces the default route by one through `gateway`.
fn set_default_route(fd: &OwnedFd, gateway: [u8; 4]) -> Result<()> {
    // SAFETY: plain old data; zero is valid.
    let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
    rt.rt_dst = to_sockaddr([0; 4]);
    rt.rt_genmask = to_sockaddr([0; 4]);
    // SAFETY: SIOCDELRT reads one `rtentry`; a missing route is fine.
    unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::SIOCDELRT,
            &mut rt as *mut libc::rtentry,
        )
    };
    rt.rt_gateway = to_sockaddr(gateway);
    rt.rt_flags = libc::RTF_UP | libc::RTF_GATEWAY;
    // SAFETY: SIOCADDRT reads one `rtentry`, valid across the call.
    if unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::SIOCADDRT,
            &mut rt as *mut libc::rtentry,
        )
    } < 0
    {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e).context("SIOCADDRT default route");
        }
    }
    Ok(())
}
