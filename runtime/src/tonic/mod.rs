//! gRPC glue for tonic (feature `tonic`, on by default).
//!
//! [`Retryable`] for [`tonic::Status`]: only
//! `UNAVAILABLE` is retried by default, as in gRPC, and the server's
//! `grpc-retry-pushback-ms` sets the next delay. [`Codes`] retries another
//! set of codes. [`Elapsed`] converts into `DEADLINE_EXCEEDED`.
//!
//! Deadlines cross the wire: [`PropagateDeadline`] (an interceptor) or
//! [`PropagateDeadlineLayer`] (a `tower::Layer` over `Channel`) send what is
//! left of the current deadline as `grpc-timeout` and number retried
//! attempts; [`DeadlineLayer`] on the server runs each handler inside the
//! deadline its client sent. [`ServiceConfigLayer`] applies a gRPC service
//! config under tonic's own clients; [`ResponseGuard`] answers what tonic
//! would panic on with a status.
//!
//! ```
//! use steadfast::Retryable;
//! use tonic::Status;
//!
//! assert!(Status::unavailable("try again").is_retryable());
//! assert!(!Status::invalid_argument("bad id").is_retryable());
//! let status: Status = steadfast::Elapsed::new().into();
//! assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
//! ```

#[cfg(feature = "channel")]
mod channel;
pub(crate) mod client;
mod codes;
mod config;
#[cfg(feature = "opentelemetry")]
mod context;
mod headers;
pub(crate) mod metrics;
mod mirror;
mod prefixed;
pub(crate) mod pushback;
pub(crate) mod replay;
pub(crate) mod request;
pub(crate) mod rule;
mod scope;
mod server;
mod shed;
pub(crate) mod span_status;
pub(crate) mod streamed;
pub(crate) mod timeout;
pub(crate) use mirror::{guard, unary};

use std::time::Duration;

use ::tonic::{Code, Status};

#[cfg(feature = "channel")]
pub use channel::{connect, connect_lazy, ChannelPolicy, PropagatingChannel as Channel};
pub use client::{
    PropagateDeadline, PropagateDeadlineLayer, PropagateDeadlineService, ResponseFuture,
};
pub use codes::Codes;
pub use config::{
    ServiceConfig, ServiceConfigError, ServiceConfigFuture, ServiceConfigLayer,
    ServiceConfigService,
};
pub use guard::{GuardFuture, Guarded, ResponseGuard, ResponseGuardLayer};
pub use pushback::Pushback;
pub(crate) use pushback::PUSHBACK_HEADER;
pub use scope::{scope, Scoped};
pub use server::{DeadlineLayer, DeadlineService, ScopedResponse};
pub use shed::{LimitFuture, LimitLayer, LimitService, MethodPathError, ServerLimit};
pub(crate) use timeout::parse_timeout;

use crate::breaker::{CircuitOpen, Fault};
use crate::{Elapsed, Retryable};

/// `(service, method)` of a gRPC path (`/user.UserService/GetUser`); the
/// whole path as the method when it has no service.
pub(crate) fn service_and_method(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", path))
}

/// The code `status` stands for once tonic's own transport errors are seen
/// through. A status the server sent has no `source`; one with a source was
/// made by the local transport (or here, from a refusal: see
/// [`LocalRefusal`](crate::LocalRefusal)), and gRPC names the transport's
/// failures:
///
/// - tonic's local expiry of `grpc-timeout` (`CANCELLED`, "Timeout
///   expired") is `DEADLINE_EXCEEDED`;
/// - a connection that broke or closed under the call (`UNKNOWN`
///   "transport error" over an I/O error, a connect error, or a request
///   hyper canceled unsent because its connection closed; or `CANCELLED`
///   because the connection closed before the request went out) is
///   `UNAVAILABLE`.
///
/// Every other status keeps its code.
///
/// ```
/// use steadfast::tonic::effective_code;
/// use tonic::{Code, Status};
///
/// let broken = Status::from_error(Box::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe)));
/// assert_eq!(broken.code(), Code::Unknown);
/// assert_eq!(effective_code(&broken), Code::Unavailable);
/// assert_eq!(effective_code(&Status::unknown("app bug")), Code::Unknown);
/// assert_eq!(effective_code(&Status::cancelled("client gave up")), Code::Cancelled);
/// ```
pub fn effective_code(status: &Status) -> Code {
    let code = status.code();
    if !matches!(code, Code::Unknown | Code::Cancelled) {
        return code;
    }
    let Some(first) = std::error::Error::source(status) else {
        return code;
    };
    let mut source = Some(first);
    while let Some(error) = source {
        if error.is::<::tonic::TimeoutExpired>() {
            return Code::DeadlineExceeded;
        }
        if error.is::<::tonic::ConnectError>() {
            return Code::Unavailable;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.is_retryable() {
                return Code::Unavailable;
            }
        }
        // hyper cancels the requests it had not sent yet when their
        // connection closes ("connection closed"): nothing reached the peer.
        // (Read with feature `tonic` alone too: classification must not
        // change with a feature.)
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
        {
            return Code::Unavailable;
        }
        source = error.source();
    }
    match code {
        Code::Cancelled => Code::Unavailable,
        code => code,
    }
}

