use std::time::Duration;

use super::{Budget, ByRetryable, NoBudget, When};
use crate::backoff::{Backoff, Schedule};

/// Default number of attempts, the first included: 3.
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// What to do when a call fails: how many attempts in all, how long to wait
/// between them, how long one attempt may take, and which errors are worth
/// another try.
///
/// A policy is cheap to build and is shared by reference by every call that
/// uses it. Run work under it with [`retry`](crate::retry()) (async) or
/// [`retry_blocking`](super::retry_blocking); the `#[retry]` attribute
/// builds one from its arguments.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, RetryPolicy};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(5)
///     .backoff(Backoff::exponential(Duration::from_millis(50)))
///     .per_attempt(Duration::from_secs(1))
///     .when(|e: &std::io::Error| e.kind() != std::io::ErrorKind::NotFound);
///
/// assert_eq!(policy.attempt_limit(), 5);
/// assert_eq!(policy.attempt_timeout(), Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy<S = Backoff, C = ByRetryable, B = NoBudget> {
    max_attempts: u32,
    schedule: S,
    per_attempt: Option<Duration>,
    classify: C,
    budget: B,
    nested: Nested,
}

/// What retry loops nested inside another do (the same task, the attempt
/// of an outer loop running): nested loops multiply, so that three layers
/// of `max = 3` send 27 attempts to the deepest service.
///
/// Set on the **outer** policy ([`RetryPolicy::nested`], `#[retry(nested =
/// "once")]`): with [`Once`](Self::Once), every retry loop that runs inside
/// one of its attempts makes a single attempt and returns its error, and
/// retrying is this loop's alone: three such layers send 3 attempts, not 27.
/// Inner loops still classify and count (a budget still sees the failure).
/// Each of their single attempts is a first attempt (no
/// `grpc-previous-rpc-attempts`): to gRPC, every retry of the outer loop is
/// a new call, as it would be without the setting.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::{retry::Nested, Backoff, Elapsed, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let outer = RetryPolicy::new().max_attempts(3).backoff(Backoff::none()).nested(Nested::Once);
/// let inner = RetryPolicy::new().max_attempts(3).backoff(Backoff::none());
/// let sent = AtomicU32::new(0);
/// let _ = steadfast::retry(&outer, || {
///     steadfast::retry(&inner, || async {
///         sent.fetch_add(1, Ordering::Relaxed);
///         Err::<(), _>(Elapsed::new())
///     })
/// })
/// .await;
/// assert_eq!(sent.load(Ordering::Relaxed), 3, "not 9");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Nested {
    /// Loops inside retry as their own policies say (the default).
    #[default]
    Retry,
    /// Loops inside make one attempt each; this loop does the retrying.
    Once,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// Three attempts, [`Backoff::default`] between them (exponential from
    /// 100 ms, ±20% jitter), no per-attempt timeout, errors classified by
    /// their [`Retryable`](crate::Retryable) impl.
    ///
    /// ```
    /// let policy = steadfast::RetryPolicy::new();
    /// assert_eq!(policy.attempt_limit(), 3);
    /// ```
    pub const fn new() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            schedule: Backoff::exponential(crate::backoff::DEFAULT_INITIAL),
            per_attempt: None,
            classify: ByRetryable,
            budget: NoBudget,
            nested: Nested::Retry,
        }
    }
}

impl<C, B> RetryPolicy<Backoff, C, B> {
    /// Uses `backoff` between attempts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, RetryPolicy};
    ///
    /// let p = RetryPolicy::new().backoff(Backoff::constant(Duration::from_secs(1)));
    /// assert_eq!(p.schedule_ref().initial(), Duration::from_secs(1));
    /// ```
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.schedule = backoff;
        self
    }
}

