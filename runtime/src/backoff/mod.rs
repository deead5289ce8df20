//! Delay schedules between attempts.
//!
//! [`Backoff`] computes the delays (exponential, constant, linear, fibonacci
//! or none) and randomises them with a [`Jitter`]. Any other source of delays
//! plugs in through [`Schedule`]: every `IntoIterator<Item = Duration> + Clone`
//! is one, and [`from_fn`] wraps a builder such as `backon`'s.

#[cfg(feature = "backoff")]
mod compat;
mod jitter;
pub(crate) mod rng;
mod schedule;

use std::time::Duration;

#[cfg(feature = "backoff")]
pub use compat::{from_backoff, BackoffDelays, FromBackoff};
pub use jitter::Jitter;
use rng::Rng;
pub use schedule::{from_fn, FromFn, Schedule};

pub(crate) use defaults::{DEFAULT_INITIAL, DEFAULT_MAX_DELAY, DEFAULT_MULTIPLIER};

/// The schedule's defaults (100 ms first, growth 2.0, at most 10 s), named
/// by expanded code as well.
pub(crate) mod defaults {
    use std::time::Duration;

    /// Default first delay: 100 ms.
    pub const DEFAULT_INITIAL: Duration = Duration::from_millis(100);
    /// Default growth of an exponential schedule: 2.0.
    pub(crate) const DEFAULT_MULTIPLIER: f64 = 2.0;
    /// Default cap on one delay: 10 s (raised to the first delay when that is longer).
    pub(crate) const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);
}

/// A delay schedule: how long to wait before each retry.
///
/// Built with one of the constructors and refined with `const` setters, so a
/// policy can live in a `const` or `static`. Delays saturate at
/// [`max_delay`](Self::max_delay) for any retry number (no overflow, no
/// panic); only [`Jitter::Proportional`] may go above it, by its fraction.
///
/// | schedule | delay before retry `n` (1-based) |
/// |---|---|
/// | [`exponential`](Self::exponential) | `initial * multiplier^(n-1)` |
/// | [`constant`](Self::constant) | `initial` |
/// | [`linear`](Self::linear) | `initial * n` |
/// | [`fibonacci`](Self::fibonacci) | `initial * fib(n)`: 1, 1, 2, 3, 5, … |
/// | [`none`](Self::none) | zero |
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter};
///
/// const BACKOFF: Backoff = Backoff::exponential(Duration::from_millis(100))
///     .multiplier(3.0)
///     .max_delay(Duration::from_secs(1))
///     .jitter(Jitter::None);
///
/// let delays: Vec<_> = BACKOFF.delays().take(4).collect();
/// assert_eq!(delays, [100, 300, 900, 1000].map(Duration::from_millis));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    growth: Growth,
    initial: Duration,
    max_delay: Duration,
    jitter: Jitter,
    seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Growth {
    Exponential { multiplier: f64 },
    Constant,
    Linear,
    Fibonacci,
    None,
}

impl Default for Backoff {
    /// Exponential from 100 ms, doubling, capped at 10 s, ±20% jitter: the
    /// defaults of `#[retry]`.
    fn default() -> Self {
        Self::exponential(DEFAULT_INITIAL)
    }
}

impl Backoff {
    const fn with(growth: Growth, initial: Duration) -> Self {
        let max_delay = if initial.as_nanos() > DEFAULT_MAX_DELAY.as_nanos() {
            initial
        } else {
            DEFAULT_MAX_DELAY
        };
        Self {
            growth,
            initial,
            max_delay,
            jitter: Jitter::Proportional(0.2),
            seed: None,
        }
    }

    /// `initial`, then each delay [`multiplier`](Self::multiplier) times the last (default 2.0).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Jitter};
    ///
    /// let b = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::None);
    /// assert_eq!(b.base(3), Duration::from_millis(400));
    /// ```
    pub const fn exponential(initial: Duration) -> Self {
        Self::with(
            Growth::Exponential {
                multiplier: DEFAULT_MULTIPLIER,
            },
            initial,
        )
    }

    /// The same delay every time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// assert_eq!(Backoff::constant(Duration::from_secs(1)).base(9), Duration::from_secs(1));
    /// ```
    pub const fn constant(delay: Duration) -> Self {
        Self::with(Growth::Constant, delay)
    }

    /// `initial`, `2 * initial`, `3 * initial`, …
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// assert_eq!(Backoff::linear(Duration::from_millis(50)).base(3), Duration::from_millis(150));
    /// ```
    pub const fn linear(initial: Duration) -> Self {
        Self::with(Growth::Linear, initial)
    }

    /// `initial` times the fibonacci numbers 1, 1, 2, 3, 5, 8, …
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// assert_eq!(Backoff::fibonacci(Duration::from_millis(10)).base(6), Duration::from_millis(80));
    /// ```
    pub const fn fibonacci(initial: Duration) -> Self {
        Self::with(Growth::Fibonacci, initial)
    }

    /// No delay at all: retry at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// assert_eq!(Backoff::none().base(1), Duration::ZERO);
    /// ```
    pub const fn none() -> Self {
        let mut backoff = Self::with(Growth::None, Duration::ZERO);
        backoff.jitter = Jitter::None;
        backoff
    }

