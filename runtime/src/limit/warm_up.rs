//! Sentinel's WARM_UP flow rule for a [`RateLimiter`](super::RateLimiter):
//! after a quiet spell the limiter admits a third of its rate, rising to all
//! of it as calls keep coming, over the warm-up period (Sentinel's
//! `WarmUpController`, from Guava's `SmoothWarmingUp`, cold factor 3).
//!
//! Sentinel's model, in tokens: with `r` calls a second and a warm-up of
//! `w` seconds, the limiter holds up to `max = w·r` tokens, and is warm
//! below `warning = w·r / 2`. Once a second the stored tokens are synced:
//! they refill at `r` a second while warm, or while the last second's
//! calls were under `r / 3` (the limiter is cooling), up to `max`; then the
//! last second's calls are taken from them. Above `warning`, the rate
//! admitted is `1 / ((tokens − warning)·slope + 1/r)`, with `slope =
//! 2 / r / (max − warning)`: `r / 3` at `max`, `r` at `warning`. A new
//! limiter is cold (`max` tokens). Here the rate becomes the GCRA
//! interval of the next call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Sentinel's cold factor: a cold limiter admits a third of its rate.
const COLD_FACTOR: f64 = 3.0;

/// One second, in nanoseconds: how often the tokens are synced.
const SECOND: u64 = 1_000_000_000;

/// The warm-up state of a rate limiter.
#[derive(Debug)]
pub(super) struct WarmUp {
    /// The warm-up period, in nanoseconds.
    period: u64,
    /// The stored tokens, as `f64` bits (NaN bits before the first sync:
    /// cold).
    tokens: AtomicU64,
    /// Calls admitted since the last sync.
    passed: AtomicU64,
    /// When the tokens were last synced (crate clock, ns), under the lock
    /// that one sync at a time takes.
    synced: Mutex<u64>,
}

impl WarmUp {
    pub(super) const fn new(period: u64) -> Self {
        Self {
            period,
            tokens: AtomicU64::new(u64::MAX),
            passed: AtomicU64::new(0),
            synced: Mutex::new(0),
        }
    }

    /// The interval (ns) between two calls now, for a steady rate of one
    /// call per `interval` ns: longer while the limiter is cold.
    pub(super) fn interval(&self, now: u64, interval: u64) -> u64 {
        let rate = SECOND as f64 / interval as f64;
        let tokens = self.sync(now, rate);
        let (warning, max) = self.bounds(rate);
        if tokens < warning || max <= warning {
            return interval;
        }
        let slope = (COLD_FACTOR - 1.0) / rate / (max - warning);
        let per_call = (tokens - warning) * slope + 1.0 / rate;
        let nanos = per_call * SECOND as f64;
        if nanos.is_finite() && nanos >= 1.0 {
            (nanos as u64).max(interval)
        } else {
            interval
        }
    }

    /// A call was admitted.
    pub(super) fn passed(&self) {
        self.passed.fetch_add(1, Ordering::Relaxed);
    }

    /// `(warning, max)` tokens for `rate` calls a second.
    fn bounds(&self, rate: f64) -> (f64, f64) {
        let seconds = self.period as f64 / SECOND as f64;
        let warning = seconds * rate / (COLD_FACTOR - 1.0);
        let max = warning + 2.0 * seconds * rate / (1.0 + COLD_FACTOR);
        (warning, max)
    }

    /// The stored tokens, synced once a second (Sentinel's `syncToken`).
    fn sync(&self, now: u64, rate: f64) -> f64 {
        let stored = f64::from_bits(self.tokens.load(Ordering::Relaxed));
        // Only the call that takes the lock syncs; the others read the
        // tokens as they stand.
        let Ok(mut synced) = self.synced.try_lock() else {
            return if stored.is_nan() {
                self.bounds(rate).1
            } else {
                stored
            };
        };
        let (warning, max) = self.bounds(rate);
        if !stored.is_nan() && now.saturating_sub(*synced) < SECOND {
            return stored;
        }
        let passed = self.passed.swap(0, Ordering::Relaxed) as f64;
        let tokens = if stored.is_nan() {
            max
        } else {
            let elapsed = now.saturating_sub(*synced) as f64 / SECOND as f64;
            let cooling = passed < rate / COLD_FACTOR;
            let refilled = if stored < warning || cooling {
                (stored + elapsed * rate).min(max)
            } else {
                stored
            };
            (refilled - passed).max(0.0)
        };
        *synced = now;
        self.tokens.store(tokens.to_bits(), Ordering::Relaxed);
        tokens
    }
}
