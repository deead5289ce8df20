//! Everything that code emitted by `steadfast-macros` and `steadfast-build`
//! names of the runtime: the contract between the three crates. Not public
//! API: no stability promise to users. A section of its own, at the end of
//! the re-exports, holds what the crate's doctests, tests and fuzz targets
//! reach of its internals; emitted code names none of it.
//!
//! Emitted code opens with `contract!(N)`, N being the version of this
//! module it was written for ([`CONTRACT`]); any other number is a compile
//! error that says which crates to align.

use std::time::Duration;

pub use crate::backoff::defaults::DEFAULT_INITIAL;
pub use crate::backoff::{Backoff, Jitter};
pub use crate::breaker::{AdaptiveThrottle, CircuitBreaker, CircuitOpen, Fault};
pub use crate::deadline::emitted::{carried, timed};
pub use crate::deadline::scope;
pub use crate::hedge::{hedge, HedgePolicy, Latency};
pub use crate::retry::classify::Verdict;
pub use crate::retry::state::{Next, RetryState};
pub use crate::retry::{Nested, RetryPolicy};
pub use crate::{Elapsed, Retryable};
pub use tokio::time::sleep;

pub use crate::__steadfast_contract as contract;
pub use crate::__steadfast_function_spans as function_spans;
pub use crate::__steadfast_span as span;
#[cfg(feature = "channel")]
pub use crate::tonic::ChannelPolicy;
#[cfg(all(feature = "tonic", not(feature = "channel")))]
pub use without_channel::ChannelPolicy;

/// What a generated `connect` with `(steadfast.channel)` names when the
/// runtime has `tonic` but not `channel`: its settings compile, and
/// applying them is an error that names the feature.
#[cfg(all(feature = "tonic", not(feature = "channel")))]
mod without_channel {
    use std::time::Duration;

    /// Stands in for `steadfast::tonic::ChannelPolicy`.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct ChannelPolicy;

    /// What applying channel settings needs.
    #[diagnostic::on_unimplemented(
        message = "`(steadfast.channel)` options need feature `channel` of `steadfast`, which is off",
        label = "a generated `connect` applies `(steadfast.channel)` here",
        note = "enable feature `channel` (on by default), or remove the `(steadfast.channel)` option"
    )]
    pub trait ChannelNeedsFeature {}

    impl ChannelPolicy {
        pub const fn new() -> Self {
            Self
        }
        pub const fn connect_timeout(self, _: Duration) -> Self {
            self
        }
        pub const fn keepalive(self, _: Duration, _: Duration) -> Self {
            self
        }
        pub const fn keepalive_while_idle(self, _: bool) -> Self {
            self
        }
        pub const fn tcp_keepalive(self, _: Duration) -> Self {
            self
        }
        pub fn apply<E: ChannelNeedsFeature>(&self, endpoint: E) -> E {
            endpoint
        }
    }
}
#[cfg(feature = "config")]
pub use crate::config::attempts::{Attempts as ConfigAttempts, Outcome as ConfigOutcome};
#[cfg(feature = "config")]
pub use crate::config::generated::{configure, kind as config_kind, Configured};
#[cfg(feature = "config")]
pub use crate::config::{CallPolicy, Clients as ConfigClients, ConfigError};
pub use crate::fallback::handler::{
    answer, answer_now, call_fallback, fallback_mode, is_local_refusal, keep, RefusalProbe,
    ViaLocalRefusal, ViaNoRefusal,
};
pub use crate::limit::registry::registered_or as registered_rate_limiter;

/// `config_enabled!()`: opens code generated with `from_config`; a compile
/// error that says what to enable when the runtime lacks feature `config`.
#[cfg(feature = "config")]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_config_enabled {
    () => {};
}

