use std::fmt;
use std::time::Duration;

/// Where a [`CircuitBreaker`](crate::CircuitBreaker) stands.
///
/// ```
/// use steadfast::{CircuitBreaker, CircuitState};
///
/// static BREAKER: CircuitBreaker = CircuitBreaker::new();
/// assert_eq!(BREAKER.state(), CircuitState::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CircuitState {
    /// Calls go through, and their outcomes are counted.
    Closed,
    /// Calls fail at once with [`CircuitOpen`], until the open period ends.
    Open,
    /// A few probe calls go through; the rest fail at once.
    HalfOpen,
}

impl CircuitState {
    /// `"closed"`, `"open"` or `"half-open"`.
    ///
    /// ```
    /// assert_eq!(steadfast::CircuitState::HalfOpen.as_str(), "half-open");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of a call that a [`CircuitBreaker`](crate::CircuitBreaker)
/// refused: it failed at once, without running.
///
/// It converts into the error types calls return: `tonic::Status`
/// `UNAVAILABLE` carrying [`retry_after`](Self::retry_after) as
/// `grpc-retry-pushback-ms` (feature `tonic`), and [`std::io::Error`]. Both
/// are retryable with that delay, so an outer `#[retry]` waits for the
/// breaker to let probes through when that fits the deadline, and stops at
/// once when it does not.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{CircuitOpen, Retryable};
///
/// let open = CircuitOpen::new(Duration::from_millis(1500));
/// assert_eq!(open.retry_after(), Duration::from_millis(1500));
/// assert_eq!(open.to_string(), "circuit breaker open: calls fail fast for another 1.5s");
///
/// let io: std::io::Error = open.into();
/// assert_eq!(io.retry_after(), Some(Duration::from_millis(1500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitOpen {
    retry_after: Duration,
    /// Refused by an [`AdaptiveThrottle`](crate::AdaptiveThrottle)'s odds
    /// rather than an open breaker.
    throttled: bool,
}

impl CircuitOpen {
    /// A refusal that ends in `retry_after`.
    ///
    /// ```
    /// let open = steadfast::CircuitOpen::new(std::time::Duration::from_secs(1));
    /// assert_eq!(open.retry_after().as_secs(), 1);
    /// ```
    pub const fn new(retry_after: Duration) -> Self {
        Self {
            retry_after,
            throttled: false,
        }
    }

    /// A refusal by an adaptive throttle, which may admit calls again as
    /// its window moves on (`retry_after`).
    pub(crate) const fn throttled(retry_after: Duration) -> Self {
        Self {
            retry_after,
            throttled: true,
        }
    }

    /// Whether an [`AdaptiveThrottle`](crate::AdaptiveThrottle) refused the
    /// call (the service accepted too few calls lately), rather than an open
    /// breaker.
    ///
    /// ```
    /// assert!(!steadfast::CircuitOpen::new(std::time::Duration::ZERO).is_throttled());
    /// ```
    pub const fn is_throttled(&self) -> bool {
        self.throttled
    }

    /// How long until the breaker lets a probe through: the rest of the
    /// open period, or, while the probes of a half-open breaker are out or
    /// it is forced open, its whole open period (the most it can take).
    ///
    /// ```
    /// let open = steadfast::CircuitOpen::new(std::time::Duration::ZERO);
    /// assert!(open.retry_after().is_zero());
    /// ```
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.throttled {
            return f.write_str(
                "throttled: the service accepted too few calls lately, so some fail fast here",
            );
        }
        write!(
            f,
            "circuit breaker open: calls fail fast for another {:?}",
            self.retry_after
        )
    }
}

impl std::error::Error for CircuitOpen {}

impl From<CircuitOpen> for std::io::Error {
    /// An error of kind [`Other`](std::io::ErrorKind::Other) carrying the
    /// `CircuitOpen`; `Retryable` for `io::Error` retries it after
    /// `retry_after`.
    fn from(open: CircuitOpen) -> Self {
        std::io::Error::other(open)
    }
}

impl crate::Retryable for CircuitOpen {
    fn is_retryable(&self) -> bool {
        true
    }

    fn retry_after(&self) -> Option<Duration> {
        Some(self.retry_after)
    }
}

/// Which errors a [`CircuitBreaker`](crate::CircuitBreaker) counts as
/// failures of the service behind it.
///
/// `#[circuit_breaker]` asks this impl when the error type has one, and
/// counts every `Err` otherwise (`when = predicate` overrides both).
/// Implemented for `tonic::Status` (the server's faults: `UNAVAILABLE`,
/// `DEADLINE_EXCEEDED`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS`; every other code
/// is the caller's and counts as a success), for [`std::io::Error`],
/// [`Elapsed`](crate::Elapsed) and [`CircuitOpen`] (always).
///
/// ```
/// use steadfast::breaker::Fault;
///
/// enum ApiError { Overloaded, NotFound }
///
/// impl Fault for ApiError {
///     fn is_fault(&self) -> bool {
///         matches!(self, ApiError::Overloaded)
///     }
/// }
/// assert!(!ApiError::NotFound.is_fault());
/// ```
pub trait Fault {
    /// Whether this error is the service's fault, and counts against it.
    fn is_fault(&self) -> bool;
}

impl Fault for std::io::Error {
    fn is_fault(&self) -> bool {
        true
    }
}

impl Fault for crate::Elapsed {
    fn is_fault(&self) -> bool {
        true
    }
}

impl Fault for CircuitOpen {
    fn is_fault(&self) -> bool {
        true
    }
}
