// SPDX-License-Identifier: GPL-2.0

//! A minimal safe wrapper around a kernel IPv4 UDP socket (6.12 has no
//! Rust socket abstraction).

use core::fmt;

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::time::Jiffies;

use super::errno::eproto;

/// An IPv4 address and UDP port.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SockAddrV4 {
    /// The address, most significant byte first (10.0.2.2 is `[10, 0, 2, 2]`).
    pub(crate) addr: [u8; 4],
    /// The port, in host byte order.
    pub(crate) port: u16,
}

impl SockAddrV4 {
    fn to_raw(self) -> bindings::sockaddr_in {
        // SAFETY: all-zeroes is a valid `sockaddr_in`.
        let mut raw: bindings::sockaddr_in = unsafe { core::mem::zeroed() };
        raw.sin_family = bindings::AF_INET as _;
        raw.sin_port = self.port.to_be();
        raw.sin_addr.s_addr = u32::from_ne_bytes(self.addr);
        raw
    }

    fn from_raw(raw: &bindings::sockaddr_in) -> Self {
        Self {
            addr: raw.sin_addr.s_addr.to_ne_bytes(),
            port: u16::from_be(raw.sin_port),
        }
    }
}

impl fmt::Display for SockAddrV4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.addr;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}

/// A UDP socket in the initial network namespace, bound to an ephemeral
/// port. Released on drop.
pub(crate) struct UdpSocket(*mut bindings::socket);

// SAFETY: the socket layer does its own locking; the pointer is only
// released in `drop`, which has exclusive access.
unsafe impl Send for UdpSocket {}
// SAFETY: as above: sending, receiving and shutting down may run
// concurrently on a socket.
unsafe impl Sync for UdpSocket {}

impl UdpSocket {
    /// Creates a socket bound to `0.0.0.0` and an ephemeral port.
    pub(crate) fn bind_ephemeral() -> Result<Self> {
        Self::bind(0)
    }

    /// Creates a socket bound to `0.0.0.0:port` (0: an ephemeral port).
    pub(crate) fn bind(port: u16) -> Result<Self> {
        let mut sock: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `init_net` is the initial network namespace, alive
        // forever; `sock` is a valid place for the result.
        to_result(unsafe {
            bindings::sock_create_kern(
                &raw mut bindings::init_net,
                bindings::AF_INET as _,
                bindings::sock_type_SOCK_DGRAM as _,
                bindings::IPPROTO_UDP as _,
                &mut sock,
            )
        })?;
        let this = Self(sock);
        let mut any = SockAddrV4 { addr: [0; 4], port }.to_raw();
        // SAFETY: `this.0` is a valid socket; `any` is a `sockaddr_in` of
        // the length given.
        to_result(unsafe {
            bindings::kernel_bind(
                this.0,
                (&raw mut any).cast(),
                core::mem::size_of::<bindings::sockaddr_in>() as _,
            )
        })?;
        Ok(this)
    }

    /// Makes the receive buffer hold at least `bytes` of payload (the
    /// kernel doubles it for overhead and never goes below its minimum).
    pub(crate) fn set_receive_buffer(&self, bytes: usize) {
        // SAFETY: `self.0` and its `sk` are valid; sock_set_rcvbuf() takes
        // the socket lock itself.
        unsafe { bindings::sock_set_rcvbuf((*self.0).sk, bytes.min(i32::MAX as usize) as i32) };
    }

    /// Sends `buf` as one datagram to `to`.
    pub(crate) fn send_to(&self, to: SockAddrV4, buf: &[u8]) -> Result {
        let mut addr = to.to_raw();
        // SAFETY: all-zeroes is a valid `msghdr` (no name, no control).
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_name = (&raw mut addr).cast();
        msg.msg_namelen = core::mem::size_of::<bindings::sockaddr_in>() as _;
        let mut vec = bindings::kvec {
            iov_base: buf.as_ptr() as *mut _,
            iov_len: buf.len(),
        };
        // SAFETY: `self.0` is a valid socket; `msg`, `addr` and `vec` live
        // across the call and `vec` describes `buf`, which the call only
        // reads.
        let sent = unsafe { bindings::kernel_sendmsg(self.0, &mut msg, &mut vec, 1, buf.len()) };
        to_result(sent)
    }

    /// Waits at most `timeout` jiffies for one datagram, copies it into
    /// `buf` and returns its length (truncated to `buf.len()`) and sender.
    /// `EAGAIN` if nothing arrived in time, `ERESTARTSYS` on a signal,
    /// `ESHUTDOWN` after [`UdpSocket::shutdown`].
    pub(crate) fn recv_from(
        &self,
        buf: &mut [u8],
        timeout: Jiffies,
    ) -> Result<(usize, SockAddrV4)> {
        // SAFETY: `self.0` is valid and so is its `sk`; the receive timeout
        // is a plain word read locklessly by the socket layer
        // (sock_setsockopt() writes it with WRITE_ONCE as well). A zero
        // timeout would mean "forever".
        unsafe {
            let sk = (*self.0).sk;
            core::ptr::write_volatile(&raw mut (*sk).sk_rcvtimeo, timeout.max(1) as _);
        }
        // SAFETY: all-zeroes is a valid `sockaddr_in` and `msghdr`.
        let mut from: bindings::sockaddr_in = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_name = (&raw mut from).cast();
        msg.msg_namelen = core::mem::size_of::<bindings::sockaddr_in>() as _;
        let mut vec = bindings::kvec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `self.0` is a valid socket; `msg`, `from` and `vec` live
        // across the call and `vec` describes `buf`, which is writable.
        let n = unsafe { bindings::kernel_recvmsg(self.0, &mut msg, &mut vec, 1, buf.len(), 0) };
        if n < 0 {
            return Err(Error::from_errno(n));
        }
        if from.sin_family as u32 != bindings::AF_INET {
            return Err(eproto());
        }
        Ok(((n as usize).min(buf.len()), SockAddrV4::from_raw(&from)))
    }

    /// Shuts the socket down: a receiver blocked in
    /// [`UdpSocket::recv_from`] returns at once.
    #[allow(dead_code)]
    pub(crate) fn shutdown(&self) {
        // SAFETY: `self.0` is a valid socket.
        unsafe { bindings::kernel_sock_shutdown(self.0, bindings::sock_shutdown_cmd_SHUT_RDWR) };
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        // SAFETY: the socket was created in `bind_ephemeral` and is released
        // once, here; nothing else uses it any more.
        unsafe { bindings::sock_release(self.0) };
    }
}
