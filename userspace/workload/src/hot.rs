// SPDX-License-Identifier: GPL-2.0

//! The hot set: pages spread over the workload's space that the readiness
//! answer (`ready`) checks, in a fixed pseudo-random order, so that the
//! time to the first answer after a lazy resume depends on a working set,
//! as a real application's does.

use crate::pattern::splitmix64;

/// Bytes of one hot page.
pub const PAGE: u64 = 4096;

/// The hot pages, in the order `ready` checks them.
pub struct HotSet {
    pages: Vec<u64>,
}

impl HotSet {
    /// `mib` MiB of distinct pages (all of them if the space is smaller)
    /// of a space of `total` bytes, chosen and ordered by `seed`.
    pub fn new(total: u64, mib: u64, seed: u64) -> Self {
        let n = total / PAGE;
        let want = (mib.saturating_mul(1 << 20) / PAGE).min(n) as usize;
        if want == 0 {
            return Self { pages: Vec::new() };
        }
        // The first `want` pages of a Fisher-Yates shuffle of them all.
        let mut all: Vec<u64> = (0..n).collect();
        let mut x = seed;
        for i in 0..want {
            x = splitmix64(x);
            let j = i + (x % (n - i as u64)) as usize;
            all.swap(i, j);
        }
        all.truncate(want);
        Self { pages: all }
    }

    /// The hot pages' numbers (offset / [`PAGE`]), in check order.
    pub fn pages(&self) -> &[u64] {
        &self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn pages_are_distinct_inside_the_space_and_follow_the_seed() {
        let total = 32 << 20;
        let h = HotSet::new(total, 4, 7);
        assert_eq!(h.pages().len(), 1024);
        assert!(h.pages().iter().all(|&p| p < total / PAGE));
        assert_eq!(h.pages().iter().collect::<HashSet<_>>().len(), 1024);
        assert_eq!(h.pages(), HotSet::new(total, 4, 7).pages());
        assert_ne!(h.pages(), HotSet::new(total, 4, 8).pages());
        // Spread: not a run of neighbours.
        let spread = h.pages().iter().max().unwrap() - h.pages().iter().min().unwrap();
        assert!(spread > total / PAGE / 2);
    }

    #[test]
    fn sizes_are_bounded_by_the_space() {
        assert!(HotSet::new(1 << 20, 0, 1).pages().is_empty());
        assert_eq!(HotSet::new(1 << 20, 4, 1).pages().len(), 256);
    }
}
