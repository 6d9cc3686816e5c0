//! The one seeded generator a match owns (PCG32), plus seed derivation.
//!
//! PCG32's output sequence is fixed by its specification, so the same seed
//! gives the same numbers on every machine and in every build.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg32;
use serde::{Deserialize, Serialize};

/// A deterministic random number generator whose whole state is part of the
/// match state (it is saved, loaded, encoded and checksummed with it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng(Pcg32);

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(..)")
    }
}

impl Rng {
    /// A generator for `seed` on the named `stream` (a domain tag, so that
    /// the arena, the simulation and crafting never share a sequence).
    pub fn new(seed: u64, stream: &str) -> Self {
        let mut h = blake3::Hasher::new_derive_key("cyteria rng v1");
        h.update(stream.as_bytes());
        h.update(&[0]);
        h.update(&seed.to_le_bytes());
        Self::from_seed32(*h.finalize().as_bytes())
    }

    /// A generator from 32 bytes supplied by the caller (crafting seeds).
    pub fn from_seed32(seed: [u8; 32]) -> Self {
        let mut s = [0u8; 16];
        s.copy_from_slice(&seed[..16]);
        Self(Pcg32::from_seed(s))
    }

    /// The next 32 bits of the sequence.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0);
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo + 1) as u32) as i32
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into `weights`, drawn in proportion to them.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_streams_differ() {
        let mut a = Rng::new(7, "sim");
        let mut b = Rng::new(7, "sim");
        let mut c = Rng::new(7, "arena");
        let xa: Vec<u32> = (0..8).map(|_| a.next_u32()).collect();
        let xb: Vec<u32> = (0..8).map(|_| b.next_u32()).collect();
        let xc: Vec<u32> = (0..8).map(|_| c.next_u32()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut r = Rng::new(1, "t");
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
        }
        assert_eq!(r.weighted(&[0, 5, 0]), 1);
    }
}
