//! Adapter for schedules from the `backoff` crate (feature `backoff`), for
//! users migrating from it. `backoff` is unmaintained (RUSTSEC-2025-0012):
//! prefer [`Backoff`](super::Backoff) for new code.

use std::fmt;
use std::time::Duration;

use super::Schedule;

/// Uses a `backoff::backoff::Backoff` as a [`Schedule`]: `make` builds a
/// fresh one for each call, whose delays are taken until it returns `None`
/// (so its `max_elapsed_time` still ends retrying).
///
/// ```
/// use std::time::Duration;
/// use steadfast::backoff::{from_backoff, Schedule};
///
/// let schedule = from_backoff(|| backoff::backoff::Constant::new(Duration::from_millis(20)));
/// assert_eq!(schedule.delays().next(), Some(Duration::from_millis(20)));
/// ```
pub fn from_backoff<F, B>(make: F) -> FromBackoff<F>
where
    F: Fn() -> B,
    B: ::backoff::backoff::Backoff,
{
    FromBackoff(make)
}

/// The [`Schedule`] made by [`from_backoff`].
///
/// ```
/// let s: steadfast::backoff::FromBackoff<_> =
///     steadfast::backoff::from_backoff(backoff::ExponentialBackoff::default);
/// # let _ = s;
/// ```
#[derive(Clone, Copy)]
pub struct FromBackoff<F>(F);

impl<F> fmt::Debug for FromBackoff<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromBackoff")
    }
}

impl<F, B> Schedule for FromBackoff<F>
where
    F: Fn() -> B,
    B: ::backoff::backoff::Backoff,
{
    type Delays<'a>
        = BackoffDelays<B>
    where
        F: 'a;

    fn delays(&self) -> BackoffDelays<B> {
        BackoffDelays((self.0)())
    }
}

/// The delays of one call under a [`FromBackoff`] schedule.
///
/// ```
/// use steadfast::backoff::{from_backoff, Schedule};
///
/// let mut delays = from_backoff(|| backoff::backoff::Stop {}).delays();
/// assert_eq!(delays.next(), None);
/// ```
#[derive(Debug)]
pub struct BackoffDelays<B>(B);

impl<B: ::backoff::backoff::Backoff> Iterator for BackoffDelays<B> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0.next_backoff()
    }
}
