//! The clock of rate limits, breakers and ratio budgets, read as
//! nanoseconds since a process-wide origin so that it fits in an atomic.
//!
//! Two sources, one chosen at build time:
//! - feature `test-util` (the tests' build, as tokio's own `test-util`):
//!   tokio's clock, so that a paused clock drives windows, open periods
//!   and rates;
//! - otherwise the CPU's time-stamp counter through `quanta`, calibrated
//!   against the monotonic clock: about 10 ns a reading where the
//!   monotonic clock costs about 19 ns on the machines benchmarked
//!   (BENCHMARKS.md §13), which is most of a limiter's admit path.

use std::sync::OnceLock;
use std::time::Duration;

/// Nanoseconds since the origin.
#[inline]
pub(crate) fn now() -> u64 {
    source::now()
}

/// tokio's clock: a paused one drives every reading.
#[cfg(feature = "test-util")]
mod source {
    use super::{nanos, Duration, OnceLock};
    use tokio::time::Instant;

    static ORIGIN: OnceLock<Instant> = OnceLock::new();

    /// The origin is set an hour (or as much as the platform allows)
    /// before the first reading, so that the paused clock of a runtime
    /// created a little earlier never reads before it.
    #[inline]
    pub(super) fn now() -> u64 {
        let now = Instant::now();
        let origin = ORIGIN.get_or_init(|| {
            [3600, 60, 1]
                .iter()
                .find_map(|s| now.checked_sub(Duration::from_secs(*s)))
                .unwrap_or(now)
        });
        nanos(now.saturating_duration_since(*origin))
    }
}

/// The time-stamp counter, read raw and scaled from the first reading (no
/// thread-local lookup, no `Duration` in between).
#[cfg(not(feature = "test-util"))]
mod source {
    use super::{nanos, Duration, OnceLock};

    struct Counter {
        clock: quanta::Clock,
        origin: u64,
    }

    static COUNTER: OnceLock<Counter> = OnceLock::new();

    /// Readings start an hour after the origin, as tokio's do.
    const START: u64 = nanos(Duration::from_secs(3600));

    #[inline]
    pub(super) fn now() -> u64 {
        let counter = COUNTER.get_or_init(|| {
            let clock = quanta::Clock::new();
            let origin = clock.raw();
            Counter { clock, origin }
        });
        let raw = counter.clock.raw();
        START.saturating_add(counter.clock.delta_as_nanos(counter.origin, raw))
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) const fn nanos(duration: Duration) -> u64 {
    let n = duration.as_nanos();
    if n > u64::MAX as u128 {
        u64::MAX
    } else {
        n as u64
    }
}
