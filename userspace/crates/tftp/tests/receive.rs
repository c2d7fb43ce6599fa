// SPDX-License-Identifier: GPL-2.0

//! The download state machine, packet by packet.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use lazyresume_tftp::*;

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; DATA_HEADER_LEN + payload.len()];
    let len = encode_data(&mut buf, block, payload).unwrap();
    assert_eq!(len, buf.len());
    buf
}

fn ack_of(out: &[u8], len: usize) -> u16 {
    match Packet::decode(&out[..len]) {
        Ok(Packet::Ack { block }) => block,
        other => panic!("not an ACK: {other:?}"),
    }
}

/// A receiver past an OACK with `blksize` and `windowsize`.
fn negotiated(blksize: u16, windowsize: u16) -> Receiver {
    let asked = OptionSet {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        ..OptionSet::NONE
    };
    let mut rx = Receiver::new(asked);
    let mut out = [0u8; MIN_OUT_LEN];
    let mut oack = [0u8; 64];
    let len = encode_oack(&mut oack, &asked).unwrap();
    let RecvEvent::Send(n) = rx.on_packet(true, &oack[..len], &mut out) else {
        panic!("OACK not acknowledged");
    };
    assert_eq!(ack_of(&out, n), 0);
    rx
}

#[test]
fn lockstep_transfer() {
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; MIN_OUT_LEN];
    let full = [9u8; 512];
    for block in 1..=3u16 {
        let pkt = data(block, &full);
        let RecvEvent::Data {
            offset,
            data: got,
            ack: Some(len),
        } = rx.on_packet(true, &pkt, &mut out)
        else {
            panic!("block {block} not delivered");
        };
        assert_eq!(offset, 512 * (u64::from(block) - 1));
        assert_eq!(got, &full[..]);
        assert_eq!(ack_of(&out, len), block);
    }
    let pkt = data(4, b"tail");
    let RecvEvent::Done {
        offset: 1536,
        data: b"tail",
        ack,
    } = rx.on_packet(true, &pkt, &mut out)
    else {
        panic!("last block not delivered");
    };
    assert_eq!(ack_of(&out, ack), 4);
    assert!(rx.is_done());
    assert_eq!(rx.offset(), 1540);
    assert_eq!(rx.blocks(), 4);
}

#[test]
fn empty_file() {
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; MIN_OUT_LEN];
    let pkt = data(1, b"");
    let RecvEvent::Done {
        offset: 0,
        data: b"",
        ack,
    } = rx.on_packet(true, &pkt, &mut out)
    else {
        panic!("empty file not done");
    };
    assert_eq!(ack_of(&out, ack), 1);
    assert_eq!(rx.offset(), 0);
}

#[test]
fn exact_multiple_ends_with_empty_block() {
    let mut rx = negotiated(8, 2);
    let mut out = [0u8; MIN_OUT_LEN];
    let one = data(1, b"01234567");
    let two = data(2, b"89abcdef");
    assert!(matches!(
        rx.on_packet(true, &one, &mut out),
        RecvEvent::Data { ack: None, .. }
    ));
    assert!(matches!(
        rx.on_packet(true, &two, &mut out),
        RecvEvent::Data {
            offset: 8,
            ack: Some(_),
            ..
        }
    ));
    assert_eq!(ack_of(&out, 4), 2);
    let three = data(3, b"");
    let RecvEvent::Done {
        offset: 16,
        data: b"",
        ack,
    } = rx.on_packet(true, &three, &mut out)
    else {
        panic!("not done");
    };
    assert_eq!(ack_of(&out, ack), 3);
}