/// `config_enabled!()`: opens code generated with `from_config`; a compile
/// error that says what to enable when the runtime lacks feature `config`.
#[cfg(not(feature = "config"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_config_enabled {
    () => {
        ::core::compile_error!(
            "this client was generated with `from_config` (steadfast_build::Builder::from_config): \
             enable steadfast's feature `config`"
        );
    };
}
pub use crate::__steadfast_config_enabled as config_enabled;
pub use crate::limit::{AdaptiveLimit, ConcurrencyLimit, KeyedRateLimiter, Limited, RateLimiter};
#[cfg(feature = "tonic")]
pub use crate::tonic::request::{propagate_deadline, request_timeout, ReplayableRequest};
#[cfg(feature = "tonic")]
pub use crate::tonic::streamed::{ReplayableStream, Replayed};
#[cfg(feature = "tonic")]
pub use crate::tonic::ResponseGuard;
pub use crate::RetryBudget;
pub use steadfast_macros::{
    __rpc as rpc, circuit_breaker, concurrency_limit, deadline, fallback, hedge, rate_limit, retry,
};

/// Not named by emitted code: the rules' own doctests, the crate's tests and
/// the fuzz targets reach the state machines, the wire codec and its
/// constants here.
pub use crate::deadline::scope::Timed;
pub use crate::hedge::state::{AfterError, HedgeState};
pub use crate::retry::state::Decision;
#[cfg(feature = "tonic")]
pub use crate::tonic::client::PREVIOUS_ATTEMPTS_HEADER;
#[cfg(feature = "tonic")]
pub use crate::tonic::guard::guard_status_headers;
#[cfg(feature = "tonic")]
pub use crate::tonic::pushback::PUSHBACK_HEADER;
#[cfg(feature = "tonic")]
pub use crate::tonic::timeout::{encode_timeout, parse_timeout, InvalidTimeout, TIMEOUT_HEADER};

/// The version of this module's contract with emitted code. The macros and
/// `steadfast-build` write the number they were made for in `contract!`.
/// 2: generated clients look up `registered_rate_limiter` (proto option
/// `rate_limit { shared }`), and, built with `from_config`, name
/// `config_enabled`, `configure`, `Configured`, `config_kind`,
/// `ConfigClients`, `ConfigError` and `CallPolicy`. 3: `configure` takes the
/// service's compiled retry budget, and each method's compiled policy in
/// the file's words carries its breaker and limits (`circuitBreaker`,
/// `rateLimit`, `concurrency`), which the settings' gates replace;
/// `Configured::call` takes the method's index and gives an
/// `Arc<CallPolicy>`; a configured call's attempts are
/// `#[retry(__driven_by = policy)]` (`ConfigAttempts`, `ConfigOutcome`)
/// under `CallPolicy::within_timeout`.
pub const CONTRACT: u32 = 3;

/// `contract!(N)`: nothing when N is this runtime's [`CONTRACT`], a compile
/// error naming both versions otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_contract {
    (3) => {};
    ($other:literal) => {
        ::core::compile_error!(::core::concat!(
            "this code was generated for version ",
            ::core::stringify!($other),
            " of the contract between steadfast-macros/steadfast-build and the `steadfast` runtime, \
             but the runtime in use speaks version 3: use the same release of steadfast, \
             steadfast-macros and steadfast-build (and regenerate: `cargo clean -p <your crate>`)"
        ));
    };
}

#[cfg(feature = "tonic")]
pub use crate::tonic::metrics::{AttemptStats, CallStats, Target};
#[cfg(feature = "tonic")]
pub use crate::tonic::span_status::{record_status, record_status_here};
#[cfg(feature = "tonic")]
pub use crate::tonic::unary::UnaryClient;
pub use crate::trace::{enter, enter_if, in_span, no_span, traced, Entered, Guard, InSpan, Span};
#[cfg(feature = "tracing")]
pub use ::tracing;

#[cfg(feature = "tonic")]
pub use ::tonic::Code;

/// What a `#[deadline]` scope outside any retry loop returns: the body's
/// result, or `Elapsed` converted into its error type when the time ran out
/// (the scope's timer fired, or the body failed with a timeout error at or
/// after the deadline: the same rule as [`RetryState::end_timed`]).
#[inline]
pub fn deadline_result<T, E>(
    scoped: Result<Result<T, E>, Elapsed>,
    until: tokio::time::Instant,
    verdict: impl FnOnce(&E) -> Verdict,
    elapsed: impl FnOnce(Elapsed) -> E,
) -> Result<T, E> {
    match scoped {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) if !crate::deadline::ran_out(until, verdict(&error).timeout) => Err(error),
        _ => Err(elapsed(Elapsed::new())),
    }
}

