// SPDX-License-Identifier: GPL-2.0

//! The packet codec: every packet type, every decode error, round trips.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use lazyresume_tftp::*;
use proptest::prelude::*;

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let len = packet.encode(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn rrq_with_options() {
    let bytes = b"\x00\x01boot/image\x00OcTeT\x00BLKSIZE\x001468\x00tsize\x000\x00x-vendor\x00\x00WindowSize\x0016\x00timeout\x005\x00";
    let Packet::Rrq(request) = Packet::decode(bytes).unwrap() else {
        panic!("not an RRQ");
    };
    assert_eq!(request.filename, b"boot/image");
    assert_eq!(request.mode, Mode::Octet);
    let got: Vec<_> = request.options.iter().collect();
    assert_eq!(
        got,
        [
            TftpOption::Blksize(1468),
            TftpOption::Tsize(0),
            TftpOption::Unknown {
                name: b"x-vendor",
                value: b""
            },
            TftpOption::Windowsize(16),
            TftpOption::Timeout(5),
        ]
    );
    assert!(request.options.has_unknown());
    assert_eq!(
        request.options.known(),
        OptionSet {
            blksize: Some(1468),
            timeout: Some(5),
            tsize: Some(0),
            windowsize: Some(16),
        }
    );
    // Re-encoding lowers the mode and keeps the options as they were.
    let again = encode(&Packet::Rrq(request));
    assert_eq!(&again[..19], b"\x00\x01boot/image\x00octet\x00");
    assert_eq!(&again[19..], &bytes[19..]);
}

#[test]
fn wrq_and_modes() {
    for (mode, want) in [
        (&b"netascii"[..], Mode::Netascii),
        (b"NETASCII", Mode::Netascii),
        (b"mail", Mode::Mail),
        (b"Octet", Mode::Octet),
    ] {
        let mut bytes = b"\x00\x02f\x00".to_vec();
        bytes.extend_from_slice(mode);
        bytes.push(0);
        let packet = Packet::decode(&bytes).unwrap();
        assert_eq!(
            packet,
            Packet::Wrq(Request {
                filename: b"f",
                mode: want,
                options: OptionList::EMPTY,
            })
        );
        assert_eq!(packet.opcode(), Opcode::Wrq);
    }
    // An empty file name is the server's business.
    assert!(Packet::decode(b"\x00\x01\x00octet\x00").is_ok());
}

#[test]
fn encode_request_writes_octet_and_options() {
    let mut buf = [0u8; 128];
    let opts = OptionSet {
        blksize: Some(1428),
        timeout: Some(3),
        tsize: Some(0),
        windowsize: Some(8),
    };
    let len = encode_request(&mut buf, RequestKind::Read, b"pages/0", &opts).unwrap();
    assert_eq!(
        &buf[..len],
        b"\x00\x01pages/0\x00octet\x00blksize\x001428\x00timeout\x003\x00tsize\x000\x00windowsize\x008\x00"
    );
    let len = encode_request(&mut buf, RequestKind::Write, b"up", &OptionSet::NONE).unwrap();
    assert_eq!(&buf[..len], b"\x00\x02up\x00octet\x00");
    let big = OptionSet {
        tsize: Some(u64::MAX),
        ..OptionSet::NONE
    };
    let len = encode_request(&mut buf, RequestKind::Write, b"up", &big).unwrap();
    assert_eq!(
        &buf[..len],
        b"\x00\x02up\x00octet\x00tsize\x0018446744073709551615\x00"
    );
    let Packet::Wrq(request) = Packet::decode(&buf[..len]).unwrap() else {
        panic!("not a WRQ");
    };
    assert_eq!(request.options.known(), big);
}

#[test]
fn encode_request_errors() {
    let mut buf = [0u8; 64];
    assert_eq!(
        encode_request(&mut buf, RequestKind::Read, b"a\0b", &OptionSet::NONE),
        Err(EncodeError::ContainsNul)
    );
    for (set, kind) in [
        (
            OptionSet {
                blksize: Some(7),
                ..OptionSet::NONE
            },
            OptionKind::Blksize,
        ),
        (
            OptionSet {
                blksize: Some(65465),
                ..OptionSet::NONE
            },
            OptionKind::Blksize,
        ),
        (
            OptionSet {
                timeout: Some(0),
                ..OptionSet::NONE
            },
            OptionKind::Timeout,
        ),
        (
            OptionSet {
                windowsize: Some(0),
                ..OptionSet::NONE
            },
            OptionKind::Windowsize,
        ),
    ] {
        assert_eq!(
            encode_request(&mut buf, RequestKind::Read, b"f", &set),
            Err(EncodeError::BadOptionValue(kind))
        );
        assert_eq!(set.validate(), Err(kind));
        assert_eq!(
            encode_oack(&mut buf, &set),
            Err(EncodeError::BadOptionValue(kind))
        );
    }
    // Every prefix of the buffer is too small, the exact size is enough.
    let opts = OptionSet {
        blksize: Some(512),
        ..OptionSet::NONE
    };
    let len = encode_request(&mut buf, RequestKind::Read, b"file", &opts).unwrap();
    for short in 0..len {
        assert_eq!(
            encode_request(&mut buf[..short], RequestKind::Read, b"file", &opts),
            Err(EncodeError::BufferTooSmall)
        );
    }
    assert_eq!(
        encode_request(&mut buf[..len], RequestKind::Read, b"file", &opts),
        Ok(len)
    );
}

#[test]
fn data() {
    assert_eq!(
        Packet::decode(b"\x00\x03\x12\x34hello").unwrap(),
        Packet::Data {
            block: 0x1234,
            data: b"hello"
        }
    );
    assert_eq!(
        Packet::decode(b"\x00\x03\xff\xff").unwrap(),
        Packet::Data {
            block: 65535,
            data: b""
        }
    );
    let mut buf = [0u8; 16];
    assert_eq!(encode_data(&mut buf, 7, b"abc"), Ok(DATA_HEADER_LEN + 3));
    assert_eq!(&buf[..7], b"\x00\x03\x00\x07abc");
    assert_eq!(
        encode_data(&mut buf[..6], 7, b"abc"),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn ack() {
    assert_eq!(
        Packet::decode(b"\x00\x04\x00\x00").unwrap(),
        Packet::Ack { block: 0 }
    );
    assert_eq!(
        Packet::decode(b"\x00\x04\xab\xcd").unwrap(),
        Packet::Ack { block: 0xabcd }
    );
    let mut buf = [0u8; 4];
    assert_eq!(encode_ack(&mut buf, 0x0102), Ok(ACK_LEN));
    assert_eq!(buf, *b"\x00\x04\x01\x02");
    assert_eq!(
        encode_ack(&mut buf[..3], 1),
        Err(EncodeError::BufferTooSmall)
    );
}

#[test]
fn error_packets_and_codes() {
    assert_eq!(
        Packet::decode(b"\x00\x05\x00\x01no such file\x00").unwrap(),
        Packet::Error {
            code: ErrorCode::FileNotFound,
            message: b"no such file"
        }
    );
    assert_eq!(
        Packet::decode(b"\x00\x05\x01\x00\x00").unwrap(),
        Packet::Error {
            code: ErrorCode::Other(256),
            message: b""
        }
    );
    for value in 0..=20u16 {
        let code = ErrorCode::from_u16(value);
        assert_eq!(code.as_u16(), value);
        assert_eq!(u16::from(code), value);
        assert_eq!(ErrorCode::from(value), code);
        assert_eq!(matches!(code, ErrorCode::Other(_)), value > 8);
    }
    assert_eq!(ErrorCode::from_u16(8), ErrorCode::OptionNegotiation);
    assert_eq!(ErrorCode::from_u16(5), ErrorCode::UnknownTransferId);
    let mut buf = [0u8; 64];
    let len = encode_error(&mut buf, ErrorCode::DiskFull, b"full").unwrap();
    assert_eq!(&buf[..len], b"\x00\x05\x00\x03full\x00");
    assert_eq!(
        encode_error(&mut buf, ErrorCode::DiskFull, b"f\0ull"),
        Err(EncodeError::ContainsNul)
    );
    let len = encode_unknown_tid(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"\x00\x05\x00\x05Unknown transfer ID\x00");
}

#[test]
fn oack() {
    let bytes = b"\x00\x06blksize\x00512\x00tsize\x0099\x00";
    let Packet::Oack(list) = Packet::decode(bytes).unwrap() else {
        panic!("not an OACK");
    };
    assert_eq!(
        list.iter().collect::<Vec<_>>(),
        [TftpOption::Blksize(512), TftpOption::Tsize(99)]
    );
    assert_eq!(encode(&Packet::Oack(list)), bytes);
    assert_eq!(
        Packet::decode(b"\x00\x06").unwrap(),
        Packet::Oack(OptionList::EMPTY)
    );
    let mut buf = [0u8; 64];
    let set = OptionSet {
        blksize: Some(1024),
        windowsize: Some(4),
        ..OptionSet::NONE
    };
    let len = encode_oack(&mut buf, &set).unwrap();
    assert_eq!(
        &buf[..len],
        b"\x00\x06blksize\x001024\x00windowsize\x004\x00"
    );
}

#[test]
fn decode_errors() {
    use DecodeError::*;
    let cases: &[(&[u8], DecodeError)] = &[
        (b"", Truncated),
        (b"\x00", Truncated),
        (b"\x00\x03\x00", Truncated),
        (b"\x00\x04\x00", Truncated),
        (b"\x00\x05\x00", Truncated),
        (b"\x00\x00", BadOpcode(0)),
        (b"\x00\x07\x00\x01", BadOpcode(7)),
        (b"\xff\xff", BadOpcode(0xffff)),
        (b"\x00\x04\x00\x01\x00", TrailingBytes),
        (b"\x00\x05\x00\x01msg\x00x", TrailingBytes),
        (b"\x00\x05\x00\x01msg", MissingNul),
        (b"\x00\x05\x00\x01", MissingNul),
        (b"\x00\x01file", MissingNul),
        (b"\x00\x01file\x00octet", MissingNul),
        (b"\x00\x01", MissingNul),
        (b"\x00\x01file\x00binary\x00", BadMode),
        (b"\x00\x01file\x00\x00", BadMode),
        (b"\x00\x01f\x00octet\x00blksize", MissingNul),
        (b"\x00\x01f\x00octet\x00blksize\x00", MissingOptionValue),
        (b"\x00\x01f\x00octet\x00blksize\x00512", MissingNul),
        (b"\x00\x01f\x00octet\x00\x00512\x00", EmptyOptionName),
        (b"\x00\x06\x00\x00", EmptyOptionName),
        (
            b"\x00\x01f\x00octet\x00blksize\x007\x00",
            BadOptionValue(OptionKind::Blksize),
        ),
        (
            b"\x00\x01f\x00octet\x00blksize\x0065465\x00",
            BadOptionValue(OptionKind::Blksize),
        ),
        (
            b"\x00\x06blksize\x00\x00",
            BadOptionValue(OptionKind::Blksize),
        ),
        (
            b"\x00\x06blksize\x00 512\x00",
            BadOptionValue(OptionKind::Blksize),
        ),
        (
            b"\x00\x06blksize\x00-1\x00",
            BadOptionValue(OptionKind::Blksize),
        ),
        (
            b"\x00\x06timeout\x000\x00",
            BadOptionValue(OptionKind::Timeout),
        ),
        (
            b"\x00\x06timeout\x00256\x00",
            BadOptionValue(OptionKind::Timeout),
        ),
        (
            b"\x00\x06tsize\x0018446744073709551616\x00",
            BadOptionValue(OptionKind::Tsize),
        ),
        (
            b"\x00\x06tsize\x00abc\x00",
            BadOptionValue(OptionKind::Tsize),
        ),
        (
            b"\x00\x06windowsize\x000\x00",
            BadOptionValue(OptionKind::Windowsize),
        ),
        (
            b"\x00\x06windowsize\x0065536\x00",
            BadOptionValue(OptionKind::Windowsize),
        ),
        (
            b"\x00\x06blksize\x00512\x00BlkSize\x00512\x00",
            DuplicateOption(OptionKind::Blksize),
        ),
        (
            b"\x00\x01f\x00octet\x00tsize\x000\x00x\x00y\x00TSIZE\x001\x00",
            DuplicateOption(OptionKind::Tsize),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(Packet::decode(bytes), Err(*want), "decoding {bytes:?}");
    }
}

#[test]
fn option_edge_values() {
    let ok: &[(&[u8], TftpOption<'_>)] = &[
        (b"\x00\x06blksize\x008\x00", TftpOption::Blksize(8)),
        (b"\x00\x06blksize\x0065464\x00", TftpOption::Blksize(65464)),
        (b"\x00\x06blksize\x00000512\x00", TftpOption::Blksize(512)),
        (b"\x00\x06timeout\x001\x00", TftpOption::Timeout(1)),
        (b"\x00\x06timeout\x00255\x00", TftpOption::Timeout(255)),
        (
            b"\x00\x06tsize\x0018446744073709551615\x00",
            TftpOption::Tsize(u64::MAX),
        ),
        (
            b"\x00\x06windowsize\x0065535\x00",
            TftpOption::Windowsize(65535),
        ),
    ];
    for (bytes, want) in ok {
        let Packet::Oack(list) = Packet::decode(bytes).unwrap() else {
            panic!("not an OACK");
        };
        assert_eq!(list.iter().collect::<Vec<_>>(), [*want]);
    }
    // Unknown options may repeat and have empty values.
    assert!(OptionList::parse(b"x\x00\x00x\x001\x00").is_ok());
}

#[test]
fn option_kinds() {
    for kind in [
        OptionKind::Blksize,
        OptionKind::Timeout,
        OptionKind::Tsize,
        OptionKind::Windowsize,
    ] {
        assert_eq!(OptionKind::from_name(kind.name().as_bytes()), Some(kind));
        let upper = kind.name().to_ascii_uppercase();
        assert_eq!(OptionKind::from_name(upper.as_bytes()), Some(kind));
    }
    assert_eq!(OptionKind::from_name(b"blksize2"), None);
    assert_eq!(OptionKind::from_name(b""), None);
}

#[test]
fn error_display() {
    assert_eq!(DecodeError::Truncated.to_string(), "truncated packet");
    assert_eq!(
        DecodeError::DuplicateOption(OptionKind::Windowsize).to_string(),
        "duplicate option windowsize"
    );
    assert_eq!(
        EncodeError::BufferTooSmall.to_string(),
        "output buffer too small"
    );
    assert_eq!(
        ErrorCode::OptionNegotiation.to_string(),
        "Option negotiation failed (8)"
    );
}

// An arbitrary packet, owning its bytes.
#[derive(Clone, Debug)]
enum Owned {
    Request {
        write: bool,
        filename: Vec<u8>,
        mode: Mode,
        options: Vec<u8>,
    },
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, Vec<u8>),
    Oack(Vec<u8>),
}

impl Owned {
    fn packet(&self) -> Packet<'_> {
        match self {
            Owned::Request {
                write,
                filename,
                mode,
                options,
            } => {
                let request = Request {
                    filename,
                    mode: *mode,
                    options: OptionList::parse(options).unwrap(),
                };
                if *write {
                    Packet::Wrq(request)
                } else {
                    Packet::Rrq(request)
                }
            }
            Owned::Data(block, data) => Packet::Data {
                block: *block,
                data,
            },
            Owned::Ack(block) => Packet::Ack { block: *block },
            Owned::Error(code, message) => Packet::Error {
                code: ErrorCode::from_u16(*code),
                message,
            },
            Owned::Oack(options) => Packet::Oack(OptionList::parse(options).unwrap()),
        }
    }
}

fn random_case(name: &str, flips: u8) -> Vec<u8> {
    name.bytes()
        .enumerate()
        .map(|(i, b)| {
            if flips >> (i % 8) & 1 == 1 {
                b.to_ascii_uppercase()
            } else {
                b
            }
        })
        .collect()
}

/// Option bytes: some known options (each at most once, any case, in
/// range, maybe with leading zeros) and unknown ones, in any order.
fn option_bytes() -> impl Strategy<Value = Vec<u8>> {
    let known = (
        proptest::option::of(MIN_BLKSIZE..=MAX_BLKSIZE),
        proptest::option::of(1u8..=255),
        proptest::option::of(any::<u64>()),
        proptest::option::of(1u16..=65535),
    );
    let unknown = proptest::collection::vec(("x[a-z0-9-]{0,8}", "[ -~]{0,8}"), 0..3);
    (known, unknown, any::<u64>(), 0usize..3).prop_map(|((b, t, s, w), unknown, flips, zeros)| {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let known = [
            ("blksize", b.map(u64::from)),
            ("timeout", t.map(u64::from)),
            ("tsize", s),
            ("windowsize", w.map(u64::from)),
        ];
        for (i, (name, value)) in known.into_iter().enumerate() {
            if let Some(value) = value {
                let digits = format!("{}{}", "0".repeat(zeros), value);
                pairs.push((random_case(name, (flips >> (8 * i)) as u8), digits.into()));
            }
        }
        for (name, value) in unknown {
            pairs.push((name.into_bytes(), value.into_bytes()));
        }
        // A deterministic shuffle driven by `flips`.
        let n = pairs.len();
        for i in (1..n).rev() {
            let j = (flips.rotate_left(i as u32) as usize) % (i + 1);
            pairs.swap(i, j);
        }
        let mut raw = Vec::new();
        for (name, value) in pairs {
            raw.extend_from_slice(&name);
            raw.push(0);
            raw.extend_from_slice(&value);
            raw.push(0);
        }
        raw
    })
}

fn non_nul_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..max)
}

fn owned_packet() -> impl Strategy<Value = Owned> {
    let mode = prop_oneof![Just(Mode::Octet), Just(Mode::Netascii), Just(Mode::Mail)];
    prop_oneof![
        (any::<bool>(), non_nul_bytes(64), mode, option_bytes()).prop_map(
            |(write, filename, mode, options)| Owned::Request {
                write,
                filename,
                mode,
                options
            }
        ),
        (
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..1500)
        )
            .prop_map(|(b, d)| Owned::Data(b, d)),
        any::<u16>().prop_map(Owned::Ack),
        (any::<u16>(), non_nul_bytes(64)).prop_map(|(c, m)| Owned::Error(c, m)),
        option_bytes().prop_map(Owned::Oack),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_decode_round_trip(owned in owned_packet()) {
        let packet = owned.packet();
        let bytes = encode(&packet);
        let decoded = Packet::decode(&bytes).unwrap();
        prop_assert_eq!(decoded, packet);
        // The encoding is exactly as long as needed.
        let mut exact = vec![0u8; bytes.len()];
        prop_assert_eq!(packet.encode(&mut exact), Ok(bytes.len()));
        if !bytes.is_empty() {
            let mut short = vec![0u8; bytes.len() - 1];
            prop_assert_eq!(packet.encode(&mut short), Err(EncodeError::BufferTooSmall));
        }
    }

    #[test]
    fn option_sets_round_trip(
        blksize in proptest::option::of(MIN_BLKSIZE..=MAX_BLKSIZE),
        timeout in proptest::option::of(1u8..=255),
        tsize in proptest::option::of(any::<u64>()),
        windowsize in proptest::option::of(1u16..=65535),
        filename in non_nul_bytes(100),
    ) {
        let set = OptionSet { blksize, timeout, tsize, windowsize };
        let mut buf = [0u8; 256];
        let len = encode_oack(&mut buf, &set).unwrap();
        let Packet::Oack(list) = Packet::decode(&buf[..len]).unwrap() else {
            panic!("not an OACK");
        };
        prop_assert_eq!(list.known(), set);
        prop_assert!(!list.has_unknown());
        let len = encode_request(&mut buf, RequestKind::Read, &filename, &set).unwrap();
        let Packet::Rrq(request) = Packet::decode(&buf[..len]).unwrap() else {
            panic!("not an RRQ");
        };
        prop_assert_eq!(request.filename, &filename[..]);
        prop_assert_eq!(request.mode, Mode::Octet);
        prop_assert_eq!(request.options.known(), set);
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(packet) = Packet::decode(&bytes) {
            let again = encode(&packet);
            prop_assert_eq!(Packet::decode(&again), Ok(packet));
        }
    }

    // Bytes that look like packets: a valid opcode and NUL-rich bodies, so
    // the option parser gets exercised.
    #[test]
    fn decode_never_panics_structured(
        opcode in 0u16..8,
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"blksize".to_vec()),
                Just(b"TSIZE".to_vec()),
                Just(b"windowsize".to_vec()),
                Just(b"timeout".to_vec()),
                Just(b"octet".to_vec()),
                "[0-9]{0,6}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..4),
            ],
            0..10,
        ),
        nul_mask in any::<u16>(),
    ) {
        let mut bytes = opcode.to_be_bytes().to_vec();
        for (i, part) in parts.iter().enumerate() {
            bytes.extend_from_slice(part);
            if nul_mask >> (i % 16) & 1 == 1 {
                bytes.push(0);
            }
        }
        if let Ok(packet) = Packet::decode(&bytes) {
            let again = encode(&packet);
            prop_assert_eq!(Packet::decode(&again), Ok(packet));
        }
    }
}
