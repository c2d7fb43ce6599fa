// SPDX-License-Identifier: GPL-2.0

//! `whoami`: the MAC and IPv4 address of an interface, as this system sees
//! them (after a resume: the client's own, if the hand-off worked).

use std::net::Ipv4Addr;

/// The IPv4 address of `iface`, if it has one.
fn ipv4(iface: &str) -> Option<Ipv4Addr> {
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: plain socket(2) call; the result is checked and closed.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `ifreq` is plain old data; zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(iface.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCGIFADDR writes one `ifreq`, which `r` is.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFADDR, &mut r as *mut libc::ifreq) };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    if rc < 0 {
        return None;
    }
    // SAFETY: SIOCGIFADDR filled `ifr_addr` with an AF_INET address, and
    // `sockaddr_in` fits in `sockaddr`.
    let sin =
        unsafe { &*(&r.ifr_ifru.ifru_addr as *const libc::sockaddr).cast::<libc::sockaddr_in>() };
    Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()))
}

/// `mac=... addr=...` of `iface` (`none` for what it lacks).
pub fn whoami(iface: &str) -> String {
    let mac = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "none".into());
    let addr = ipv4(iface).map_or_else(|| "none".into(), |a| a.to_string());
    format!("mac={mac} addr={addr}")
}