impl Retryable for Status {
    /// `UNAVAILABLE` (a broken connection included, see [`effective_code`]),
    /// unless the server's pushback says not to retry.
    fn is_retryable(&self) -> bool {
        self.verdict().retryable
    }

    fn retry_after(&self) -> Option<Duration> {
        Pushback::of(self).delay()
    }

    /// `DEADLINE_EXCEEDED`, tonic's local expiry of `grpc-timeout` included,
    /// or `CANCELLED` (tonic's server answers it when its copy of the
    /// deadline runs out): at or after the deadline, the call ran out of
    /// time.
    fn is_timeout(&self) -> bool {
        rule::reports_timeout(effective_code(self))
    }

    /// `UNAVAILABLE` with a pushback that says stop.
    fn stops_retries(&self) -> bool {
        self.verdict().stop
    }

    fn verdict(&self) -> crate::retry::Verdict {
        let code = effective_code(self);
        rule::verdict(code, Pushback::of(self), code == Code::Unavailable)
    }
}

/// The server's faults count against a circuit breaker: `UNAVAILABLE`
/// (a broken connection included, see [`effective_code`]),
/// `DEADLINE_EXCEEDED`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS`. Every other code
/// says the caller asked for something wrong, and counts as a success.
impl Fault for Status {
    fn is_fault(&self) -> bool {
        matches!(
            effective_code(self),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Internal
                | Code::Unknown
                | Code::DataLoss
        )
    }
}

/// `UNAVAILABLE`, with [`CircuitOpen::retry_after`] as
/// `grpc-retry-pushback-ms` (rounded up to whole milliseconds, so that a
/// retry never comes back before the breaker would let it through).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{CircuitOpen, Retryable};
///
/// let status: tonic::Status = CircuitOpen::new(Duration::from_millis(250)).into();
/// assert_eq!(status.code(), tonic::Code::Unavailable);
/// assert_eq!(status.retry_after(), Some(Duration::from_millis(250)));
/// let status: tonic::Status = CircuitOpen::new(Duration::from_micros(400)).into();
/// assert_eq!(status.metadata().get("grpc-retry-pushback-ms").unwrap(), "1");
/// ```
impl From<CircuitOpen> for Status {
    fn from(open: CircuitOpen) -> Self {
        let mut status = Status::unavailable(open.to_string());
        pushback::set_pushback(&mut status, open.retry_after());
        status.set_source(std::sync::Arc::new(open));
        status
    }
}

/// `RESOURCE_EXHAUSTED`, carrying the time until the limit may admit the
/// call as `grpc-retry-pushback-ms` when it is known (rounded up to whole
/// milliseconds).
///
/// ```
/// use std::time::Duration;
/// use steadfast::limit::{Limited, Which};
/// use tonic::{Code, Status};
///
/// let status: Status = Limited::new(Which::Rate, "orders", Some(Duration::from_micros(2500))).into();
/// assert_eq!(status.code(), Code::ResourceExhausted);
/// assert_eq!(status.metadata().get("grpc-retry-pushback-ms").unwrap(), "3");
/// ```
impl From<crate::Limited> for Status {
    fn from(limited: crate::Limited) -> Self {
        let mut status = Status::resource_exhausted(limited.to_string());
        if let Some(after) = limited.retry_after() {
            pushback::set_pushback(&mut status, after);
        }
        status.set_source(std::sync::Arc::new(limited));
        status
    }
}

impl From<Elapsed> for Status {
    fn from(elapsed: Elapsed) -> Self {
        let mut status = Status::deadline_exceeded(elapsed.to_string());
        status.set_source(std::sync::Arc::new(elapsed));
        status
    }
}

/// A status made here from a [`Limited`](crate::Limited),
/// [`CircuitOpen`] or [`Elapsed`] keeps it as its source, which a status
/// read from the wire never has: a server's `RESOURCE_EXHAUSTED` is not a
/// local refusal.
///
/// ```
/// use steadfast::{Elapsed, LocalRefusal};
/// use tonic::Status;
///
/// assert!(Status::from(Elapsed::new()).is_local_refusal());
/// assert!(!Status::deadline_exceeded("the server's deadline").is_local_refusal());
/// ```
impl crate::LocalRefusal for Status {
    fn is_local_refusal(&self) -> bool {
        std::error::Error::source(self).is_some_and(crate::fallback::is_refusal)
    }
}
