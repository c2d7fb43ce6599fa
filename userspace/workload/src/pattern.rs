// SPDX-License-Identifier: GPL-2.0

//! The deterministic content of the workload's memory: byte `i` of region
//! `r` is a byte of `splitmix64(seed ^ r << 56 ^ i / 8)`, different for
//! every region and 8-byte word, and never a whole page of zeros.

/// One step of SplitMix64.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The word at word index `w` of region `region`.
pub fn word(seed: u64, region: u64, w: u64) -> u64 {
    splitmix64(seed ^ (region << 56) ^ w)
}

/// Fills `buf`, which starts at byte `offset` of region `region`
/// (`offset` a multiple of 8).
pub fn fill(buf: &mut [u8], seed: u64, region: u64, offset: u64) {
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let w = word(seed, region, offset / 8 + i as u64).to_le_bytes();
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
}

/// The offset in `buf` of its first byte that is not the pattern, where
/// `buf` starts at byte `offset` of region `region` (any offset).
pub fn first_bad(buf: &[u8], seed: u64, region: u64, offset: u64) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        let at = offset + i as u64;
        let w = word(seed, region, at / 8).to_le_bytes();
        let start = (at % 8) as usize;
        let n = (8 - start).min(buf.len() - i);
        if buf[i..i + n] != w[start..start + n] {
            let k = (0..n).find(|&k| buf[i + k] != w[start + k]).unwrap_or(0);
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
    fn fill_then_check_at_any_offset() {
        let mut b = vec![0u8; 4096];
        fill(&mut b, 1, 2, 8192);
        assert_eq!(first_bad(&b, 1, 2, 8192), None);
        assert_eq!(first_bad(&b[3..100], 1, 2, 8195), None);
        assert_eq!(first_bad(&b, 1, 3, 8192), Some(0));
        b[77] ^= 1;
        assert_eq!(first_bad(&b, 1, 2, 8192), Some(77));
    }

    #[test]
    fn regions_and_seeds_differ_and_no_page_is_zero() {
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 4096];
        fill(&mut a, 1, 0, 0);
        fill(&mut b, 1, 1, 0);
        assert_ne!(a, b);
        fill(&mut b, 2, 0, 0);
        assert_ne!(a, b);
        for page in 0..64u64 {
            fill(&mut a, 1, 0, page * 4096);
            assert!(a.iter().any(|&x| x != 0));
        }
    }
}
