// SPDX-License-Identifier: GPL-2.0

//! The upload state machine, packet by packet.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use lazyresume_tftp::*;

const OUT: usize = 2048;

fn ack(block: u16) -> [u8; 4] {
    let mut buf = [0u8; 4];
    encode_ack(&mut buf, block).unwrap();
    buf
}

/// A sender past the server's answer, with `blksize` and `windowsize`.
fn started(blksize: u16, windowsize: u16) -> Sender {
    let asked = OptionSet {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        ..OptionSet::NONE
    };
    let mut tx = Sender::new(asked);
    let mut oack = [0u8; 64];
    let len = encode_oack(&mut oack, &asked).unwrap();
    let mut out = [0u8; OUT];
    assert_eq!(
        tx.on_packet(true, &oack[..len], &mut out),
        SendEvent::Transmit
    );
    tx
}

/// Sends every block the window allows from `file`; returns their
/// (block, offset, payload) as decoded from the DATA packets.
fn pump(tx: &mut Sender, file: &[u8]) -> Vec<(u16, u64, Vec<u8>)> {
    let mut sent = Vec::new();
    let mut out = [0u8; OUT];
    while let Some(req) = tx.next_block() {
        let start = usize::try_from(req.offset).unwrap().min(file.len());
        let end = (start + req.max_len).min(file.len());
        let len = tx.send_block(&file[start..end], &mut out).unwrap();
        let Ok(Packet::Data { block, data }) = Packet::decode(&out[..len]) else {
            panic!("not DATA");
        };
        assert_eq!(block, req.block);
        sent.push((block, req.offset, data.to_vec()));
    }
    sent
}

fn blocks(sent: &[(u16, u64, Vec<u8>)]) -> Vec<u16> {
    sent.iter().map(|s| s.0).collect()
}

#[test]
fn lockstep_upload() {
    let file: Vec<u8> = (0..1300u32).map(|i| i as u8).collect();
    let mut tx = Sender::new(OptionSet::NONE);
    let mut out = [0u8; OUT];
    assert_eq!(tx.on_packet(true, &ack(0), &mut out), SendEvent::Transmit);
    let mut got = Vec::new();
    for n in 1..=3u16 {
        let sent = pump(&mut tx, &file);
        assert_eq!(blocks(&sent), [n]);
        got.extend_from_slice(&sent[0].2);
        let want = if n == 3 {
            SendEvent::Done
        } else {
            SendEvent::Transmit
        };
        assert_eq!(tx.on_packet(true, &ack(n), &mut out), want);
    }
    assert_eq!(got, file);
    assert!(tx.is_done());
    assert_eq!(tx.blocks_acked(), 3);
    assert_eq!(tx.next_block(), None);
    assert_eq!(tx.on_timeout(), SendTimeout::Idle);
    assert_eq!(tx.on_packet(true, &ack(3), &mut out), SendEvent::Ignored);
}

#[test]
fn empty_and_exact_multiple_files() {
    let mut out = [0u8; OUT];
    let mut tx = started(512, 1);
    let sent = pump(&mut tx, b"");
    assert_eq!(sent, [(1, 0, vec![])]);
    assert_eq!(tx.on_packet(true, &ack(1), &mut out), SendEvent::Done);

    let file = [5u8; 16];
    let mut tx = started(8, 4);
    let sent = pump(&mut tx, &file);
    assert_eq!(blocks(&sent), [1, 2, 3]);
    assert_eq!(sent[2], (3, 16, vec![]));
    assert_eq!(tx.on_packet(true, &ack(3), &mut out), SendEvent::Done);
}

