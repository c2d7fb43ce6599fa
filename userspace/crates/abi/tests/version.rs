// SPDX-License-Identifier: GPL-2.0

//! Round trips of the GET_VERSION answer.

use lazyresume_abi::{Version, VERSION_LEN};
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