/// Drops a failed attempt's error before the retry sleeps, so that it is
/// not held across the sleep.
#[inline(always)]
pub fn discard<E>(_error: E) {}

/// The thread sleep between attempts of a blocking function.
pub fn sleep_blocking(delay: Duration) {
    std::thread::sleep(delay);
}

/// Parameters taken by value are cloned into each attempt.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is taken by value, so `#[retry]` must clone it for each attempt, but it is not `Clone`",
    label = "not `Clone`: take it by reference, or make it `Clone`"
)]
pub trait AttemptArg: Clone {}

impl<T: Clone> AttemptArg for T {}

/// Clones a by-value parameter for one attempt.
#[inline(always)]
pub fn clone_arg<T: AttemptArg>(value: &T) -> T {
    value.clone()
}

/// The error a function returns when its deadline passes.
#[diagnostic::on_unimplemented(
    message = "`#[deadline]` and `per_attempt` need the error type to implement `From<steadfast::Elapsed>`, and `{Self}` does not",
    label = "the error type of this `Result` must implement `From<steadfast::Elapsed>`",
    note = "`tonic::Status`, `std::io::Error`, `Box<dyn Error>` and `anyhow::Error` do; for your own type, add `impl From<steadfast::Elapsed>`"
)]
pub trait FromElapsed {
    /// Converts the elapsed deadline.
    fn from_elapsed(elapsed: Elapsed) -> Self;
}

impl<E: From<Elapsed>> FromElapsed for E {
    fn from_elapsed(elapsed: Elapsed) -> Self {
        E::from(elapsed)
    }
}

/// `Elapsed` into the function's error type.
#[inline]
pub fn elapsed_into<E: FromElapsed>(elapsed: Elapsed) -> E {
    E::from_elapsed(elapsed)
}

/// Autoref specialisation: errors that implement [`Retryable`] are
/// classified by it, any other error is retried (and is never a timeout).
#[derive(Debug)]
pub struct Probe<'a, E>(pub &'a E);

/// Picked first, when `E: Retryable`.
pub trait ViaRetryable {
    /// What the error's `Retryable` impl says.
    fn __steadfast_verdict(&self) -> Verdict;
}

impl<E: Retryable> ViaRetryable for Probe<'_, E> {
    #[inline]
    fn __steadfast_verdict(&self) -> Verdict {
        Verdict::of(self.0)
    }
}

/// Picked otherwise: every error is retried.
pub trait ViaAny {
    /// Retry.
    fn __steadfast_verdict(&self) -> Verdict;
}

impl<E> ViaAny for &Probe<'_, E> {
    #[inline]
    fn __steadfast_verdict(&self) -> Verdict {
        Verdict::RETRY
    }
}

/// `when = predicate`: the predicate decides what is retried; whether the
/// error reports a timeout still comes from the error's type.
#[inline]
pub fn when(retryable: bool, by_type: Verdict) -> Verdict {
    Verdict {
        retryable,
        pushback: None,
        timeout: by_type.timeout,
        stop: false,
    }
}

/// What a function whose breaker refused the call returns.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs the error type to implement `From<steadfast::CircuitOpen>`, and `{Self}` does not",
    label = "the error type of this `Result` must implement `From<steadfast::CircuitOpen>`",
    note = "`tonic::Status` and `std::io::Error` do; for your own type, add `impl From<steadfast::CircuitOpen>`"
)]
pub trait Refusable {
    /// `Err(E::from(open))`.
    fn refused(open: CircuitOpen) -> Self;
}

impl<T, E: From<CircuitOpen>> Refusable for Result<T, E> {
    #[inline]
    fn refused(open: CircuitOpen) -> Self {
        Err(E::from(open))
    }
}

/// The result of a call the breaker refused.
#[cold]
pub fn refused<R: Refusable>(open: CircuitOpen) -> R {
    R::refused(open)
}

/// What a function whose rate or concurrency limit refused the call
/// returns.
#[diagnostic::on_unimplemented(
    message = "`#[rate_limit]` and `#[concurrency_limit]` need the error type to implement `From<steadfast::Limited>`, and `{Self}` does not",
    label = "the error type of this `Result` must implement `From<steadfast::Limited>`",
    note = "`tonic::Status` and `std::io::Error` do; for your own type, add `impl From<steadfast::Limited>`"
)]
pub trait Limitable {
    /// `Err(E::from(limited))`.
    fn limited(limited: Limited) -> Self;
}

