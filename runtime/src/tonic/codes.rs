use std::time::Duration;

use ::tonic::{Code, Status};

use super::Pushback;
use crate::retry::Classify;

/// Retries a `tonic::Status` whose code is in a list, honouring pushback:
/// what gRPC's `retryableStatusCodes` and the `on = [..]` key of `#[retry]` do.
///
/// ```
/// use steadfast::retry::Classify;
/// use steadfast::tonic::Codes;
/// use tonic::{Code, Status};
///
/// const TRANSIENT: Codes = Codes::new(&[Code::Unavailable, Code::ResourceExhausted]);
/// assert!(TRANSIENT.is_retryable(&Status::resource_exhausted("quota")));
/// assert!(!TRANSIENT.is_retryable(&Status::internal("bug")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codes(&'static [Code]);

impl Codes {
    /// Retries the given codes.
    ///
    /// ```
    /// let _ = steadfast::tonic::Codes::new(&[tonic::Code::Aborted]);
    /// ```
    pub const fn new(codes: &'static [Code]) -> Self {
        Self(codes)
    }

    /// The codes retried.
    ///
    /// ```
    /// use tonic::Code;
    /// assert_eq!(steadfast::tonic::Codes::new(&[Code::Aborted]).codes(), &[Code::Aborted]);
    /// ```
    pub const fn codes(&self) -> &'static [Code] {
        self.0
    }
}

impl Classify<Status> for Codes {
    fn is_retryable(&self, status: &Status) -> bool {
        self.0.contains(&super::effective_code(status)) && Pushback::of(status) != Pushback::Stop
    }

    fn retry_after(&self, status: &Status) -> Option<Duration> {
        Pushback::of(status).delay()
    }

    fn is_timeout(&self, status: &Status) -> bool {
        super::effective_code(status) == Code::DeadlineExceeded
    }

    fn stops_retries(&self, status: &Status) -> bool {
        self.0.contains(&super::effective_code(status)) && Pushback::of(status) == Pushback::Stop
    }
}
