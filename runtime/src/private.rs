//! What the `#[retry]` and `#[deadline]` expansions (and generated clients)
//! name. Not public API: no stability promise.

use std::future::Future;
use std::time::Duration;

pub use crate::backoff::{Backoff, Jitter, DEFAULT_INITIAL};
pub use crate::deadline::scope;
pub use crate::retry::{attempt as numbered, Decision, RetryPolicy, RetryState};
pub use crate::{Elapsed, Retryable};
pub use tokio::time::sleep;

#[cfg(feature = "tonic")]
pub use ::tonic::Code;

/// Pins down the output type of an attempt's `async` block, so `?` inside
/// the user's body knows what to convert into.
#[inline(always)]
pub fn attempt<R, F: Future<Output = R>>(future: F) -> F {
    future
}

/// Whether `deadline` has passed: an attempt that failed at or after its
/// deadline counts as timed out, whichever timer (ours, or the transport's
/// own for `grpc-timeout`) fired first.
#[inline]
pub fn passed(deadline: tokio::time::Instant) -> bool {
    deadline <= tokio::time::Instant::now()
}

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
    message = "`#[deadline]` and `per_attempt` need the error type to implement `From<resilient::Elapsed>`, and `{Self}` does not",
    label = "the error type of this `Result` must implement `From<resilient::Elapsed>`",
    note = "`tonic::Status`, `std::io::Error`, `Box<dyn Error>` and `anyhow::Error` do; for your own type, add `impl From<resilient::Elapsed>`"
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
/// classified by it, any other error is retried.
#[derive(Debug)]
pub struct Probe<'a, E>(pub &'a E);

/// Picked first, when `E: Retryable`.
pub trait ViaRetryable {
    /// `(retryable, pushback)`.
    fn __resilient_classify(&self) -> (bool, Option<Duration>);
}

impl<E: Retryable> ViaRetryable for Probe<'_, E> {
    #[inline]
    fn __resilient_classify(&self) -> (bool, Option<Duration>) {
        (self.0.is_retryable(), self.0.retry_after())
    }
}

/// Picked otherwise: every error is retried.
pub trait ViaAny {
    /// `(retryable, pushback)`.
    fn __resilient_classify(&self) -> (bool, Option<Duration>);
}

impl<E> ViaAny for &Probe<'_, E> {
    #[inline]
    fn __resilient_classify(&self) -> (bool, Option<Duration>) {
        (true, None)
    }
}

/// `on = [..]`: retry a `tonic::Status` whose code is listed, honouring pushback.
#[cfg(feature = "tonic")]
pub fn codes(codes: &'static [Code], status: &::tonic::Status) -> (bool, Option<Duration>) {
    use crate::retry::Classify;
    let codes = crate::tonic::Codes::new(codes);
    (codes.is_retryable(status), codes.retry_after(status))
}
