// SPDX-License-Identifier: GPL-2.0

//! Arbitrary bytes into the packet decoder; what decodes must re-encode to
//! bytes that decode to the same packet, and the state machines must take
//! any packet without panicking.

#![no_main]

use lazyresume_tftp::{OptionSet, Packet, Receiver, Sender, MIN_OUT_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::decode(data) {
        let mut buf = vec![0u8; data.len()];
        let len = packet.encode(&mut buf).expect("re-encoding fits");
        assert!(len <= data.len());
        assert_eq!(Packet::decode(&buf[..len]), Ok(packet));
        if let Some(last) = len.checked_sub(1) {
            assert!(packet.encode(&mut buf[..last]).is_err());
        }
    }

    let asked = OptionSet {
        blksize: Some(1024),
        timeout: Some(3),
        tsize: Some(0),
        windowsize: Some(8),
    };
    let mut out = [0u8; MIN_OUT_LEN];
    for from_tid_ok in [true, false] {
        let mut rx = Receiver::new(asked);
        let _ = rx.on_packet(from_tid_ok, data, &mut out);
        let _ = rx.on_packet(from_tid_ok, data, &mut out);
        let _ = rx.on_timeout(&mut out);
        let mut tx = Sender::new(asked);
        let _ = tx.on_packet(from_tid_ok, data, &mut out);
        let _ = tx.on_packet(from_tid_ok, data, &mut out);
        let _ = tx.on_timeout();
    }
});
