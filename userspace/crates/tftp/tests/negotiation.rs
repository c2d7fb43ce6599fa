// SPDX-License-Identifier: GPL-2.0

//! Option negotiation: `negotiate` and the first reply of both state
//! machines.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use lazyresume_tftp::*;

const ASKED: OptionSet = OptionSet {
    blksize: Some(1428),
    timeout: Some(2),
    tsize: Some(0),
    windowsize: Some(8),
};

fn oack_list(raw: &[u8]) -> OptionList<'_> {
    OptionList::parse(raw).unwrap()
}

#[test]
fn everything_accepted() {
    let list =
        oack_list(b"blksize\x001428\x00timeout\x002\x00tsize\x00123456\x00windowsize\x008\x00");
    assert_eq!(
        negotiate(&ASKED, &list),
        Ok(Negotiated {
            blksize: 1428,
            windowsize: 8,
            timeout: Some(2),
            tsize: Some(123456),
        })
    );
}

#[test]
fn lowered_values() {
    let list = oack_list(b"BLKSIZE\x00512\x00windowsize\x001\x00");
    assert_eq!(
        negotiate(&ASKED, &list),
        Ok(Negotiated {
            blksize: 512,
            windowsize: 1,
            timeout: None,
            tsize: None,
        })
    );
    // Lowering below the RFC 1350 default is allowed too.
    let list = oack_list(b"blksize\x008\x00");
    assert_eq!(negotiate(&ASKED, &list).unwrap().blksize, 8);
}

#[test]
fn omitted_options_get_defaults() {
    let list = oack_list(b"tsize\x0042\x00");
    assert_eq!(
        negotiate(&ASKED, &list),
        Ok(Negotiated {
            tsize: Some(42),
            ..Negotiated::DEFAULT
        })
    );
    assert_eq!(
        negotiate(&ASKED, &OptionList::EMPTY),
        Ok(Negotiated::DEFAULT)
    );
    assert_eq!(Negotiated::default(), Negotiated::DEFAULT);
    assert_eq!(Negotiated::DEFAULT.blksize, DEFAULT_BLKSIZE);
    assert_eq!(Negotiated::DEFAULT.windowsize, 1);
}

#[test]
fn raised_values_are_refused() {
    let list = oack_list(b"blksize\x001429\x00");
    assert_eq!(
        negotiate(&ASKED, &list),
        Err(NegotiationError::BlksizeRaised {
            requested: 1428,
            offered: 1429
        })
    );
    let list = oack_list(b"windowsize\x009\x00");
    assert_eq!(
        negotiate(&ASKED, &list),
        Err(NegotiationError::WindowsizeRaised {
            requested: 8,
            offered: 9
        })
    );
    for offered in [b"1", b"3"] {
        let mut raw = b"timeout\x00".to_vec();
        raw.extend_from_slice(offered);
        raw.push(0);
        assert!(matches!(
            negotiate(&ASKED, &oack_list(&raw)),
            Err(NegotiationError::TimeoutChanged { requested: 2, .. })
        ));
    }
}

#[test]
fn unrequested_options_are_refused() {
    let asked = OptionSet {
        blksize: Some(1024),
        ..OptionSet::NONE
    };
    for (raw, kind) in [
        (&b"windowsize\x004\x00"[..], OptionKind::Windowsize),
        (b"timeout\x005\x00", OptionKind::Timeout),
        (b"tsize\x005\x00", OptionKind::Tsize),
    ] {
        assert_eq!(
            negotiate(&asked, &oack_list(raw)),
            Err(NegotiationError::Unrequested(kind))
        );
    }
    assert_eq!(
        negotiate(&OptionSet::NONE, &oack_list(b"blksize\x00512\x00")),
        Err(NegotiationError::Unrequested(OptionKind::Blksize))
    );
    assert_eq!(
        negotiate(&ASKED, &oack_list(b"blksize\x00512\x00x-foo\x001\x00")),
        Err(NegotiationError::UnknownOption)
    );
}

#[test]
fn messages_name_the_problem() {
    assert!(NegotiationError::BlksizeRaised {
        requested: 1,
        offered: 2
    }
    .message()
    .contains("blksize raised"));
    assert!(NegotiationError::Unrequested(OptionKind::Windowsize)
        .message()
        .contains("windowsize"));
    let e = TransferError::Negotiation(NegotiationError::UnknownOption);
    assert_eq!(e.reply().unwrap().0, ErrorCode::OptionNegotiation);
    assert_eq!(
        NegotiationError::TimeoutChanged {
            requested: 2,
            offered: 3
        }
        .to_string(),
        "server changed timeout from 2 to 3"
    );
}

