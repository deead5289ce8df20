use std::time::Duration;

use super::rng::Rng;

/// How a [`Backoff`](super::Backoff) randomises its delays, so that clients
/// that failed together do not retry together.
///
/// The first four are the formulas of AWS's "Exponential Backoff And Jitter";
/// [`Proportional`](Jitter::Proportional) is gRPC's (A6 multiplies each delay
/// by `random(0.8, 1.2)`, which is `Proportional(0.2)`).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Full).seed(7);
/// for (n, delay) in backoff.delays().take(5).enumerate() {
///     assert!(delay <= backoff.base(n as u32 + 1));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Jitter {
    /// The schedule as computed, no randomness.
    None,
    /// `random(0, delay)`.
    Full,
    /// `delay / 2 + random(0, delay / 2)`.
    Equal,
    /// `min(max_delay, random(initial, previous * 3))`: each delay grows from
    /// the previous one rather than from the attempt number.
    Decorrelated,
    /// `delay * random(1 - f, 1 + f)` for a fraction `f` in `0.0..=1.0`
    /// (clamped). The only jitter that may exceed `max_delay`, by at most `f`.
    Proportional(f64),
}

impl Default for Jitter {
    /// `Proportional(0.2)`, as gRPC does.
    fn default() -> Self {
        Self::Proportional(0.2)
    }
}

impl Jitter {
    /// Applies the jitter to `base`; `previous` and `initial` feed the
    /// decorrelated formula.
    pub(super) fn apply(
        self,
        base: Duration,
        previous: Duration,
        initial: Duration,
        cap: Duration,
        rng: &mut Rng,
    ) -> Duration {
        let base_ns = saturating_nanos(base);
        match self {
            Self::None => base,
            Self::Full => Duration::from_nanos(rng.between(0, base_ns)),
            Self::Equal => {
                let half = base_ns / 2;
                Duration::from_nanos(half + rng.between(0, base_ns - half))
            }
            Self::Decorrelated => {
                let lo = saturating_nanos(initial.min(cap));
                let hi = saturating_nanos(previous).saturating_mul(3);
                Duration::from_nanos(rng.between(lo, hi.max(lo))).min(cap)
            }
            Self::Proportional(fraction) => {
                let f = if fraction.is_nan() {
                    0.0
                } else {
                    fraction.clamp(0.0, 1.0)
                };
                let factor = 1.0 - f + 2.0 * f * rng.unit();
                let nanos = base_ns as f64 * factor;
                // `factor <= 2`, but a base near `u64::MAX` ns could still overflow.
                Duration::from_nanos(if nanos >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    nanos as u64
                })
            }
        }
    }
}

pub(super) fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
