//! The clock of breakers and ratio budgets: tokio's, so that a paused
//! clock drives windows and open periods in tests, read as nanoseconds
//! since a process-wide origin so that it fits in an atomic.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the origin. The origin is set an hour (or as much as
/// the platform allows) before the first reading, so that the paused clock
/// of a runtime created a little earlier never reads before it.
pub(crate) fn now() -> u64 {
    let now = Instant::now();
    let origin = ORIGIN.get_or_init(|| {
        [3600, 60, 1]
            .iter()
            .find_map(|s| now.checked_sub(Duration::from_secs(*s)))
            .unwrap_or(now)
    });
    nanos(now.saturating_duration_since(*origin))
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