#[test]
fn duplicates_are_never_acked_but_the_timeout_is() {
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; MIN_OUT_LEN];
    let full = [1u8; 512];
    let one = data(1, &full);
    assert!(matches!(
        rx.on_packet(true, &one, &mut out),
        RecvEvent::Data { ack: Some(_), .. }
    ));
    // The server did not get ACK 1 and resends block 1, or the network
    // duplicated it: no ACK (Sorcerer's Apprentice).
    for _ in 0..3 {
        assert_eq!(rx.on_packet(true, &one, &mut out), RecvEvent::Ignored);
    }
    // Our timeout resends ACK 1, each time.
    for retry in 1..=3 {
        let RecvTimeout::Send(len) = rx.on_timeout(&mut out) else {
            panic!("no re-ACK");
        };
        assert_eq!(ack_of(&out, len), 1);
        assert_eq!(rx.retries(), retry);
    }
    // Progress resets the retry count.
    let two = data(2, &full);
    assert!(matches!(
        rx.on_packet(true, &two, &mut out),
        RecvEvent::Data { offset: 512, .. }
    ));
    assert_eq!(rx.retries(), 0);
}

#[test]
fn timeout_before_first_block_reacks_zero_or_resends_request() {
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; MIN_OUT_LEN];
    assert_eq!(rx.on_timeout(&mut out), RecvTimeout::ResendRequest);
    assert_eq!(rx.on_timeout(&mut out), RecvTimeout::ResendRequest);
    assert_eq!(rx.retries(), 2);
    let mut rx = negotiated(512, 4);
    let RecvTimeout::Send(len) = rx.on_timeout(&mut out) else {
        panic!("no ACK 0");
    };
    assert_eq!(ack_of(&out, len), 0);
}

#[test]
fn windowed_acks() {
    let mut rx = negotiated(8, 4);
    let mut out = [0u8; MIN_OUT_LEN];
    for block in 1..=9u16 {
        let pkt = data(block, b"abcdefgh");
        let RecvEvent::Data { offset, ack, .. } = rx.on_packet(true, &pkt, &mut out) else {
            panic!("block {block} not delivered");
        };
        assert_eq!(offset, 8 * (u64::from(block) - 1));
        if block % 4 == 0 {
            assert_eq!(ack_of(&out, ack.unwrap()), block);
        } else {
            assert_eq!(ack, None);
        }
    }
    // The last block ends the window early.
    let pkt = data(10, b"abc");
    let RecvEvent::Done {
        offset: 72, ack, ..
    } = rx.on_packet(true, &pkt, &mut out)
    else {
        panic!("not done");
    };
    assert_eq!(ack_of(&out, ack), 10);
}

#[test]
fn a_gap_acks_the_last_in_order_block_once() {
    let mut rx = negotiated(8, 4);
    let mut out = [0u8; MIN_OUT_LEN];
    let block = |n: u16| data(n, b"abcdefgh");
    assert!(matches!(
        rx.on_packet(true, &block(1), &mut out),
        RecvEvent::Data { ack: None, .. }
    ));
    // Block 2 is lost: block 3 triggers ACK 1, blocks 4 and 5 nothing.
    let RecvEvent::Send(len) = rx.on_packet(true, &block(3), &mut out) else {
        panic!("gap not reported");
    };
    assert_eq!(ack_of(&out, len), 1);
    assert_eq!(rx.on_packet(true, &block(4), &mut out), RecvEvent::Ignored);
    assert_eq!(rx.on_packet(true, &block(5), &mut out), RecvEvent::Ignored);
    // Far ahead (beyond the window): ignored.
    assert_eq!(
        rx.on_packet(true, &block(100), &mut out),
        RecvEvent::Ignored
    );
    // The server resends from 2; the window restarts there.
    for n in 2..=4 {
        assert!(matches!(
            rx.on_packet(true, &block(n), &mut out),
            RecvEvent::Data { ack: None, .. }
        ));
    }
    let RecvEvent::Data { ack: Some(len), .. } = rx.on_packet(true, &block(5), &mut out) else {
        panic!("window not acknowledged");
    };
    assert_eq!(ack_of(&out, len), 5);
    // A new gap after progress is reported again.
    let RecvEvent::Send(len) = rx.on_packet(true, &block(7), &mut out) else {
        panic!("gap not reported");
    };
    assert_eq!(ack_of(&out, len), 5);
    assert_eq!(rx.offset(), 40);
}

