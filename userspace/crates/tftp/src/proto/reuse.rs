// SPDX-License-Identifier: GPL-2.0

//! The rules for a client that keeps its UDP socket from one download to
//! the next, as the module's fetch engine and the tool's load generator
//! do: TFTP tells transfers apart by port only, and a transfer's first
//! reply may come from any server port, so a kept socket needs them to
//! keep an earlier transfer's late packets out of the next file.

use super::packet::Opcode;

/// Whether `pkt` is refused as a download's first reply (answered as a
/// stranger's): when it comes from the server port of one of the socket's
/// recent transfers, or when it is DATA and the server answered the
/// client's last request with an OACK (every request of a client that
/// keeps its socket carries options). A late block of an earlier transfer
/// is DATA; a new socket's port may be one whose earlier transfer's
/// server still sends, so the second rule holds on new sockets too.
pub fn refuses_first_reply(pkt: &[u8], from_recent_tid: bool, server_takes_options: bool) -> bool {
    from_recent_tid || (server_takes_options && Opcode::of(pkt) == Some(Opcode::Data))
}

/// Whether the socket of a download that ended well may serve the next:
/// only if the server's first reply was an OACK and nothing was sent
/// twice (a request sent again may have left the server a second
/// transfer of the same file, from a port never seen).
pub const fn keeps_socket(retransmits: u32, options_acknowledged: bool) -> bool {
    retransmits == 0 && options_acknowledged
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[u8] = &[0, 3, 0, 1, b'x'];
    const OACK: &[u8] = b"\x00\x06blksize\x001428\x00";

    #[test]
    fn data_first_is_refused_once_the_server_takes_options() {
        assert!(refuses_first_reply(DATA, false, true));
        assert!(!refuses_first_reply(DATA, false, false));
        assert!(!refuses_first_reply(OACK, false, true));
    }

    #[test]
    fn recent_ports_are_refused_whatever_they_send() {
        assert!(refuses_first_reply(OACK, true, false));
        assert!(refuses_first_reply(DATA, true, false));
    }

    #[test]
    fn a_socket_is_kept_only_after_a_clean_oack_transfer() {
        assert!(keeps_socket(0, true));
        assert!(!keeps_socket(1, true));
        assert!(!keeps_socket(0, false));
    }
}
