use std::time::Duration;

use ::tonic::{Code, Status};

use super::Pushback;
use crate::retry::{Classify, Verdict};

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
        self.verdict(status).retryable
    }

    fn retry_after(&self, status: &Status) -> Option<Duration> {
        Pushback::of(status).delay()
    }

    fn is_timeout(&self, status: &Status) -> bool {
        super::rule::reports_timeout(super::effective_code(status))
    }

    fn stops_retries(&self, status: &Status) -> bool {
        self.verdict(status).stop
    }

    fn verdict(&self, status: &Status) -> Verdict {
        let code = super::effective_code(status);
        super::rule::verdict(code, Pushback::of(status), self.0.contains(&code))
    }
}
