use std::fmt;
use std::time::Duration;

use super::{Backoff, Delays};

/// Anything that can hand out a fresh sequence of delays for each call.
///
/// A [`RetryPolicy`](crate::RetryPolicy) is shared by many calls, so a
/// schedule is not an iterator but a maker of iterators. Implemented for
/// [`Backoff`], for every `IntoIterator<Item = Duration> + Clone` (a `Vec`,
/// an array, an iterator adapter, `backon`'s `ExponentialBackoff`), and for
/// closures through [`from_fn`]. When the sequence ends, retrying stops.
///
/// ```
/// use std::time::Duration;
/// use steadfast::backoff::Schedule;
///
/// let fixed = [Duration::from_millis(10), Duration::from_millis(50)];
/// assert_eq!(fixed.delays().count(), 2);
/// ```
pub trait Schedule {
    /// The iterator one call walks through; it may borrow the schedule.
    type Delays<'a>: Iterator<Item = Duration>
    where
        Self: 'a;

    /// A fresh sequence of delays, from the first retry on.
    fn delays(&self) -> Self::Delays<'_>;
}

impl Schedule for Backoff {
    type Delays<'a> = Delays<'a>;

    fn delays(&self) -> Delays<'_> {
        Backoff::delays(self)
    }
}

impl<I> Schedule for I
where
    I: IntoIterator<Item = Duration> + Clone,
{
    type Delays<'a>
        = I::IntoIter
    where
        I: 'a;

    fn delays(&self) -> I::IntoIter {
        self.clone().into_iter()
    }
}

/// A [`Schedule`] that calls `make` for each call's delays.
///
/// This is how builders from other crates plug in, `backon`'s among them:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{backoff, RetryPolicy};
///
/// # fn main() {
/// let policy = RetryPolicy::new()
///     .max_attempts(4)
///     .schedule(backoff::from_fn(|| (1..).map(|n| Duration::from_millis(10 * n))));
/// # let _ = policy;
/// # }
/// ```
pub fn from_fn<F, I>(make: F) -> FromFn<F>
where
    F: Fn() -> I,
    I: IntoIterator<Item = Duration>,
{
    FromFn(make)
}

/// The [`Schedule`] made by [`from_fn`].
///
/// ```
/// use std::time::Duration;
/// use steadfast::backoff::{from_fn, Schedule};
///
/// let schedule = from_fn(|| std::iter::repeat(Duration::from_millis(1)).take(2));
/// assert_eq!(schedule.delays().count(), 2);
/// ```
#[derive(Clone, Copy)]
pub struct FromFn<F>(F);

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromFn")
    }
}

impl<F, I> Schedule for FromFn<F>
where
    F: Fn() -> I,
    I: IntoIterator<Item = Duration>,
{
    type Delays<'a>
        = I::IntoIter
    where
        F: 'a;

    fn delays(&self) -> I::IntoIter {
        (self.0)().into_iter()
    }
}