impl<T, E: From<Limited>> Limitable for Result<T, E> {
    #[inline]
    fn limited(limited: Limited) -> Self {
        Err(E::from(limited))
    }
}

/// The result of a call a limit refused.
#[cold]
pub fn limited<R: Limitable>(limited: Limited) -> R {
    R::limited(limited)
}

/// Autoref specialisation: errors that implement [`Fault`] say whether they
/// count against the breaker; any other error does.
#[derive(Debug)]
pub struct FaultProbe<'a, E>(pub &'a E);

/// Picked first, when `E: Fault`.
pub trait ViaFault {
    /// What the error's `Fault` impl says.
    fn __steadfast_is_fault(&self) -> bool;
}

impl<E: Fault> ViaFault for FaultProbe<'_, E> {
    #[inline]
    fn __steadfast_is_fault(&self) -> bool {
        self.0.is_fault()
    }
}

/// Picked otherwise: every error is a failure.
pub trait ViaAnyFault {
    /// A failure.
    fn __steadfast_is_fault(&self) -> bool;
}

impl<E> ViaAnyFault for &FaultProbe<'_, E> {
    #[inline]
    fn __steadfast_is_fault(&self) -> bool {
        true
    }
}

/// Without feature `tonic`, `on = [..]` is an error that says so.
#[cfg(not(feature = "tonic"))]
#[allow(missing_docs, non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy)]
pub enum Code {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

/// What `on = [..]` needs.
#[cfg(not(feature = "tonic"))]
#[diagnostic::on_unimplemented(
    message = "`on = [..]` classifies `tonic::Status` errors, and needs feature `tonic` of `steadfast`",
    label = "`on = [..]` without feature `tonic`",
    note = "enable feature `tonic` (on by default), or choose errors with `when = predicate`"
)]
pub trait OnNeedsTonic {}

/// `on = [..]` without feature `tonic`: a compile error.
#[cfg(not(feature = "tonic"))]
pub fn codes<E: OnNeedsTonic>(_codes: &'static [Code], _error: &E) -> Verdict {
    Verdict::RETRY
}

/// A generated client's call under the caller's own timeout
/// (`tonic::Request::set_timeout`), when it set one, answered as
/// [`crate::tonic::scope`] answers. A future of its own rather than an
/// `async fn` with two branches, which would hold the call's future twice
/// and copy it on every call.
#[cfg(feature = "tonic")]
pub fn within<F, T>(timeout: Option<Duration>, call: F) -> Within<F>
where
    F: std::future::Future<Output = Result<T, ::tonic::Status>>,
{
    match timeout {
        None => Within::Plain { call },
        Some(timeout) => Within::Scoped {
            call: crate::tonic::scope(timeout, call),
        },
    }
}

#[cfg(feature = "tonic")]
pin_project_lite::pin_project! {
    /// The future of [`within`].
    #[project = WithinProj]
    #[derive(Debug)]
    pub enum Within<F> {
        /// No timeout of its own.
        Plain { #[pin] call: F },
        /// Under the request's timeout.
        Scoped { #[pin] call: crate::tonic::Scoped<F> },
    }
}

#[cfg(feature = "tonic")]
impl<F, T> std::future::Future for Within<F>
where
    F: std::future::Future<Output = Result<T, ::tonic::Status>>,
{
    type Output = Result<T, ::tonic::Status>;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            WithinProj::Plain { call } => call.poll(cx),
            WithinProj::Scoped { call } => call.poll(cx),
        }
    }
}

/// The codec generated clients and servers use, so that a user crate needs
/// no `tonic-prost` of its own.
#[cfg(feature = "tonic")]
pub use ::tonic_prost;

/// `on = [..]`: retry a `tonic::Status` whose code is listed, honouring pushback.
#[cfg(feature = "tonic")]
#[inline]
pub fn codes(codes: &'static [Code], status: &::tonic::Status) -> Verdict {
    use crate::retry::Classify;
    crate::tonic::Codes::new(codes).verdict(status)
}
