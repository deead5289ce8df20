//! The refusal of a limit, and the error of a limit's checked builder.

use std::fmt;
use std::time::Duration;

/// Which kind of limit refused a call.
///
/// ```
/// assert_eq!(steadfast::limit::Which::Rate.as_str(), "rate");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// A [`RateLimiter`](super::RateLimiter): too many calls per unit of time.
    Rate,
    /// A [`ConcurrencyLimit`](super::ConcurrencyLimit): too many calls in flight.
    Concurrency,
}

impl Which {
    /// `"rate"` or `"concurrency"`.
    ///
    /// ```
    /// assert_eq!(steadfast::limit::Which::Concurrency.as_str(), "concurrency");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Concurrency => "concurrency",
        }
    }
}

/// The error of a call that a limit refused: it failed at once, without
/// running.
///
/// It converts into the error types calls return: `tonic::Status`
/// `RESOURCE_EXHAUSTED` carrying [`retry_after`](Self::retry_after) as
/// `grpc-retry-pushback-ms` when it is known (feature `tonic`), and
/// [`std::io::Error`]. Both are retryable with that delay, as a
/// [`CircuitOpen`](crate::CircuitOpen) is: an outer `#[retry]` waits for the
/// limit when that fits the deadline.
///
/// ```
/// use std::time::Duration;
/// use steadfast::limit::{Limited, Which};
/// use steadfast::Retryable;
///
/// let limited = Limited::new(Which::Rate, "orders", Some(Duration::from_millis(20)));
/// assert_eq!(limited.to_string(), "rate limit `orders` reached: try again in 20ms");
/// let io: std::io::Error = limited.into();
/// assert_eq!(io.retry_after(), Some(Duration::from_millis(20)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    which: Which,
    name: &'static str,
    retry_after: Option<Duration>,
}

impl Limited {
    /// A refusal by the limit `name` of kind `which`, which may admit the
    /// call after `retry_after`.
    ///
    /// ```
    /// use steadfast::limit::{Limited, Which};
    /// let limited = Limited::new(Which::Concurrency, "db", None);
    /// assert_eq!(limited.which(), Which::Concurrency);
    /// ```
    pub const fn new(which: Which, name: &'static str, retry_after: Option<Duration>) -> Self {
        Self {
            which,
            name,
            retry_after,
        }
    }

    /// Which kind of limit refused the call.
    ///
    /// ```
    /// use steadfast::limit::{Limited, Which};
    /// assert_eq!(Limited::new(Which::Rate, "", None).which(), Which::Rate);
    /// ```
    pub const fn which(&self) -> Which {
        self.which
    }

    /// The name of the limit (`RateLimiter::named`), `""` when it has none.
    ///
    /// ```
    /// use steadfast::limit::{Limited, Which};
    /// assert_eq!(Limited::new(Which::Rate, "orders", None).name(), "orders");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// When the limit may admit the call: known for a rate limit (its next
    /// free slot), not for a concurrency limit (a place frees when a call
    /// ends).
    ///
    /// ```
    /// use steadfast::limit::{Limited, Which};
    /// assert_eq!(Limited::new(Which::Concurrency, "db", None).retry_after(), None);
    /// ```
    pub const fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} limit", self.which.as_str())?;
        if !self.name.is_empty() {
            write!(f, " `{}`", self.name)?;
        }
        f.write_str(" reached")?;
        match self.retry_after {
            Some(after) => write!(f, ": try again in {after:?}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Limited {}

impl From<Limited> for std::io::Error {
    /// An error of kind [`Other`](std::io::ErrorKind::Other) carrying the
    /// `Limited`; `Retryable` for `io::Error` retries it after
    /// `retry_after`.
    fn from(limited: Limited) -> Self {
        std::io::Error::other(limited)
    }
}

impl crate::Retryable for Limited {
    fn is_retryable(&self) -> bool {
        true
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// Why a limit's checked builder (`try_per`, `try_new`) refused its
/// settings.
///
/// ```
/// let error = steadfast::RateLimiter::try_per_second(0).unwrap_err();
/// assert_eq!(error.to_string(), "a rate limit admits at least one call per period, not 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError(pub(crate) &'static str, pub(crate) String);

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

impl std::error::Error for LimitError {}
