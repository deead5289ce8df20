use std::time::Duration;

use crate::Elapsed;

/// Errors that know whether trying again can help.
///
/// Implemented for `tonic::Status` (feature `tonic`: `UNAVAILABLE` only, as
/// gRPC's default, with `grpc-retry-pushback-ms` as [`retry_after`](Self::retry_after)),
/// for [`std::io::Error`] (connection refused, reset or aborted, not
/// connected, broken pipe, timed out, interrupted) and for [`Elapsed`].
///
/// ```
/// use std::time::Duration;
/// use steadfast::Retryable;
///
/// #[derive(Debug)]
/// enum ApiError { Busy { retry_in_ms: u64 }, NotFound }
///
/// impl Retryable for ApiError {
///     fn is_retryable(&self) -> bool {
///         matches!(self, ApiError::Busy { .. })
///     }
///     fn retry_after(&self) -> Option<Duration> {
///         match self {
///             ApiError::Busy { retry_in_ms } => Some(Duration::from_millis(*retry_in_ms)),
///             ApiError::NotFound => None,
///         }
///     }
/// }
///
/// assert!(ApiError::Busy { retry_in_ms: 5 }.is_retryable());
/// assert!(!ApiError::NotFound.is_retryable());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `steadfast::Retryable`, so the default policy cannot tell which of its errors to retry",
    label = "classified by `Retryable` by default",
    note = "choose with `RetryPolicy::when(|e| ..)`, retry every error with `.classify(steadfast::retry::Always)`, or implement `Retryable` for `{Self}`"
)]
pub trait Retryable {
    /// Whether another attempt may succeed.
    fn is_retryable(&self) -> bool;

    /// A delay the server asked for (pushback), used instead of the
    /// schedule's next delay. `None` by default.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// Whether the error reports a deadline that passed (`DEADLINE_EXCEEDED`,
    /// [`TimedOut`](std::io::ErrorKind::TimedOut), [`Elapsed`]). An attempt
    /// that fails with such an error at or after its own deadline has run
    /// out of time, whichever timer fired first, and is retried as a
    /// timeout; any other error is classified as itself. `false` by default.
    fn is_timeout(&self) -> bool {
        false
    }

    /// Whether the server said not to try again (gRPC A6's pushback that
    /// is negative or malformed) of an error that would otherwise be
    /// retried: no retry, and no further hedge, though hedges already
    /// running go on. `false` by default.
    fn stops_retries(&self) -> bool {
        false
    }

    /// The answers at once, as the retry loop asks them (an impl that
    /// shares work between them computes it once here).
    #[doc(hidden)]
    fn verdict(&self) -> Verdict {
        Verdict {
            retryable: self.is_retryable(),
            pushback: self.retry_after(),
            timeout: self.is_timeout(),
            stop: self.stops_retries(),
        }
    }
}

/// What a classifier says of one failed attempt: the three questions a
/// retry loop asks ([`Classify::verdict`]).
///
/// ```
/// use steadfast::retry::{ByRetryable, Classify};
/// use steadfast::__private::Verdict;
///
/// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
/// assert_eq!(ByRetryable.verdict(&reset), Verdict::RETRY);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether another attempt may succeed.
    pub retryable: bool,
    /// The delay the server asked for, replacing the schedule's next one.
    pub pushback: Option<Duration>,
    /// Whether the error reports a deadline that passed.
    pub timeout: bool,
    /// Whether the server said stop of an error that is otherwise retried
    /// (then `retryable` is false too): for a hedge, no further attempt,
    /// the running ones go on; for a retry, a failure A6's throttling counts.
    pub stop: bool,
}

impl Verdict {
    /// The verdict of an error type that knows nothing of retries: retry it.
    ///
    /// ```
    /// assert!(steadfast::__private::Verdict::RETRY.retryable);
    /// ```
    pub const RETRY: Self = Self {
        retryable: true,
        pushback: None,
        timeout: false,
        stop: false,
    };

    /// What `error`'s [`Retryable`] impl says.
    ///
    /// ```
    /// use steadfast::{__private::Verdict, Elapsed};
    /// assert!(Verdict::of(&Elapsed::new()).timeout);
    /// ```
    pub fn of<E: Retryable + ?Sized>(error: &E) -> Self {
        error.verdict()
    }
}

/// An error made from [`CircuitOpen`](crate::CircuitOpen) or
/// [`Limited`](crate::Limited) is retried after its `retry_after`.
impl Retryable for std::io::Error {
    fn is_retryable(&self) -> bool {
        use std::io::ErrorKind::*;
        if circuit_open(self).is_some() || limited(self).is_some() {
            return true;
        }
        matches!(
            self.kind(),
            ConnectionRefused
                | ConnectionReset
                | ConnectionAborted
                | NotConnected
                | BrokenPipe
                | TimedOut
                | Interrupted
        )
    }

