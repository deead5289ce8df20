//! The deadline scopes only expanded code needs: a scope that reports the
//! deadline it enforced, and one that carries a deadline without a timer.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{current, far_future, scope, Carried, Timed};
#[cfg(feature = "tonic")]
use super::{local, Scope};

/// [`scope`](super::scope), whose output also says which deadline the scope enforced:
/// `(result, deadline)`. A retry loop needs both to tell a failure at the
/// deadline from any other, and awaiting one future for both keeps a single
/// copy of the work in the caller's state.
///
/// ```
/// use std::time::Duration;
/// ///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let (result, until) = steadfast::__private::timed(Duration::from_secs(1), async { 7 }).await;
/// assert_eq!(result, Ok(7));
/// assert_eq!(until, start + Duration::from_secs(1));
/// # }
/// ```
#[inline]
pub fn timed<F: Future>(timeout: Duration, future: F) -> Timed<F> {
    Timed::new(scope(timeout, future))
}

/// [`timed`] without a timer of its own: see `Carried`. What
/// `#[deadline]` expands to directly above `#[retry(per_attempt = ..)]`.
#[inline]
pub fn carried<F: Future>(timeout: Duration, future: F) -> Carried<F> {
    let (deadline, expired) = deadline_after(timeout);
    Carried::new(deadline, expired, future)
}

/// [`carried`] for work that starts as it is made (a request sent when a
/// tower service is called): `make` runs inside the deadline's scope, as
/// the work would at its first poll.
#[cfg(feature = "tonic")]
pub(crate) fn carried_with<F: Future>(timeout: Duration, make: impl FnOnce() -> F) -> Carried<F> {
    let (deadline, expired) = deadline_after(timeout);
    Carried::new(deadline, expired, local::with(deadline, make))
}

/// [`timed`] for work that starts as it is made: `make` runs inside the
/// deadline's scope, as the work would at its first poll.
#[cfg(feature = "tonic")]
pub(crate) fn timed_with<F: Future>(timeout: Duration, make: impl FnOnce() -> F) -> Timed<F> {
    let (deadline, expired) = deadline_after(timeout);
    let future = local::with(deadline, make);
    Timed::new(Scope::new(deadline, expired, future))
}

/// [`carried`] of work that goes on under a deadline set before it (the
/// attempts after a call's first): never expired at its first poll, so
/// that what it starts with (deciding on the attempt before it) runs even
/// when the deadline has passed.
#[cfg(feature = "tonic")]
pub(crate) fn carried_on<F: Future>(deadline: Instant, future: F) -> Carried<F> {
    Carried::new(deadline, false, future)
}

/// [`timed`] of work that goes on under a deadline set before it: see
/// [`carried_on`].
#[cfg(feature = "tonic")]
pub(crate) fn timed_on<F: Future>(deadline: Instant, future: F) -> Timed<F> {
    Timed::new(Scope::new(deadline, false, future))
}

/// The deadline `timeout` from now, or the current one if sooner, and
/// whether it has already passed.
fn deadline_after(timeout: Duration) -> (Instant, bool) {
    let now = Instant::now();
    let deadline = now.checked_add(timeout).unwrap_or_else(far_future);
    let deadline = match current() {
        Some(outer) if outer < deadline => outer,
        _ => deadline,
    };
    (deadline, deadline <= now)
}
