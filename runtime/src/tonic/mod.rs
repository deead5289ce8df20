//! gRPC glue for tonic (feature `tonic`, on by default).
//!
//! [`Retryable`] for [`tonic::Status`]: only
//! `UNAVAILABLE` is retried by default, as in gRPC, and the server's
//! `grpc-retry-pushback-ms` sets the next delay. [`Codes`] retries another
//! set of codes. [`Elapsed`] converts into `DEADLINE_EXCEEDED`.
//!
//! ```
//! use resilient::Retryable;
//! use tonic::Status;
//!
//! assert!(Status::unavailable("try again").is_retryable());
//! assert!(!Status::invalid_argument("bad id").is_retryable());
//! let status: Status = resilient::Elapsed::new().into();
//! assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
//! ```

mod codes;
mod pushback;

use std::time::Duration;

use ::tonic::{Code, Status};

pub use codes::Codes;
pub use pushback::{Pushback, PUSHBACK_HEADER};

use crate::{Elapsed, Retryable};

impl Retryable for Status {
    /// `UNAVAILABLE`, unless the server's pushback says not to retry.
    fn is_retryable(&self) -> bool {
        self.code() == Code::Unavailable && Pushback::of(self) != Pushback::Stop
    }

    fn retry_after(&self) -> Option<Duration> {
        Pushback::of(self).delay()
    }
}

impl From<Elapsed> for Status {
    fn from(elapsed: Elapsed) -> Self {
        Status::deadline_exceeded(elapsed.to_string())
    }
}
