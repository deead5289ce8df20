//! Retries with backoff and deadlines that travel with the work, for tokio
//! and tonic.
//!
//! Declare the policy where the call is:
//!
//! ```
//! use resilient::{deadline, retry};
//! use tonic::Status;
//!
//! #[resilient::deadline(2s)]
//! #[retry(max = 3, backoff = "exp", initial = 100ms)]
//! async fn get_user(id: &str) -> Result<String, Status> {
//!     Ok(format!("user {id}"))
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() { assert_eq!(get_user("1").await.unwrap(), "user 1"); }
//! ```
//!
//! [`#[retry]`](macro@retry) and [`#[deadline]`](macro@deadline) expand to
//! the pieces below, which also work on their own:
//!
//! - [`Backoff`] and [`Jitter`]: delay schedules (exponential, constant,
//!   linear, fibonacci; AWS and gRPC jitter), overflow-proof and seedable.
//! - [`RetryPolicy`]: attempts, schedule, per-attempt timeout, which errors
//!   to retry ([`Retryable`]), and an optional shared [`RetryBudget`].
//! - [`retry()`] and [`retry_blocking`]: run work under a policy;
//!   [`retry::RetryState`] is the state machine under both.
//! - [`deadline`](mod@deadline): deadline scopes carried by the task; nested scopes only
//!   shrink, retries never sleep past them, and [`Elapsed`] converts into
//!   `tonic::Status` and [`std::io::Error`].
//! - [`parse_duration`]: the one duration grammar (`150ms`, `1.5s`, `1m30s`).
//!
//! ```
//! use std::time::Duration;
//! use resilient::{deadline, Backoff, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let policy = RetryPolicy::new()
//!     .max_attempts(3)
//!     .backoff(Backoff::exponential(Duration::from_millis(100)));
//!
//! // One 2 s budget for all attempts, and for every call made inside.
//! let result = deadline::scope(Duration::from_secs(2), resilient::retry(&policy, || async {
//!     Ok::<_, std::io::Error>("pong")
//! }))
//! .await;
//! assert_eq!(result.unwrap().unwrap(), "pong");
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod backoff;
pub mod deadline;
mod local;
pub mod retry;
#[cfg(feature = "tonic")]
pub mod tonic;

pub use backoff::{Backoff, Jitter};
pub use deadline::Elapsed;
pub use resilient_grammar::{parse as parse_duration, DurationError};
#[doc = include_str!("docs/deadline.md")]
pub use resilient_macros::deadline;
#[doc = include_str!("docs/retry.md")]
pub use resilient_macros::retry;
pub use retry::{retry, retry_blocking, RetryBudget, RetryPolicy, Retryable};

/// Includes the code `resilient-build` generated for a proto package: its
/// messages, tonic's `<name>_client` / `<name>_server` modules, and the
/// `Resilient<Name>Client<T>` of each service.
///
/// ```ignore
/// pub mod user {
///     resilient::include_proto!("user");
/// }
/// let mut client = user::ResilientUserServiceClient::connect("http://127.0.0.1:50051").await?;
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:tt) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}
