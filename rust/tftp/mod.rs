// SPDX-License-Identifier: GPL-2.0

//! `tftp`: the in-kernel TFTP client, the transport that drives the
//! protocol core shared with userspace ([`proto`]) over a kernel UDP
//! socket, and its statistics. Uses `sys` (and the shared code).

pub(crate) mod client;
// The protocol core, shared with userspace, where its whole `pub` API is
// used and tested; the module uses part of it.
#[allow(unreachable_pub, dead_code)]
#[path = "../../userspace/crates/tftp/src/proto/mod.rs"]
pub(crate) mod proto;
pub(crate) mod rtt;
pub(crate) mod stats;
