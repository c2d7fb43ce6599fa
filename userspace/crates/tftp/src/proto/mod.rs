// SPDX-License-Identifier: GPL-2.0

//! The TFTP protocol core, shared by the kernel module and userspace.
//!
//! The kernel module includes this directory with
//! `#[path = "../userspace/crates/tftp/src/proto/mod.rs"] mod tftp;` and the
//! `lazyresume-tftp` crate wraps it for the host tests, so everything here
//! uses `core` only, never allocates, has no `unsafe` and no panic reachable
//! from packet contents.
//!
//! - [`Packet`] decodes (zero-copy) and encodes every TFTP packet: RRQ,
//!   WRQ, DATA, ACK, ERROR (RFC 1350) and OACK (RFC 2347) with the
//!   `blksize` (RFC 2348), `timeout` and `tsize` (RFC 2349) and
//!   `windowsize` (RFC 7440) options.
//! - [`negotiate`] checks a server's OACK against what the client asked.
//! - [`Receiver`] (download, RRQ) and [`Sender`] (upload, WRQ) are sans-IO
//!   state machines: the caller moves packets and runs the clock, they say
//!   what to deliver and what to send.
//!
//! Block numbers are 16 bits on the wire and wrap from 65535 to 0; the
//! state machines count blocks and bytes in 64 bits, so transfers of more
//! than 65535 blocks keep exact offsets.

mod options;
mod packet;
mod receive;
mod reuse;
mod send;
mod transfer;
mod wire;

// The kernel module includes this file as a private module and uses part
// of the API: the re-exports it does not use must not warn there.
#[allow(unused_imports)]
pub use options::*;
#[allow(unused_imports)]
pub use packet::*;
#[allow(unused_imports)]
pub use receive::*;
#[allow(unused_imports)]
pub use reuse::*;
#[allow(unused_imports)]
pub use send::*;
#[allow(unused_imports)]
pub use transfer::*;