fn packet(p: Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 2000];
    let len = p.encode(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

fn oack(set: &OptionSet) -> Vec<u8> {
    let mut buf = vec![0u8; 200];
    let len = encode_oack(&mut buf, set).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn receiver_accepts_oack_and_acks_zero() {
    let mut rx = Receiver::new(ASKED);
    let mut out = [0u8; 512];
    let len = rx.write_request(b"img", &mut out).unwrap();
    assert_eq!(
        Packet::decode(&out[..len]).unwrap(),
        Packet::Rrq(Request {
            filename: b"img",
            mode: Mode::Octet,
            options: OptionList::parse(
                b"blksize\x001428\x00timeout\x002\x00tsize\x000\x00windowsize\x008\x00"
            )
            .unwrap(),
        })
    );
    assert!(rx.awaiting_reply());
    assert_eq!(rx.negotiated(), None);
    let reply = oack(&OptionSet {
        blksize: Some(1024),
        tsize: Some(5000),
        ..OptionSet::NONE
    });
    let RecvEvent::Send(len) = rx.on_packet(true, &reply, &mut out) else {
        panic!("no ACK 0");
    };
    assert_eq!(Packet::decode(&out[..len]), Ok(Packet::Ack { block: 0 }));
    assert!(!rx.awaiting_reply());
    assert_eq!(
        rx.negotiated(),
        Some(&Negotiated {
            blksize: 1024,
            windowsize: 1,
            timeout: None,
            tsize: Some(5000),
        })
    );
    // A repeated OACK changes nothing.
    assert_eq!(rx.on_packet(true, &reply, &mut out), RecvEvent::Ignored);
    // The blocks are 1024 bytes now.
    let data = vec![7u8; 1024];
    let pkt = packet(Packet::Data {
        block: 1,
        data: &data,
    });
    let event = rx.on_packet(true, &pkt, &mut out);
    assert!(matches!(
        event,
        RecvEvent::Data {
            offset: 0,
            ack: Some(4),
            ..
        }
    ));
}

#[test]
fn receiver_gets_data_1_instead_of_oack() {
    let mut rx = Receiver::new(ASKED);
    let mut out = [0u8; 512];
    let data = vec![1u8; 512];
    let pkt = packet(Packet::Data {
        block: 1,
        data: &data,
    });
    let event = rx.on_packet(true, &pkt, &mut out);
    let RecvEvent::Data {
        offset: 0,
        data: got,
        ack: Some(len),
    } = event
    else {
        panic!("unexpected {event:?}");
    };
    assert_eq!(got, &data[..]);
    assert_eq!(Packet::decode(&out[..len]), Ok(Packet::Ack { block: 1 }));
    assert_eq!(rx.negotiated(), Some(&Negotiated::DEFAULT));
    // RFC 1350 block size: a 600-byte block is a protocol error.
    let big = vec![0u8; 600];
    let pkt = packet(Packet::Data {
        block: 2,
        data: &big,
    });
    let event = rx.on_packet(true, &pkt, &mut out);
    let RecvEvent::Failed {
        error:
            TransferError::OversizedBlock {
                len: 600,
                blksize: 512,
            },
        send: Some(len),
    } = event
    else {
        panic!("unexpected {event:?}");
    };
    assert!(matches!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::IllegalOperation,
            ..
        })
    ));
    assert!(rx.is_failed());
}

#[test]
fn receiver_ignores_other_data_while_waiting() {
    let mut rx = Receiver::new(ASKED);
    let mut out = [0u8; 512];
    let pkt = packet(Packet::Data {
        block: 2,
        data: b"x",
    });
    assert_eq!(rx.on_packet(true, &pkt, &mut out), RecvEvent::Ignored);
    assert!(rx.awaiting_reply());
}

#[test]
fn receiver_refuses_bad_oacks_with_error_8() {
    let cases: [(&[u8], NegotiationError); 4] = [
        (
            b"\x00\x06blksize\x002000\x00",
            NegotiationError::BlksizeRaised {
                requested: 1428,
                offered: 2000,
            },
        ),
        (b"\x00\x06x-extra\x001\x00", NegotiationError::UnknownOption),
        (
            b"\x00\x06timeout\x009\x00",
            NegotiationError::TimeoutChanged {
                requested: 2,
                offered: 9,
            },
        ),
        (
            b"\x00\x06windowsize\x00100\x00",
            NegotiationError::WindowsizeRaised {
                requested: 8,
                offered: 100,
            },
        ),
    ];
    for (reply, want) in cases {
        let mut rx = Receiver::new(ASKED);
        let mut out = [0u8; 512];
        let event = rx.on_packet(true, reply, &mut out);
        let RecvEvent::Failed {
            error: TransferError::Negotiation(got),
            send: Some(len),
        } = event
        else {
            panic!("unexpected {event:?}");
        };
        assert_eq!(got, want);
        assert_eq!(
            Packet::decode(&out[..len]),
            Ok(Packet::Error {
                code: ErrorCode::OptionNegotiation,
                message: want.message().as_bytes(),
            })
        );
        assert!(rx.is_failed());
        assert_eq!(rx.on_timeout(&mut out), RecvTimeout::Idle);
    }
    // Asking for nothing and getting an OACK with an option.
    let mut rx = Receiver::new(OptionSet::NONE);
    let mut out = [0u8; 512];
    assert!(matches!(
        rx.on_packet(true, b"\x00\x06tsize\x001\x00", &mut out),
        RecvEvent::Failed {
            error: TransferError::Negotiation(NegotiationError::Unrequested(OptionKind::Tsize)),
            send: Some(_),
        }
    ));
}

