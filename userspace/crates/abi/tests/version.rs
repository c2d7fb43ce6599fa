// SPDX-License-Identifier: GPL-2.0

//! Round trips of the GET_VERSION answer.

use lazyresume_abi::{TftpXfer, Version, TFTP_FILENAME_LEN, VERSION_LEN};
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
        let back = Version::from_bytes(&v.to_bytes());
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
        let back = TftpXfer::from_bytes(&t.to_bytes());
        prop_assert_eq!(back, t);
        let want = &name.as_bytes()[..name.len().min(TFTP_FILENAME_LEN - 1)];
        prop_assert_eq!(back.filename_bytes(), Some(want));
    }
}
