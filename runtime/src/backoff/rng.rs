//! A small seeded generator for jitter: SplitMix64, enough for spreading
//! retries and reproducible in tests. Not for anything secret.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) const fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    /// A fresh, unpredictable seed without allocating: std's per-process hash
    /// keys mixed with a counter, so two schedules made at once still differ.
    pub(crate) fn from_entropy() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(RandomState::new().hash_one(n))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi]` nanoseconds (`hi` below `lo` gives `lo`).
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo);
        // `unit() < 1`, so the product is at most `span`.
        lo + ((self.unit() * (span as f64 + 1.0)) as u64).min(span)
    }
}