impl<S, C, B> RetryPolicy<S, C, B> {
    /// Attempts in total, the first included (0 counts as 1: the work always
    /// runs once).
    ///
    /// ```
    /// assert_eq!(steadfast::RetryPolicy::new().max_attempts(0).attempt_limit(), 1);
    /// ```
    pub const fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = if max_attempts == 0 { 1 } else { max_attempts };
        self
    }

    /// A timeout for each attempt. An attempt that runs out of time is
    /// dropped and counts as a retryable failure, its error made from
    /// [`Elapsed`](crate::Elapsed). Async only: a blocking call cannot be
    /// interrupted, so [`retry_blocking`](super::retry_blocking) ignores it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = steadfast::RetryPolicy::new().per_attempt(Duration::from_millis(200));
    /// assert_eq!(p.attempt_timeout(), Some(Duration::from_millis(200)));
    /// ```
    pub const fn per_attempt(mut self, timeout: Duration) -> Self {
        self.per_attempt = Some(timeout);
        self
    }

    /// Uses any [`Schedule`] between attempts: a [`Backoff`], a list of
    /// delays, an iterator, or [`backoff::from_fn`](crate::backoff::from_fn).
    /// Retrying also stops when the schedule runs out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::RetryPolicy;
    ///
    /// let p = RetryPolicy::new()
    ///     .max_attempts(10)
    ///     .schedule([Duration::from_millis(10), Duration::from_millis(100)]);
    /// # let _ = p;
    /// ```
    pub fn schedule<S2: Schedule>(self, schedule: S2) -> RetryPolicy<S2, C, B> {
        RetryPolicy {
            max_attempts: self.max_attempts,
            schedule,
            per_attempt: self.per_attempt,
            classify: self.classify,
            budget: self.budget,
            nested: self.nested,
        }
    }

    /// Retries only the errors for which `predicate` returns `true`.
    ///
    /// ```
    /// let p = steadfast::RetryPolicy::new().when(|e: &String| e.starts_with("busy"));
    /// # let _ = p;
    /// ```
    pub fn when<E, F>(self, predicate: F) -> RetryPolicy<S, When<F>, B>
    where
        F: Fn(&E) -> bool,
    {
        self.classify(When::new(predicate))
    }

    /// Uses any [`Classify`](super::Classify) implementation to pick the errors to retry.
    ///
    /// ```
    /// use steadfast::{retry::Always, RetryPolicy};
    /// let p = RetryPolicy::new().classify(Always);
    /// # let _ = p;
    /// ```
    pub fn classify<C2>(self, classify: C2) -> RetryPolicy<S, C2, B> {
        RetryPolicy {
            max_attempts: self.max_attempts,
            schedule: self.schedule,
            per_attempt: self.per_attempt,
            classify,
            budget: self.budget,
            nested: self.nested,
        }
    }

    /// Draws retries from a shared [`RetryBudget`](crate::RetryBudget)
    /// (`&RetryBudget`, `&'static RetryBudget` or `Arc<RetryBudget>`).
    ///
    /// ```
    /// use steadfast::{RetryBudget, RetryPolicy};
    ///
    /// static BUDGET: RetryBudget = RetryBudget::new(10, 0.1);
    /// let p = RetryPolicy::new().budget(&BUDGET);
    /// # let _ = p;
    /// ```
    pub fn budget<B2: Budget>(self, budget: B2) -> RetryPolicy<S, C, B2> {
        RetryPolicy {
            max_attempts: self.max_attempts,
            schedule: self.schedule,
            per_attempt: self.per_attempt,
            classify: self.classify,
            budget,
            nested: self.nested,
        }
    }

    /// What retry loops inside this one's attempts do: see [`Nested`].
    ///
    /// ```
    /// use steadfast::{retry::Nested, RetryPolicy};
    /// let outer = RetryPolicy::new().nested(Nested::Once);
    /// assert_eq!(outer.nested_loops(), Nested::Once);
    /// ```
    pub const fn nested(mut self, nested: Nested) -> Self {
        self.nested = nested;
        self
    }

    /// What retry loops inside this one's attempts do.
    ///
    /// ```
    /// use steadfast::{retry::Nested, RetryPolicy};
    /// assert_eq!(RetryPolicy::new().nested_loops(), Nested::Retry);
    /// ```
    pub const fn nested_loops(&self) -> Nested {
        self.nested
    }

    /// Attempts in total, the first included.
    ///
    /// ```
    /// assert_eq!(steadfast::RetryPolicy::new().attempt_limit(), 3);
    /// ```
    pub const fn attempt_limit(&self) -> u32 {
        self.max_attempts
    }

    /// The per-attempt timeout, if any.
    ///
    /// ```
    /// assert_eq!(steadfast::RetryPolicy::new().attempt_timeout(), None);
    /// ```
    pub const fn attempt_timeout(&self) -> Option<Duration> {
        self.per_attempt
    }

    /// The delay schedule.
    ///
    /// ```
    /// use steadfast::{Backoff, RetryPolicy};
    /// assert_eq!(*RetryPolicy::new().schedule_ref(), Backoff::default());
    /// ```
    pub const fn schedule_ref(&self) -> &S {
        &self.schedule
    }

    /// The classifier.
    ///
    /// ```
    /// use steadfast::{retry::ByRetryable, RetryPolicy};
    /// assert_eq!(*RetryPolicy::new().classifier(), ByRetryable);
    /// ```
    pub const fn classifier(&self) -> &C {
        &self.classify
    }

    /// The retry budget.
    ///
    /// ```
    /// use steadfast::{retry::NoBudget, RetryPolicy};
    /// assert_eq!(*RetryPolicy::new().budget_ref(), NoBudget);
    /// ```
    pub const fn budget_ref(&self) -> &B {
        &self.budget
    }
}
