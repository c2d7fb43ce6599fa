// SPDX-License-Identifier: GPL-2.0

//! The deterministic content of the workload's memory: byte `i` of region
//! `r` is byte `i % 8` (little-endian) of
//! `splitmix64(seed ^ (r << 56) ^ (i / 8))`. SplitMix64 is a bijection, so
//! within a region every 8-byte word differs and at most one is zero: no
//! page is ever all zeros, and a page moved to a wrong place shows.

/// SplitMix64's output function (a bijection of `u64`).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 8-byte word `w` of region `region`.
fn word(seed: u64, region: u64, w: u64) -> [u8; 8] {
    splitmix64(seed ^ (region << 56) ^ w).to_le_bytes()
}

/// Fills `buf`, which is region `region` from its start.
pub fn fill(buf: &mut [u8], seed: u64, region: u64) {
    for (w, chunk) in (0..).zip(buf.chunks_mut(8)) {
        chunk.copy_from_slice(&word(seed, region, w)[..chunk.len()]);
    }
}

/// The index in `buf` of its first byte that differs from the content,
/// where `buf` starts at byte `offset` of region `region` (any offset).
pub fn first_bad(buf: &[u8], seed: u64, region: u64, offset: u64) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        let at = offset + i as u64;
        let start = (at % 8) as usize;
        let n = (8 - start).min(buf.len() - i);
        let want = &word(seed, region, at / 8)[start..start + n];
        if let Some(k) = (0..n).find(|&k| buf[i + k] != want[k]) {
            return Some(i + k);
        }
        i += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic() {
        let mut a = vec![0u8; 100];
        let mut b = vec![0u8; 100];
        fill(&mut a, 7, 1);
        fill(&mut b, 7, 1);
        assert_eq!(a, b);
        assert_eq!(a[..8], splitmix64(7 ^ (1 << 56)).to_le_bytes());
        assert_eq!(a[8..16], splitmix64(7 ^ (1 << 56) ^ 1).to_le_bytes());
    }

    #[test]
    fn checks_any_slice_and_finds_the_first_wrong_byte() {
        let mut b = vec![0u8; 3 * 4096 + 5];
        fill(&mut b, 1, 2);
        assert_eq!(first_bad(&b, 1, 2, 0), None);
        assert_eq!(first_bad(&b[8195..8300], 1, 2, 8195), None);
        assert_eq!(first_bad(&b[4096..], 1, 2, 4096), None);
        // The right bytes at the wrong place, or of another region or seed.
        assert_eq!(first_bad(&b[4096..8192], 1, 2, 0), Some(0));
        assert_eq!(first_bad(&b, 1, 3, 0), Some(0));
        assert_eq!(first_bad(&b, 2, 2, 0), Some(0));
        b[8197] ^= 0x10;
        b[9000] ^= 1;
        assert_eq!(first_bad(&b, 1, 2, 0), Some(8197));
        assert_eq!(first_bad(&b[8198..], 1, 2, 8198), Some(9000 - 8198));
    }

    #[test]
    fn regions_and_words_differ_and_no_page_is_zero() {
        let mut pages = vec![vec![0u8; 4096]; 4];
        for (r, page) in (0..).zip(pages.iter_mut()) {
            fill(page, 1, r);
        }
        for a in 0..4 {
            for b in a + 1..4 {
                assert_ne!(pages[a], pages[b]);
            }
        }
        let mut region = vec![0u8; 256 * 4096];
        for r in 0..4 {
            fill(&mut region, 1, r);
            for page in region.chunks(4096) {
                assert!(page.iter().any(|&x| x != 0));
                assert_ne!(page[..8], page[8..16]);
            }
        }
    }
}
