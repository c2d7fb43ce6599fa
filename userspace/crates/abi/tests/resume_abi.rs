// SPDX-License-Identifier: GPL-2.0

//! The capture and resume structures of ABI 1.3 survive a round trip
//! through their bytes: every byte belongs to exactly one field.

use lazyresume_abi as abi;
use proptest::prelude::*;

proptest! {
    #[test]
    fn evict_task_round_trip(b in prop::collection::vec(any::<u8>(), abi::EVICT_TASK_SIZE)) {
        let bytes: [u8; abi::EVICT_TASK_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::EvictTask::from_bytes(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn page_hashes_round_trip(b in prop::collection::vec(any::<u8>(), abi::PAGE_HASHES_SIZE)) {
        let bytes: [u8; abi::PAGE_HASHES_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::PageHashes::from_bytes(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn resume_round_trip(b in prop::collection::vec(any::<u8>(), abi::RESUME_SIZE)) {
        let bytes: [u8; abi::RESUME_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::Resume::from_bytes(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn adopt_round_trip(b in prop::collection::vec(any::<u8>(), abi::ADOPT_SIZE)) {
        let bytes: [u8; abi::ADOPT_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::Adopt::from_bytes(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn read_pages_round_trip(b in prop::collection::vec(any::<u8>(), abi::READ_PAGES_SIZE)) {
        let bytes: [u8; abi::READ_PAGES_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::ReadPages::from_bytes(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn status_round_trip(b in prop::collection::vec(any::<u8>(), abi::STATUS_SIZE)) {
        let bytes: [u8; abi::STATUS_SIZE] = b.try_into().unwrap();
        prop_assert_eq!(abi::Status::from_bytes(&bytes).to_bytes(), bytes);
    }
}

#[test]
fn strings_are_truncated_and_terminated() {
    let mut id = abi::NetIdentity::default();
    id.set_ifname(b"a-very-long-interface-name");
    assert_eq!(abi::c_str_bytes(&id.ifname), Some(&b"a-very-long-int"[..]));
    let mut r = abi::Resume::new(id, &[b'x'; 300]);
    assert_eq!(
        abi::c_str_bytes(&r.image).unwrap().len(),
        abi::IMAGE_NAME_LEN - 1
    );
    r.set_reason(b"manifest missing");
    assert_eq!(abi::c_str_bytes(&r.reason), Some(&b"manifest missing"[..]));
    assert_eq!(abi::c_str_bytes(&[1, 2, 3]), None);
}