#[test]
fn stale_blocks_are_ignored() {
    let mut rx = negotiated(8, 16);
    let mut out = [0u8; MIN_OUT_LEN];
    for n in 1..=40u16 {
        rx.on_packet(true, &data(n, b"abcdefgh"), &mut out);
    }
    assert_eq!(rx.blocks(), 40);
    for n in [0u16, 1, 20, 39, 40, 60_000] {
        assert_eq!(
            rx.on_packet(true, &data(n, b"abcdefgh"), &mut out),
            RecvEvent::Ignored,
            "block {n}"
        );
    }
    assert_eq!(rx.offset(), 320);
}

#[test]
fn block_numbers_roll_over() {
    // 70000 full blocks of 8 bytes, then a short one: the wire numbers
    // wrap from 65535 to 0 and the offsets keep growing.
    let mut rx = negotiated(8, 7);
    let mut out = [0u8; MIN_OUT_LEN];
    let total: u64 = 70_000;
    for n in 1..=total {
        let wire = n as u16;
        let payload = n.to_le_bytes();
        let pkt = data(wire, &payload);
        let RecvEvent::Data {
            offset,
            data: got,
            ack,
        } = rx.on_packet(true, &pkt, &mut out)
        else {
            panic!("block {n} not delivered");
        };
        assert_eq!(offset, 8 * (n - 1));
        assert_eq!(got, &payload);
        assert_eq!(ack.is_some(), n % 7 == 0, "block {n}");
        if let Some(len) = ack {
            assert_eq!(ack_of(&out, len), wire);
        }
        if n == 65_537 {
            // Wire block 1 again: a duplicate of block 65537; 65535 is
            // stale.
            assert_eq!(
                rx.on_packet(true, &data(1, &payload), &mut out),
                RecvEvent::Ignored
            );
            assert_eq!(
                rx.on_packet(true, &data(65535, &payload), &mut out),
                RecvEvent::Ignored
            );
        }
    }
    let pkt = data((total + 1) as u16, b"end");
    let RecvEvent::Done { offset, ack, .. } = rx.on_packet(true, &pkt, &mut out) else {
        panic!("not done");
    };
    assert_eq!(offset, 8 * total);
    assert_eq!(ack_of(&out, ack), (total + 1) as u16);
    assert_eq!(rx.offset(), 8 * total + 3);
}

#[test]
fn strangers_get_error_5_and_change_nothing() {
    let mut rx = negotiated(8, 1);
    let mut out = [0u8; MIN_OUT_LEN];
    let one = data(1, b"abcdefgh");
    let RecvEvent::Reject(len) = rx.on_packet(false, &one, &mut out) else {
        panic!("stranger not rejected");
    };
    assert_eq!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::UnknownTransferId,
            message: b"Unknown transfer ID",
        })
    );
    // Garbage and errors from strangers: rejected / ignored, no failure.
    assert!(matches!(
        rx.on_packet(false, b"\x00", &mut out),
        RecvEvent::Reject(_)
    ));
    assert_eq!(
        rx.on_packet(false, b"\x00\x05\x00\x05x\x00", &mut out),
        RecvEvent::Ignored
    );
    assert_eq!(rx.blocks(), 0);
    assert!(!rx.is_failed());
    // The same block from the server is the first one.
    assert!(matches!(
        rx.on_packet(true, &one, &mut out),
        RecvEvent::Data { offset: 0, .. }
    ));
    // Strangers are rejected after the end too.
    let end = data(2, b"");
    assert!(matches!(
        rx.on_packet(true, &end, &mut out),
        RecvEvent::Done { .. }
    ));
    assert!(matches!(
        rx.on_packet(false, &end, &mut out),
        RecvEvent::Reject(_)
    ));
}

