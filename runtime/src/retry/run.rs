use std::future::Future;

use super::{Budget, Classify, Next, RetryPolicy, RetryState};
use crate::backoff::Schedule;
use crate::{deadline, Elapsed};

/// Runs `operation` under `policy`: again after each retryable failure,
/// with the policy's delays in between, until it succeeds, fails for good,
/// or runs out of attempts or deadline. Returns the first success or the
/// last error.
///
/// `operation` makes a fresh future for each attempt. The returned future is
/// `Send` whenever the operation and its futures are; dropping it stops
/// everything, including a pending sleep. No heap allocation happens when
/// the first attempt succeeds.
///
/// With a per-attempt timeout, an attempt that runs out of time becomes
/// `E::from(Elapsed)` and is retried; hence `E: From<Elapsed>`, which holds
/// for `tonic::Status`, `std::io::Error`, `Box<dyn Error>` and `anyhow::Error`.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use steadfast::{Backoff, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let policy = RetryPolicy::new()
///     .max_attempts(4)
///     .backoff(Backoff::exponential(Duration::from_millis(10)));
/// let calls = AtomicU32::new(0);
///
/// let result = steadfast::retry(&policy, || async {
///     if calls.fetch_add(1, Ordering::SeqCst) < 2 {
///         Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
///     } else {
///         Ok("connected")
///     }
/// })
/// .await;
///
/// assert_eq!(result.unwrap(), "connected");
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # }
/// ```
pub async fn retry<S, C, B, F, Fut, T, E>(
    policy: &RetryPolicy<S, C, B>,
    mut operation: F,
) -> Result<T, E>
where
    S: Schedule,
    C: Classify<E>,
    B: Budget,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<Elapsed>,
{
    // The first attempt of an untimed policy is the success path: no
    // timer, no state. It is kept apart from the loop below so that the
    // future stays small and its drop glue inlines when the call succeeds
    // at once. It is numbered all the same (0): an outer retry loop's
    // number must not leak into this call's first attempt.
    // A policy that makes nested loops defer (`Nested::Once`) takes the
    // loop below from the start, so that this path stays free of it.
    let plain = matches!(policy.nested_loops(), super::Nested::Retry);
    let first_error = if policy.attempt_timeout().is_none() && plain {
        match super::attempt(0, false, operation()).await {
            Ok(value) => {
                // The state machine's books, for a state that made no
                // attempt before: a call, and its success.
                RetryState::new(policy).on_success();
                return Ok(value);
            }
            Err(error) => Some(error),
        }
    } else {
        None
    };
    retry_after(policy, operation, first_error).await
}

/// The rest of [`retry`]: the loop after a failed first attempt, or from the
/// start for a policy with a per-attempt timeout. It only drives:
/// [`RetryState`] decides.
async fn retry_after<S, C, B, F, Fut, T, E>(
    policy: &RetryPolicy<S, C, B>,
    mut operation: F,
    first_error: Option<E>,
) -> Result<T, E>
where
    S: Schedule,
    C: Classify<E>,
    B: Budget,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<Elapsed>,
{
    let mut state = RetryState::new(policy);
    let classify = |error: &E| policy.classifier().verdict(error);
    // The first attempt's failure reaches `end` in the task poll it
    // happened in (no await between), as the attempt's commit needs.
    let mut next = first_error.map(|error| state.end(Err(error), classify));
    loop {
        next = match next {
            Some(Next::Return(result)) => return result,
            Some(Next::Retry { error, delay }) => {
                drop(error);
                tokio::time::sleep(delay).await;
                None
            }
            None => Some(match state.attempt_timeout() {
                None => {
                    let result = state.begin(operation()).await;
                    state.end(result, classify)
                }
                Some(timeout) => {
                    let (scoped, until) = deadline::timed(timeout, state.begin(operation())).await;
                    state.end_timed(scoped, until, classify, E::from)
                }
            }),
        };
    }
}

/// [`retry`] for blocking code: the same decisions, with
/// [`std::thread::sleep`] between attempts.
///
/// The policy's per-attempt timeout is not applied (a blocking call cannot
/// be interrupted). The current deadline is honoured when the function runs
/// inside a [`deadline::scope`](crate::deadline::scope), as on a tokio
/// worker thread; do not call it from async code otherwise, for it blocks
/// the thread.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, RetryPolicy};
///
/// let policy = RetryPolicy::new().backoff(Backoff::constant(Duration::from_millis(1)));
/// let mut calls = 0;
/// let result: Result<u32, std::io::Error> = steadfast::retry_blocking(&policy, || {
///     calls += 1;
///     if calls == 1 {
///         Err(std::io::ErrorKind::Interrupted.into())
///     } else {
///         Ok(calls)
///     }
/// });
/// assert_eq!(result.unwrap(), 2);
/// ```
pub fn retry_blocking<S, C, B, F, T, E>(
    policy: &RetryPolicy<S, C, B>,
    mut operation: F,
) -> Result<T, E>
where
    S: Schedule,
    C: Classify<E>,
    B: Budget,
    F: FnMut() -> Result<T, E>,
{
    let mut state = RetryState::new(policy);
    loop {
        match state.end(operation(), |error| policy.classifier().verdict(error)) {
            Next::Return(result) => return result,
            Next::Retry { delay, .. } => std::thread::sleep(delay),
        }
    }
}