#[test]
fn receiver_reports_error_replies() {
    let mut rx = Receiver::new(ASKED);
    let mut out = [0u8; 512];
    let reply = b"\x00\x05\x00\x01File not found\x00";
    let event = rx.on_packet(true, reply, &mut out);
    assert_eq!(
        event,
        RecvEvent::Failed {
            error: TransferError::Remote {
                code: ErrorCode::FileNotFound,
                message: b"File not found",
            },
            send: None,
        }
    );
    assert_eq!(
        TransferError::Remote {
            code: ErrorCode::FileNotFound,
            message: b"nope\n",
        }
        .to_string(),
        "peer error File not found (1): \"nope\\n\""
    );
    assert!(rx.is_failed());
    // Error 8 from the server (it refused our options).
    let mut rx = Receiver::new(ASKED);
    let event = rx.on_packet(true, b"\x00\x05\x00\x08no\x00", &mut out);
    assert!(matches!(
        event,
        RecvEvent::Failed {
            error: TransferError::Remote {
                code: ErrorCode::OptionNegotiation,
                ..
            },
            send: None,
        }
    ));
}

#[test]
fn sender_first_replies() {
    let asked = OptionSet {
        blksize: Some(1024),
        tsize: Some(3000),
        windowsize: Some(4),
        ..OptionSet::NONE
    };
    let mut out = [0u8; 2000];

    // OACK: DATA 1 follows at once, with the negotiated block size.
    let mut tx = Sender::new(asked);
    let len = tx.write_request(b"dump", &mut out).unwrap();
    assert!(matches!(
        Packet::decode(&out[..len]),
        Ok(Packet::Wrq(Request {
            filename: b"dump",
            ..
        }))
    ));
    assert_eq!(tx.next_block(), None);
    let reply = oack(&OptionSet {
        blksize: Some(700),
        tsize: Some(3000),
        ..OptionSet::NONE
    });
    assert_eq!(tx.on_packet(true, &reply, &mut out), SendEvent::Transmit);
    assert_eq!(
        tx.next_block(),
        Some(BlockRequest {
            block: 1,
            offset: 0,
            max_len: 700
        })
    );
    assert_eq!(tx.negotiated().unwrap().windowsize, 1);
    assert_eq!(tx.on_packet(true, &reply, &mut out), SendEvent::Ignored);

    // ACK 0: the server ignored the options.
    let mut tx = Sender::new(asked);
    assert_eq!(
        tx.on_packet(true, b"\x00\x04\x00\x00", &mut out),
        SendEvent::Transmit
    );
    assert_eq!(tx.negotiated(), Some(&Negotiated::DEFAULT));
    assert_eq!(tx.next_block().unwrap().max_len, 512);

    // Another ACK while waiting is ignored.
    let mut tx = Sender::new(asked);
    assert_eq!(
        tx.on_packet(true, b"\x00\x04\x00\x01", &mut out),
        SendEvent::Ignored
    );
    assert!(tx.awaiting_reply());

    // A bad OACK gets ERROR 8.
    let mut tx = Sender::new(asked);
    let event = tx.on_packet(true, b"\x00\x06blksize\x002048\x00", &mut out);
    let SendEvent::Failed {
        error: TransferError::Negotiation(NegotiationError::BlksizeRaised { .. }),
        send: Some(len),
    } = event
    else {
        panic!("unexpected {event:?}");
    };
    assert!(matches!(
        Packet::decode(&out[..len]),
        Ok(Packet::Error {
            code: ErrorCode::OptionNegotiation,
            ..
        })
    ));
    assert!(tx.is_failed());

    // An ERROR reply.
    let mut tx = Sender::new(asked);
    assert!(matches!(
        tx.on_packet(true, b"\x00\x05\x00\x06exists\x00", &mut out),
        SendEvent::Failed {
            error: TransferError::Remote {
                code: ErrorCode::FileExists,
                message: b"exists"
            },
            send: None
        }
    ));
}