#[test]
fn protocol_errors_fail_with_error_4() {
    let cases: [(&[u8], TransferError<'_>); 4] = [
        (b"\x00\x04\x00\x01", TransferError::Unexpected(Opcode::Ack)),
        (
            b"\x00\x01f\x00octet\x00",
            TransferError::Unexpected(Opcode::Rrq),
        ),
        (
            b"\x00\x09",
            TransferError::Malformed(DecodeError::BadOpcode(9)),
        ),
        (
            b"\x00\x03\x00",
            TransferError::Malformed(DecodeError::Truncated),
        ),
    ];
    for (pkt, want) in cases {
        let mut rx = negotiated(512, 1);
        let mut out = [0u8; MIN_OUT_LEN];
        let RecvEvent::Failed {
            error,
            send: Some(len),
        } = rx.on_packet(true, pkt, &mut out)
        else {
            panic!("{pkt:?} accepted");
        };
        assert_eq!(error, want);
        assert!(matches!(
            Packet::decode(&out[..len]),
            Ok(Packet::Error {
                code: ErrorCode::IllegalOperation,
                ..
            })
        ));
        assert!(rx.is_failed());
        // Nothing happens once failed.
        assert_eq!(
            rx.on_packet(true, &data(1, b"x"), &mut out),
            RecvEvent::Ignored
        );
        assert_eq!(rx.on_timeout(&mut out), RecvTimeout::Idle);
    }
}

#[test]
fn small_out_buffer_fails_cleanly() {
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; 16];
    let pkt = data(1, b"x");
    assert!(matches!(
        rx.on_packet(true, &pkt, &mut out),
        RecvEvent::Failed {
            error: TransferError::BufferTooSmall,
            send: None,
        }
    ));
    assert!(rx.is_failed());
    assert_eq!(TransferError::BufferTooSmall.reply(), None);
}

#[test]
fn dallying_after_the_last_block() {
    let mut rx = negotiated(8, 4);
    let mut out = [0u8; MIN_OUT_LEN];
    let last = data(1, b"end");
    assert!(matches!(
        rx.on_packet(true, &last, &mut out),
        RecvEvent::Done { .. }
    ));
    // The server missed our ACK and resends the last block.
    let RecvEvent::Send(len) = rx.on_packet(true, &last, &mut out) else {
        panic!("final ACK not resent");
    };
    assert_eq!(ack_of(&out, len), 1);
    assert_eq!(
        rx.on_packet(true, &data(2, b""), &mut out),
        RecvEvent::Ignored
    );
    assert_eq!(rx.on_packet(true, b"junk", &mut out), RecvEvent::Ignored);
    assert_eq!(rx.on_timeout(&mut out), RecvTimeout::Idle);
    assert!(rx.is_done());
    assert_eq!(rx.abort(ErrorCode::NotDefined, b"late", &mut out), None);
}

#[test]
fn abort_sends_an_error_once() {
    let mut rx = negotiated(512, 1);
    let mut out = [0u8; MIN_OUT_LEN];
    let len = rx
        .abort(ErrorCode::DiskFull, b"no memory for the image", &mut out)
        .unwrap();
    assert_eq!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::DiskFull,
            message: b"no memory for the image",
        })
    );
    assert!(rx.is_failed());
    assert_eq!(rx.abort(ErrorCode::DiskFull, b"again", &mut out), None);
    // A long message is cut to fit; a NUL ends it.
    let mut rx = negotiated(512, 1);
    let mut tiny = [0u8; 10];
    let len = rx
        .abort(ErrorCode::NotDefined, b"a long message", &mut tiny)
        .unwrap();
    assert_eq!(&tiny[..len], b"\x00\x05\x00\x00a lon\x00");
    let mut rx = negotiated(512, 1);
    let len = rx
        .abort(ErrorCode::NotDefined, b"ab\0cd", &mut out)
        .unwrap();
    assert_eq!(&out[..len], b"\x00\x05\x00\x00ab\x00");
}