#[test]
fn duplicate_acks_do_not_retransmit() {
    let file = [1u8; 100];
    let mut tx = started(8, 1);
    let mut out = [0u8; OUT];
    assert_eq!(blocks(&pump(&mut tx, &file)), [1]);
    assert_eq!(tx.on_packet(true, &ack(1), &mut out), SendEvent::Transmit);
    assert_eq!(blocks(&pump(&mut tx, &file)), [2]);
    // A late duplicate of ACK 1 (the receiver resent it): no DATA 2 again.
    assert_eq!(tx.on_packet(true, &ack(1), &mut out), SendEvent::Ignored);
    assert_eq!(tx.next_block(), None);
    // Neither for an ACK of a block never sent, nor a stale one.
    assert_eq!(tx.on_packet(true, &ack(3), &mut out), SendEvent::Ignored);
    assert_eq!(tx.on_packet(true, &ack(0), &mut out), SendEvent::Ignored);
    assert_eq!(
        tx.on_packet(true, &ack(40000), &mut out),
        SendEvent::Ignored
    );
    assert_eq!(tx.blocks_acked(), 1);
    // The timeout resends block 2.
    assert_eq!(tx.on_timeout(), SendTimeout::Retransmit);
    assert_eq!(tx.retries(), 1);
    assert_eq!(pump(&mut tx, &file), [(2, 8, vec![1u8; 8])]);
    assert_eq!(tx.on_packet(true, &ack(2), &mut out), SendEvent::Transmit);
    assert_eq!(tx.retries(), 0);
}

#[test]
fn timeout_before_reply_resends_request() {
    let mut tx = Sender::new(OptionSet::NONE);
    assert_eq!(tx.on_timeout(), SendTimeout::ResendRequest);
    assert_eq!(tx.retries(), 1);
    assert_eq!(tx.next_block(), None);
}

#[test]
fn windowed_upload_goes_back_on_partial_ack() {
    let file: Vec<u8> = (0..100u8).collect();
    let mut tx = started(8, 4);
    let mut out = [0u8; OUT];
    assert_eq!(blocks(&pump(&mut tx, &file)), [1, 2, 3, 4]);
    assert_eq!(tx.on_packet(true, &ack(4), &mut out), SendEvent::Transmit);
    assert_eq!(blocks(&pump(&mut tx, &file)), [5, 6, 7, 8]);
    // The receiver lost 7: it acknowledges 6, the sender resends 7 on.
    assert_eq!(tx.on_packet(true, &ack(6), &mut out), SendEvent::Transmit);
    assert_eq!(blocks(&pump(&mut tx, &file)), [7, 8, 9, 10]);
    // Timeout: everything after 6 again.
    assert_eq!(tx.on_timeout(), SendTimeout::Retransmit);
    let sent = pump(&mut tx, &file);
    assert_eq!(blocks(&sent), [7, 8, 9, 10]);
    assert_eq!(sent[0], (7, 48, file[48..56].to_vec()));
    assert_eq!(tx.on_packet(true, &ack(10), &mut out), SendEvent::Transmit);
    assert_eq!(blocks(&pump(&mut tx, &file)), [11, 12, 13]);
    assert_eq!(tx.on_packet(true, &ack(12), &mut out), SendEvent::Transmit);
    assert_eq!(blocks(&pump(&mut tx, &file)), [13]);
    assert_eq!(tx.on_packet(true, &ack(13), &mut out), SendEvent::Done);
}

