#![cfg_attr(feature = "tonic", doc = include_str!("docs/crate.md"))]
#![cfg_attr(
    not(feature = "tonic"),
    doc = "Retries with backoff and deadlines that travel with the work, for tokio. \
           Its examples use tonic: build the documentation with feature `tonic`."
)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod backoff;
pub mod breaker;
mod clock;
#[cfg(feature = "config")]
pub mod config;
pub mod deadline;
mod fallback;
pub mod hedge;
pub mod limit;
mod local;
pub mod retry;
#[cfg(feature = "tonic")]
pub mod tonic;
mod trace;
mod window;

pub use backoff::{Backoff, Jitter};
pub use breaker::{AdaptiveThrottle, CircuitBreaker, CircuitOpen, CircuitState};
pub use deadline::Elapsed;
pub use fallback::LocalRefusal;
pub use limit::{AdaptiveLimit, ConcurrencyLimit, KeyedRateLimiter, Limited, RateLimiter};
pub use retry::{retry, retry_blocking, RatioBudget, RetryBudget, RetryPolicy, Retryable};
pub use steadfast_grammar::{parse as parse_duration, DurationError};
#[cfg_attr(feature = "tonic", doc = include_str!("docs/circuit_breaker.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Fails fast while the service behind the function keeps failing (documented with feature `tonic`)."
)]
pub use steadfast_macros::circuit_breaker;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/concurrency_limit.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Runs at most as many calls at once as a `ConcurrencyLimit` allows (documented with feature `tonic`)."
)]
pub use steadfast_macros::concurrency_limit;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/deadline.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Runs the function inside a deadline scope (documented with feature `tonic`)."
)]
pub use steadfast_macros::deadline;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/fallback.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Answers a local refusal (a limit, an open breaker, a deadline) with a handler of the function's own (documented with feature `tonic`)."
)]
pub use steadfast_macros::fallback;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/hedge.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Starts another attempt when the first is slow, and takes the first answer (documented with feature `tonic`)."
)]
pub use steadfast_macros::hedge;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/rate_limit.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Admits the calls at the rate a `RateLimiter` allows (documented with feature `tonic`)."
)]
pub use steadfast_macros::rate_limit;
#[cfg_attr(feature = "tonic", doc = include_str!("docs/retry.md"))]
#[cfg_attr(
    not(feature = "tonic"),
    doc = "Runs the function again when it fails (documented with feature `tonic`)."
)]
pub use steadfast_macros::retry;

/// Includes the code `steadfast-build` generated for a proto package: its
/// messages, tonic's `<name>_client` / `<name>_server` modules, and the
/// `Resilient<Name>Client<T>` of each service.
///
/// ```ignore
/// pub mod user {
///     steadfast::include_proto!("user");
/// }
/// let mut client = user::ResilientUserServiceClient::connect("http://127.0.0.1:50051").await?;
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:tt) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}
