// SPDX-License-Identifier: GPL-2.0

//! `whoami`: the MAC and IPv4 address of an interface as this system sees
//! them (after a resume: the client's own, if the identity was adopted).

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The IPv4 address of `iface` (SIOCGIFADDR), if it has one.
fn ipv4(iface: &str) -> Option<Ipv4Addr> {
    if iface.len() >= libc::IFNAMSIZ || iface.contains('\0') {
        return None;
    }
    // SAFETY: `ifreq` is plain old data, for which zero bytes are valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(iface.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCGIFADDR reads the name from and writes the address into
    // one `ifreq`, which `req` is.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFADDR, &mut req) } < 0 {
        return None;
    }
    // SAFETY: after a successful SIOCGIFADDR, `ifr_addr` is the member of
    // the union that the kernel wrote.
    let addr = unsafe { req.ifr_ifru.ifru_addr };
    if i32::from(addr.sa_family) != libc::AF_INET {
        return None;
    }
    // A `sockaddr_in`: the port in bytes 0-1, the address in 2-5.
    let [a, b, c, d] = [2, 3, 4, 5].map(|i| addr.sa_data[i] as u8);
    Some(Ipv4Addr::new(a, b, c, d))
}

/// `mac=... addr=...` of `iface`, `none` for what it lacks.
pub fn whoami(iface: &str) -> String {
    let mac = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))
        .map_or_else(|_| "none".to_string(), |s| s.trim().to_string());
    let addr = ipv4(iface).map_or_else(|| "none".to_string(), |a| a.to_string());
    format!("mac={mac} addr={addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interfaces_have_nothing() {
        assert_eq!(whoami("nosuchif0"), "mac=none addr=none");
        assert_eq!(whoami("a-name-longer-than-ifnamsiz"), "mac=none addr=none");
    }
}
