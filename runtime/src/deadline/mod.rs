//! Deadlines that follow the work: scopes carried by the task being polled, as tokio task-locals are.
//!
//! A deadline scope runs a future until an instant and makes that instant
//! visible to everything the future calls: [`current`] and [`remaining`] read
//! it, nested scopes can only shrink it, retries never sleep past it, and (with
//! feature `tonic`) outgoing gRPC calls send what is left as `grpc-timeout`.
//! It is Go's `context.WithTimeout` or Java's `Context.withDeadline`, carried
//! by the task instead of by an argument.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::deadline;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let result = deadline::scope(Duration::from_secs(2), async {
//!     // 2 s from now, unless an outer scope ends sooner.
//!     let left = deadline::remaining().unwrap();
//!     assert!(left <= Duration::from_secs(2));
//!     // Shrinking works; growing does not.
//!     deadline::scope(Duration::from_secs(60), async {
//!         assert!(deadline::remaining().unwrap() <= Duration::from_secs(2));
//!     })
//!     .await
//! })
//! .await;
//! assert!(result.is_ok());
//! # }
//! ```
//!
//! Spawned tasks start without a deadline, as in tokio: wrap the future in
//! [`propagate`] to hand the current one over.

mod elapsed;
pub(crate) mod emitted;
mod local;
pub(crate) mod scope;

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

pub use elapsed::Elapsed;
pub(crate) use emitted::timed;
pub(crate) use scope::{Carried, Timed};
pub use scope::{Propagate, Scope};

/// The deadline of the current scope, if the code runs inside one.
///
/// Works from async code and from plain functions called while a scoped
/// future is being polled; `None` elsewhere (and in spawned tasks, see
/// [`propagate`]).
///
/// ```
/// use std::time::Duration;
/// use steadfast::deadline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(deadline::current(), None);
/// deadline::scope(Duration::from_secs(1), async {
///     assert!(deadline::current().is_some());
/// })
/// .await
/// .unwrap();
/// # }
/// ```
#[inline]
pub fn current() -> Option<Instant> {
    local::get()
}

/// Time left before the current deadline: `None` outside a scope,
/// `Some(Duration::ZERO)` once it has passed.
///
/// ```
/// use std::time::Duration;
/// use steadfast::deadline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// deadline::scope(Duration::from_millis(300), async {
///     assert!(deadline::remaining().unwrap() <= Duration::from_millis(300));
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub fn remaining() -> Option<Duration> {
    current().map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// Runs `future` with a deadline `timeout` from now, or the current one if
/// that is sooner. When the deadline passes first, `future` is dropped and
/// the result is `Err(Elapsed)`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{deadline, Elapsed};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let slow = tokio::time::sleep(Duration::from_secs(5));
/// assert_eq!(deadline::scope(Duration::from_secs(1), slow).await, Err(Elapsed::new()));
/// # }
/// ```
#[inline]
pub fn scope<F: Future>(timeout: Duration, future: F) -> Scope<F> {
    let now = Instant::now();
    let deadline = now.checked_add(timeout).unwrap_or_else(far_future);
    scope_from(now, deadline, future)
}

/// [`scope`] with an absolute deadline, shrunk to the current one if that is
/// sooner. A deadline already passed fails at the first poll, without
/// polling `future` at all.
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use steadfast::deadline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let at = Instant::now() + Duration::from_secs(1);
/// deadline::scope_at(at, async {
///     assert_eq!(deadline::current(), Some(at));
/// })
/// .await
/// .unwrap();
/// # }
/// ```
#[inline]
pub fn scope_at<F: Future>(deadline: Instant, future: F) -> Scope<F> {
    scope_from(Instant::now(), deadline, future)
}

#[inline]
fn scope_from<F: Future>(now: Instant, deadline: Instant, future: F) -> Scope<F> {
    let deadline = match current() {
        Some(outer) if outer < deadline => outer,
        _ => deadline,
    };
    Scope::new(deadline, deadline <= now, future)
}

/// Carries the current deadline, if any, into `future`, for handing to
/// `tokio::spawn`: tasks do not inherit task-locals by themselves.
///
/// The deadline is read when `propagate` is called. Unlike [`scope`], the
/// wrapped future is not cut short: it only sees the deadline (and whatever
/// it calls honours it). Outside any scope the future runs unchanged.
///
/// ```
/// use std::time::Duration;
/// use steadfast::deadline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// deadline::scope(Duration::from_secs(1), async {
///     let parent = deadline::current();
///     let child = tokio::spawn(deadline::propagate(async { deadline::current() }));
///     assert_eq!(child.await.unwrap(), parent);
/// })
/// .await
/// .unwrap();
/// # }
/// ```
pub fn propagate<F: Future>(future: F) -> Propagate<F> {
    Propagate::new(current(), future)
}

/// The one rule for failures at a deadline: work that fails at or after its
/// deadline with an error that reports a timeout ran out of time, whichever
/// timer (ours, or the transport's own for `grpc-timeout`) fired first. Any
/// other failure is the work's own.
#[inline]
pub(crate) fn ran_out(deadline: Instant, reports_timeout: bool) -> bool {
    reports_timeout && deadline <= Instant::now()
}

/// The one rule for starting another attempt (a retry or a hedge): one
/// due at `at` starts only before the current deadline; one too far off to
/// be represented (`None`, a hostile pushback) never starts.
#[inline]
pub(crate) fn starts_in_time(at: Option<Instant>) -> bool {
    match (at, current()) {
        (None, _) => false,
        (Some(at), Some(deadline)) => at < deadline,
        (Some(_), None) => true,
    }
}

/// About thirty years from now: what "no deadline" saturates to.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests;