#[test]
fn send_block_checks_its_input() {
    let mut out = [0u8; OUT];
    let mut tx = Sender::new(OptionSet::NONE);
    assert_eq!(tx.send_block(b"x", &mut out), Err(SendError::NotReady));
    tx.on_packet(true, &ack(0), &mut out);
    assert_eq!(
        tx.send_block(&[0u8; 513], &mut out),
        Err(SendError::ChunkTooLong)
    );
    assert_eq!(
        tx.send_block(&[0u8; 512], &mut out[..515]),
        Err(SendError::BufferTooSmall)
    );
    // Nothing was sent by the failed calls.
    assert_eq!(tx.next_block().unwrap().block, 1);
    assert_eq!(tx.send_block(&[0u8; 512], &mut out), Ok(516));
    assert_eq!(tx.send_block(b"x", &mut out), Err(SendError::NotReady));

    let mut tx = started(8, 4);
    assert_eq!(tx.send_block(b"01234567", &mut out), Ok(12));
    assert_eq!(tx.send_block(b"0123", &mut out), Ok(8));
    // After the last block there is nothing more to send.
    assert_eq!(tx.next_block(), None);
    tx.on_timeout();
    // Block 1 was full, it must stay full; block 2 keeps its length.
    assert_eq!(
        tx.send_block(b"0123", &mut out),
        Err(SendError::InconsistentChunk)
    );
    assert_eq!(tx.send_block(b"01234567", &mut out), Ok(12));
    assert_eq!(
        tx.send_block(b"01234567", &mut out),
        Err(SendError::InconsistentChunk)
    );
    assert_eq!(tx.send_block(b"0123", &mut out), Ok(8));

    // A block sent full cannot become the last one on a resend.
    let mut tx = started(8, 4);
    tx.send_block(b"01234567", &mut out).unwrap();
    tx.send_block(b"01234567", &mut out).unwrap();
    tx.on_timeout();
    assert_eq!(
        tx.send_block(b"012", &mut out),
        Err(SendError::InconsistentChunk)
    );
    assert_eq!(
        SendError::InconsistentChunk.to_string(),
        "chunk inconsistent with the end of the file"
    );
}

#[test]
fn block_numbers_roll_over() {
    let mut tx = started(8, 5);
    let mut out = [0u8; OUT];
    let total: u64 = 70_001;
    let mut next = 1u64;
    while next <= total {
        let mut last = 0;
        while let Some(req) = tx.next_block() {
            assert_eq!(req.block, next as u16);
            assert_eq!(req.offset, 8 * (next - 1));
            let chunk: &[u8] = if next == total { b"end" } else { b"abcdefgh" };
            tx.send_block(chunk, &mut out).unwrap();
            last = req.block;
            next += 1;
        }
        let pkt = ack(last);
        let event = tx.on_packet(true, &pkt, &mut out);
        if next > total {
            assert_eq!(event, SendEvent::Done);
        } else {
            assert_eq!(event, SendEvent::Transmit);
        }
    }
    assert_eq!(tx.blocks_acked(), total);
}

#[test]
fn strangers_and_protocol_errors() {
    let mut tx = started(8, 1);
    let mut out = [0u8; OUT];
    let _ = pump(&mut tx, &[0u8; 20]);
    let SendEvent::Reject(len) = tx.on_packet(false, &ack(1), &mut out) else {
        panic!("stranger not rejected");
    };
    assert!(matches!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::UnknownTransferId,
            ..
        })
    ));
    assert_eq!(
        tx.on_packet(false, b"\x00\x05\x00\x00\x00", &mut out),
        SendEvent::Ignored
    );
    assert_eq!(tx.blocks_acked(), 0);
    assert_eq!(tx.on_packet(true, &ack(1), &mut out), SendEvent::Transmit);

    let SendEvent::Failed {
        error: TransferError::Unexpected(Opcode::Data),
        send: Some(len),
    } = tx.on_packet(true, b"\x00\x03\x00\x01x", &mut out)
    else {
        panic!("DATA accepted");
    };
    assert!(matches!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::IllegalOperation,
            ..
        })
    ));
    assert!(tx.is_failed());
    assert_eq!(tx.next_block(), None);
    assert_eq!(tx.on_packet(true, &ack(2), &mut out), SendEvent::Ignored);

    let mut tx = started(8, 1);
    assert!(matches!(
        tx.on_packet(true, b"\x00\x04\x00\x01\x00", &mut out),
        SendEvent::Failed {
            error: TransferError::Malformed(DecodeError::TrailingBytes),
            send: Some(_),
        }
    ));

    let mut tx = started(8, 1);
    let len = tx
        .abort(ErrorCode::AccessViolation, b"read error", &mut out)
        .unwrap();
    assert_eq!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::AccessViolation,
            message: b"read error",
        })
    );
    assert_eq!(tx.on_timeout(), SendTimeout::Idle);
}
