//! The one vocabulary of `steadfast`: how durations, rates, backoff
//! schedules, jitter and status codes are spelled, and which values they may take.
//!
//! The `#[retry]` and `#[deadline]` attributes, the `(steadfast.policy)`
//! proto options and gRPC service config files all accept the same words and
//! check them against the same rules, because all of them use this crate: a
//! proc-macro crate cannot export functions and the runtime cannot be a
//! dependency of the macros, so the shared part lives here.
//!
//! Users normally reach it through `steadfast::parse_duration`.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_grammar::policy::{Growth, Jitter};
//!
//! assert_eq!(steadfast_grammar::parse("1m30s"), Ok(Duration::from_secs(90)));
//! assert_eq!(Growth::from_name("fib"), Some(Growth::Fibonacci));
//! assert_eq!(Jitter::parse("0.2"), Ok(Jitter::Fraction(0.2)));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "client-config")]
pub mod client_config;
mod duration;
pub mod policy;
pub mod rate;
#[cfg(feature = "service-config")]
pub mod service_config;
pub mod suggest;

pub use duration::{parse, DurationError, ErrorKind};
