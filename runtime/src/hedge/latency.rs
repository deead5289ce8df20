//! A function's running latency percentile, for `delay = "p95"`: a
//! lock-free histogram of successful attempts' latencies in two halves
//! that take turns, so that the percentile follows the recent past.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock;

/// Buckets: latencies from 1 µs to about 4.3 s, four per doubling (a
/// bucket is at most 19% wide); slower ones go to the last.
const BUCKETS: usize = 4 * 22 + 1;
const SAMPLES_PER_UPDATE: u32 = 32;

/// The running latency percentile of the calls that share it.
///
/// Every successful attempt adds its latency (one atomic add); every 32
/// samples the percentile is computed again from the histogram and kept,
/// so a call reads one atomic. The histogram has two halves: samples go to
/// the current one, the percentile is read from both, and every `window`
/// the older half is cleared and becomes the current one, so the
/// percentile covers between one and two windows of the recent past.
/// Until `warmup` samples have been seen, [`delay`](Self::delay) is the
/// fallback.
///
/// ```
/// use std::time::Duration;
/// use steadfast::hedge::Latency;
///
/// static P95: Latency = Latency::new(95.0);
/// assert_eq!(P95.delay(), Latency::DEFAULT_FALLBACK);
/// for ms in 1..=100 {
///     P95.record(Duration::from_millis(ms));
/// }
/// // Buckets are at most 19% wide: the percentile is read as its bucket's top.
/// let p95 = P95.delay();
/// assert!(p95 >= Duration::from_millis(95) && p95 <= Duration::from_millis(115), "{p95:?}");
/// ```
#[derive(Debug)]
pub struct Latency {
    percentile: f64,
    warmup: u64,
    fallback: Duration,
    window_nanos: u64,
    halves: [[AtomicU32; BUCKETS]; 2],
    /// Which half takes samples (low bit), and since when (nanoseconds on
    /// the breaker clock, the rest).
    turn: AtomicU64,
    seen: AtomicU64,
    since_update: AtomicU32,
    /// The last computed percentile, in nanoseconds; 0 before warm-up.
    current: AtomicU64,
}

impl Latency {
    /// What [`delay`](Self::delay) is before warm-up: 10 ms ("The Tail at
    /// Scale" hedged after 10 ms).
    pub const DEFAULT_FALLBACK: Duration = Duration::from_millis(10);
    /// Samples before the percentile is used: 100.
    pub const DEFAULT_WARMUP: u64 = 100;
    /// How long each half of the histogram takes samples: 10 s.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);
    /// The shortest delay it gives: 1 ms, tokio's timer resolution. A
    /// shorter one fires at the next millisecond all the same, and arming
    /// sub-millisecond timers on every call costs the runtime more than
    /// it saves.
    pub const MIN_DELAY: Duration = Duration::from_millis(1);

    /// The `percentile` (clamped to `0.0..=100.0`) of the latencies
    /// recorded, with the defaults above.
    ///
    /// ```
    /// static P99: steadfast::hedge::Latency = steadfast::hedge::Latency::new(99.0);
    /// # let _ = &P99;
    /// ```
    pub const fn new(percentile: f64) -> Self {
        let percentile = if percentile.is_nan() || percentile < 0.0 {
            0.0
        } else if percentile > 100.0 {
            100.0
        } else {
            percentile
        };
        Self {
            percentile,
            warmup: Self::DEFAULT_WARMUP,
            fallback: Self::DEFAULT_FALLBACK,
            window_nanos: clock::nanos(Self::DEFAULT_WINDOW),
            halves: [
                [const { AtomicU32::new(0) }; BUCKETS],
                [const { AtomicU32::new(0) }; BUCKETS],
            ],
            turn: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            since_update: AtomicU32::new(0),
            current: AtomicU64::new(0),
        }
    }

    /// Samples to see before the percentile replaces the fallback.
    ///
    /// ```
    /// let l = steadfast::hedge::Latency::new(95.0).warmup(20);
    /// # let _ = l;
    /// ```
    pub const fn warmup(mut self, samples: u64) -> Self {
        self.warmup = samples;
        self
    }

    /// The delay before warm-up.
    ///
    /// ```
    /// let l = steadfast::hedge::Latency::new(95.0).fallback(std::time::Duration::from_millis(50));
    /// assert_eq!(l.delay(), std::time::Duration::from_millis(50));
    /// ```
    pub const fn fallback(mut self, delay: Duration) -> Self {
        self.fallback = delay;
        self
    }

    /// How long each half of the histogram takes samples.
    ///
    /// ```
    /// let l = steadfast::hedge::Latency::new(95.0).window(std::time::Duration::from_secs(60));
    /// # let _ = l;
    /// ```
    pub const fn window(mut self, window: Duration) -> Self {
        self.window_nanos = clock::nanos(window);
        self
    }

    /// The percentile this tracks.
    ///
    /// ```
    /// assert_eq!(steadfast::hedge::Latency::new(95.0).percentile(), 95.0);
    /// ```
    pub const fn percentile(&self) -> f64 {
        self.percentile
    }

