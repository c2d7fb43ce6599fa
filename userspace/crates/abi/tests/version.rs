// SPDX-License-Identifier: GPL-2.0

//! Round trips of the ioctl structures through their bytes (zerocopy's
//! `as_bytes()` and `read_from_bytes()`, what the tool copies).

use lazyresume_abi::{FromBytes, IntoBytes, TftpXfer, Version, TFTP_FILENAME_LEN, VERSION_LEN};
use proptest::prelude::*;

#[test]
fn long_version_is_truncated_and_terminated() {
    let long = "x".repeat(100);
    let v = Version::new(&long, 0);
    assert_eq!(v.version[VERSION_LEN - 1], 0);
    assert_eq!(v.version_str().unwrap().len(), VERSION_LEN - 1);
}

#[test]
fn unterminated_version_is_rejected() {
    let mut v = Version::new("1.0", 0);
    v.version = [b'a'; VERSION_LEN];
    assert_eq!(v.version_str(), None);
}

proptest! {
    #[test]
    fn bytes_round_trip(s in "[ -~]{0,40}", features: u64) {
        let v = Version::new(&s, features);
        let back = Version::read_from_bytes(v.as_bytes()).unwrap();
        prop_assert_eq!(back, v);
        let want: String = s.chars().take(VERSION_LEN - 1).collect();
        prop_assert_eq!(back.version_str(), Some(want.as_str()));
    }
}

proptest! {
    #[test]
    fn tftp_xfer_round_trip(
        server: [u8; 4], port: u16, blksize: u16, windowsize: u16, flags: u16,
        rto_ms: u32, deadline_ms: u32, name in "[a-z/._-]{1,300}",
        length: u64, elapsed_ns: u64, retransmits: u32, sha: [u8; 32],
    ) {
        let mut t = TftpXfer::new(server, port, name.as_bytes());
        t.blksize = blksize;
        t.windowsize = windowsize;
        t.flags = flags;
        t.rto_ms = rto_ms;
        t.deadline_ms = deadline_ms;
        t.length = length;
        t.elapsed_ns = elapsed_ns;
        t.retransmits = retransmits;
        t.blksize_used = blksize ^ 1;
        t.windowsize_used = windowsize ^ 1;
        t.sha256 = sha;
        let back = TftpXfer::read_from_bytes(t.as_bytes()).unwrap();
        prop_assert_eq!(back, t);
        let want = &name.as_bytes()[..name.len().min(TFTP_FILENAME_LEN - 1)];
        prop_assert_eq!(back.filename_bytes(), Some(want));
    }
}

proptest! {
    #[test]
    fn evict_round_trip(v: [u64; 11]) {
        let e = lazyresume_abi::Evict {
            start: v[0], length: v[1], seen: v[2], evicted: v[3],
            skipped_shared: v[4], skipped_locked: v[5], skipped_large: v[6],
            skipped_pinned: v[7], skipped_ksm: v[8], skipped_zero: v[9],
            skipped_other: v[10],
        };
        let b = e.as_bytes();
        // Fields are laid out in declaration order, native byte order.
        prop_assert_eq!(&b[24..32], &v[3].to_ne_bytes()[..]);
        prop_assert_eq!(lazyresume_abi::Evict::read_from_bytes(b).unwrap(), e);
    }

    #[test]
    fn policy_and_inject_round_trip(a: u32, b: u32, c: u32, d: u32) {
        let p = lazyresume_abi::Policy { policy: a, deadline_ms: b };
        prop_assert_eq!(lazyresume_abi::Policy::read_from_bytes(p.as_bytes()).unwrap(), p);
        let m = lazyresume_abi::MemInject { offline: a, corrupt_fetches: b, flags: c, reserved: d };
        prop_assert_eq!(lazyresume_abi::MemInject::read_from_bytes(m.as_bytes()).unwrap(), m);
    }
}

proptest! {
    #[test]
    fn tftp_backend_round_trip(
        server: [u8; 4], port: u16, blksize: u16, rto_ms: u32, flags: u32,
        prefix in "[ -~]{0,200}", pages: u64, elapsed_ns: u64,
    ) {
        let mut t = lazyresume_abi::TftpBackend::new(server, port, prefix.as_bytes());
        t.blksize = blksize;
        t.rto_ms = rto_ms;
        t.flags = flags;
        t.pages = pages;
        t.elapsed_ns = elapsed_ns;
        let back = lazyresume_abi::TftpBackend::read_from_bytes(t.as_bytes()).unwrap();
        prop_assert_eq!(back, t);
        let want: Vec<u8> = prefix.bytes().take(lazyresume_abi::TFTP_PREFIX_LEN - 1).collect();
        prop_assert_eq!(back.prefix_bytes(), Some(&want[..]));
    }
}