    fn retry_after(&self) -> Option<Duration> {
        match circuit_open(self) {
            Some(open) => Some(open.retry_after()),
            None => limited(self).and_then(crate::Limited::retry_after),
        }
    }

    fn is_timeout(&self) -> bool {
        self.kind() == std::io::ErrorKind::TimedOut
    }
}

fn circuit_open(error: &std::io::Error) -> Option<&crate::CircuitOpen> {
    error.get_ref()?.downcast_ref()
}

fn limited(error: &std::io::Error) -> Option<&crate::Limited> {
    error.get_ref()?.downcast_ref()
}

impl Retryable for Elapsed {
    /// Always: an attempt that ran out of time may be faster next time (the
    /// retry loop still never sleeps past the overall deadline).
    fn is_retryable(&self) -> bool {
        true
    }

    fn is_timeout(&self) -> bool {
        true
    }
}

/// How a [`RetryPolicy`](crate::RetryPolicy) decides which errors to retry.
///
/// The default, [`ByRetryable`], asks the error's [`Retryable`] impl;
/// [`When`] takes a predicate; [`Always`] retries every error.
///
/// ```
/// use steadfast::retry::{Always, Classify};
///
/// assert!(Classify::<String>::is_retryable(&Always, &"boom".to_string()));
/// ```
pub trait Classify<E> {
    /// Whether `error` is worth another attempt.
    fn is_retryable(&self, error: &E) -> bool;

    /// A delay the server asked for, replacing the schedule's next one.
    fn retry_after(&self, _error: &E) -> Option<Duration> {
        None
    }

    /// Whether `error` reports a deadline that passed (see
    /// [`Retryable::is_timeout`]). `false` by default.
    fn is_timeout(&self, _error: &E) -> bool {
        false
    }

    /// Whether the server said not to try again (see
    /// [`Retryable::stops_retries`]). `false` by default.
    fn stops_retries(&self, _error: &E) -> bool {
        false
    }

    /// The answers at once, as the retry loop asks them.
    #[doc(hidden)]
    fn verdict(&self, error: &E) -> Verdict {
        Verdict {
            retryable: self.is_retryable(error),
            pushback: self.retry_after(error),
            timeout: self.is_timeout(error),
            stop: self.stops_retries(error),
        }
    }
}

/// Classifies errors by their [`Retryable`] impl: the default.
///
/// ```
/// use steadfast::retry::{ByRetryable, Classify};
///
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// assert!(ByRetryable.is_retryable(&refused));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByRetryable;

impl<E: Retryable> Classify<E> for ByRetryable {
    fn is_retryable(&self, error: &E) -> bool {
        error.is_retryable()
    }

    fn retry_after(&self, error: &E) -> Option<Duration> {
        error.retry_after()
    }

    fn is_timeout(&self, error: &E) -> bool {
        error.is_timeout()
    }

    fn stops_retries(&self, error: &E) -> bool {
        error.stops_retries()
    }

    fn verdict(&self, error: &E) -> Verdict {
        error.verdict()
    }
}

/// Retries every error.
///
/// ```
/// use steadfast::retry::{Always, Classify};
/// assert!(Always.is_retryable(&()));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Always;

impl<E> Classify<E> for Always {
    fn is_retryable(&self, _error: &E) -> bool {
        true
    }
}

/// Retries the errors a predicate accepts; made by
/// [`RetryPolicy::when`](crate::RetryPolicy::when).
///
/// ```
/// use steadfast::retry::{Classify, When};
///
/// let only_short = When::new(|e: &String| e.len() < 5);
/// assert!(only_short.is_retryable(&"busy".to_string()));
/// assert!(!only_short.is_retryable(&"fatal error".to_string()));
/// ```
#[derive(Clone, Copy)]
pub struct When<F>(F);

impl<F> When<F> {
    /// Wraps `predicate`.
    ///
    /// ```
    /// let _ = steadfast::retry::When::new(|_: &std::io::Error| true);
    /// ```
    pub const fn new(predicate: F) -> Self {
        Self(predicate)
    }
}

impl<F> std::fmt::Debug for When<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("When")
    }
}

impl<E, F: Fn(&E) -> bool> Classify<E> for When<F> {
    fn is_retryable(&self, error: &E) -> bool {
        (self.0)(error)
    }
}