    /// Growth factor of an exponential schedule. Values below 1.0 (and NaN)
    /// count as 1.0; other schedules ignore it (the `#[retry]` attribute
    /// rejects both at compile time).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_millis(10)).multiplier(10.0);
    /// assert_eq!(b.base(3), Duration::from_millis(1000));
    /// ```
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        if let Growth::Exponential { .. } = self.growth {
            self.growth = Growth::Exponential { multiplier };
        }
        self
    }

    /// Cap on one delay (default 10 s, or the first delay when longer).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_secs(1)).max_delay(Duration::from_secs(5));
    /// assert_eq!(b.base(100), Duration::from_secs(5));
    /// ```
    pub const fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// How delays are randomised (default [`Jitter::Proportional(0.2)`](Jitter::Proportional)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Jitter};
    ///
    /// let b = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::None);
    /// assert_eq!(b.delays().next(), Some(Duration::from_secs(1)));
    /// ```
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Makes the jitter deterministic: every [`delays`](Self::delays) call
    /// then yields the same sequence. For tests.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Jitter};
    ///
    /// let b = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Full).seed(42);
    /// assert!(b.delays().take(8).eq(b.delays().take(8)));
    /// ```
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The first delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    /// assert_eq!(Backoff::default().initial(), Duration::from_millis(100));
    /// ```
    pub const fn initial(&self) -> Duration {
        self.initial
    }

    /// The cap on one delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    /// assert_eq!(Backoff::default().cap(), Duration::from_secs(10));
    /// ```
    pub const fn cap(&self) -> Duration {
        self.max_delay
    }

    /// The configured jitter.
    ///
    /// ```
    /// use steadfast::{Backoff, Jitter};
    /// assert_eq!(Backoff::default().jitter_kind(), Jitter::Proportional(0.2));
    /// ```
    pub const fn jitter_kind(&self) -> Jitter {
        self.jitter
    }

    /// The delay before retry `n` (1 is the first retry) before jitter, capped
    /// at [`max_delay`](Self::max_delay). Never panics, whatever `n`; `n = 0`
    /// is treated as 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Backoff;
    ///
    /// let b = Backoff::exponential(Duration::from_millis(100));
    /// assert_eq!(b.base(1), Duration::from_millis(100));
    /// assert_eq!(b.base(u32::MAX), Duration::from_secs(10));
    /// ```
    pub fn base(&self, n: u32) -> Duration {
        let n = n.max(1);
        let cap = self.max_delay;
        let uncapped = match self.growth {
            Growth::None => return Duration::ZERO,
            Growth::Constant => self.initial,
            Growth::Linear => self.initial.saturating_mul(n),
            Growth::Fibonacci => scale(self.initial, fibonacci(n)),
            Growth::Exponential { multiplier } => {
                let m = if multiplier >= 1.0 { multiplier } else { 1.0 };
                let exponent = i32::try_from(n - 1).unwrap_or(i32::MAX);
                let nanos = self.initial.as_nanos() as f64 * m.powi(exponent);
                // Compare as floats first: `nanos` may be infinite.
                if nanos >= cap.as_nanos() as f64 || nanos >= u64::MAX as f64 {
                    cap
                } else {
                    Duration::from_nanos(nanos.round() as u64)
                }
            }
        };
        uncapped.min(cap)
    }

    /// A fresh, endless iterator over the delays, jittered. Seeded by
    /// [`seed`](Self::seed) when set, from entropy otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Jitter};
    ///
    /// let b = Backoff::linear(Duration::from_secs(1)).jitter(Jitter::None);
    /// let first: Vec<_> = b.delays().take(3).collect();
    /// assert_eq!(first, [1, 2, 3].map(Duration::from_secs));
    /// ```
    pub fn delays(&self) -> Delays<'_> {
        let rng = match self.seed {
            Some(seed) => Rng::seeded(seed),
            None => Rng::from_entropy(),
        };
        Delays {
            backoff: self,
            retry: 0,
            previous: self.initial,
            rng,
        }
    }
}

/// `d * factor`, saturating at the largest [`Duration`].
fn scale(d: Duration, factor: u64) -> Duration {
    let nanos = d.as_nanos().saturating_mul(u128::from(factor));
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, subsec)
}

/// fib(1) = fib(2) = 1, saturating at `u64::MAX` (from fib(94) on).
fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 1..n.min(100) {
        (a, b) = (b, a.saturating_add(b));
    }
    b
}

/// The delays of one [`Backoff`], from the first retry on. Never ends: the
/// policy's attempt limit decides when to stop.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter};
///
/// let backoff = Backoff::constant(Duration::from_millis(5)).jitter(Jitter::None);
/// let mut delays = backoff.delays();
/// assert_eq!(delays.next(), Some(Duration::from_millis(5)));
/// ```
#[derive(Debug, Clone)]
pub struct Delays<'a> {
    backoff: &'a Backoff,
    retry: u32,
    previous: Duration,
    rng: Rng,
}

impl Iterator for Delays<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.retry = self.retry.saturating_add(1);
        let b = self.backoff;
        let delay = b.jitter.apply(
            b.base(self.retry),
            self.previous,
            b.initial,
            b.max_delay,
            &mut self.rng,
        );
        self.previous = delay;
        Some(delay)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl std::iter::FusedIterator for Delays<'_> {}

#[cfg(test)]
mod tests;