    /// The delay to hedge after: the percentile (at least
    /// [`MIN_DELAY`](Self::MIN_DELAY)), or the fallback before warm-up.
    ///
    /// ```
    /// let l = steadfast::hedge::Latency::new(95.0);
    /// assert_eq!(l.delay(), steadfast::hedge::Latency::DEFAULT_FALLBACK);
    /// ```
    #[inline]
    pub fn delay(&self) -> Duration {
        match self.current.load(Relaxed) {
            0 => self.fallback,
            nanos => Duration::from_nanos(nanos).max(Self::MIN_DELAY),
        }
    }

    /// Adds the latency of a successful attempt.
    ///
    /// ```
    /// let l = steadfast::hedge::Latency::new(50.0).warmup(1);
    /// l.record(std::time::Duration::from_millis(3));
    /// assert!(l.delay() <= std::time::Duration::from_millis(4));
    /// ```
    pub fn record(&self, latency: Duration) {
        self.record_at(latency, clock::now());
    }

    pub(crate) fn record_at(&self, latency: Duration, now: u64) {
        let turn = self.rotate(now);
        let half = &self.halves[(turn & 1) as usize];
        half[bucket(latency)].fetch_add(1, Relaxed);
        let seen = self.seen.fetch_add(1, Relaxed) + 1;
        let due = self.since_update.fetch_add(1, Relaxed) + 1 >= SAMPLES_PER_UPDATE;
        if seen >= self.warmup && (due || self.current.load(Relaxed) == 0) {
            self.since_update.store(0, Relaxed);
            self.update();
        }
    }

    /// Makes the older half the current one when the current has taken
    /// samples for a window. Returns the turn word.
    fn rotate(&self, now: u64) -> u64 {
        let turn = self.turn.load(Relaxed);
        let started = turn >> 1;
        if started != 0 && now.saturating_sub(started) < self.window_nanos {
            return turn;
        }
        let next = ((now.max(1)) << 1) | ((turn & 1) ^ u64::from(started != 0));
        if self
            .turn
            .compare_exchange(turn, next, Relaxed, Relaxed)
            .is_ok()
            && started != 0
        {
            for count in &self.halves[(next & 1) as usize] {
                count.store(0, Relaxed);
            }
        }
        self.turn.load(Relaxed)
    }

    fn update(&self) {
        let mut counts = [0u64; BUCKETS];
        let mut total = 0u64;
        for half in &self.halves {
            for (sum, count) in counts.iter_mut().zip(half) {
                let n = u64::from(count.load(Relaxed));
                *sum += n;
                total += n;
            }
        }
        if total == 0 {
            return;
        }
        let rank = ((self.percentile / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut below = 0;
        for (i, n) in counts.iter().enumerate() {
            below += n;
            if below >= rank {
                self.current.store(upper_bound(i).max(1), Relaxed);
                return;
            }
        }
    }
}

/// The bucket of a latency: four per doubling from 1 µs.
fn bucket(latency: Duration) -> usize {
    let micros = latency.as_nanos() as f64 / 1000.0;
    if micros <= 1.0 {
        return 0;
    }
    let index = (micros.log2() * 4.0).ceil() as usize;
    index.min(BUCKETS - 1)
}

/// The largest latency of bucket `i`, in nanoseconds.
fn upper_bound(i: usize) -> u64 {
    (1000.0 * 2f64.powf(i as f64 / 4.0)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_bounds_cover_them() {
        for ms in [1u64, 2, 5, 10, 50, 100, 1000] {
            let d = Duration::from_millis(ms);
            let b = bucket(d);
            assert!(
                upper_bound(b) >= d.as_nanos() as u64,
                "{ms} ms in bucket {b}"
            );
            assert!(b == 0 || upper_bound(b - 1) < d.as_nanos() as u64);
        }
        assert_eq!(bucket(Duration::from_secs(3600)), BUCKETS - 1);
    }

    #[test]
    fn the_percentile_follows_the_samples() {
        let l = Latency::new(95.0).warmup(10);
        for i in 0..1000u64 {
            let ms = if i % 25 == 0 { 100 } else { 2 };
            l.record_at(Duration::from_millis(ms), 1);
        }
        // 4% at 100 ms: the 95th percentile is in the 2 ms mass.
        let d = l.delay();
        assert!(
            d >= Duration::from_millis(2) && d < Duration::from_millis(3),
            "{d:?}"
        );
    }

    #[test]
    fn old_samples_leave_after_two_windows() {
        let second = 1_000_000_000;
        let l = Latency::new(50.0).warmup(1).window(Duration::from_secs(1));
        for _ in 0..100 {
            l.record_at(Duration::from_millis(100), second);
        }
        assert!(l.delay() >= Duration::from_millis(100));
        for t in 2..=4 {
            for _ in 0..100 {
                l.record_at(Duration::from_millis(1), t * second + 1);
            }
        }
        assert!(l.delay() <= Duration::from_millis(2), "{:?}", l.delay());
    }
}
