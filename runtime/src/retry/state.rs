use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{Attempt, Budget, Classify, RetryPolicy, Verdict};
use crate::backoff::Schedule;
use crate::{deadline, Elapsed};

/// What to do after a failed attempt.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::Decision;
///
/// let d = Decision::Retry(Duration::from_millis(100));
/// assert_eq!(d.delay(), Some(Duration::from_millis(100)));
/// assert_eq!(Decision::Return.delay(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then run the next attempt.
    Retry(Duration),
    /// Stop and hand the last error to the caller.
    Return,
}

impl Decision {
    /// The delay before the next attempt, if there is one.
    ///
    /// ```
    /// assert_eq!(steadfast::__private::Decision::Return.delay(), None);
    /// ```
    pub const fn delay(self) -> Option<Duration> {
        match self {
            Self::Retry(delay) => Some(delay),
            Self::Return => None,
        }
    }
}

/// What a retry loop does after an attempt ([`RetryState::end`]): hand a
/// result to the caller, or sleep and run the next attempt.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::{Next, RetryState, Verdict};
/// use steadfast::{Backoff, Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::new().backoff(Backoff::constant(Duration::from_millis(5)).jitter(Jitter::None));
/// let mut state = RetryState::new(&policy);
/// match state.end(Err::<(), _>("busy"), |_| Verdict::RETRY) {
///     Next::Retry { error, delay } => assert_eq!((error, delay), ("busy", Duration::from_millis(5))),
///     Next::Return(_) => unreachable!(),
/// }
/// assert!(matches!(state.end(Ok::<_, &str>(1), |_| Verdict::RETRY), Next::Return(Ok(1))));
/// ```
#[derive(Debug)]
pub enum Next<T, E> {
    /// The call is over: return this.
    Return(Result<T, E>),
    /// Sleep `delay`, then run the next attempt. `error` is the failure
    /// that led here, for a hook to see before it is dropped.
    Retry {
        /// The failure of the attempt that just ended.
        error: E,
        /// How long to wait before the next attempt.
        delay: Duration,
    },
}

/// The decisions of one call under a [`RetryPolicy`]: which attempt this
/// is, and after a failure whether to retry and after how long.
///
/// It holds no future and runs nothing, so any loop can drive it: the
/// `#[retry]` expansion, [`retry`](crate::retry()), [`retry_blocking`](super::retry_blocking),
/// the generated clients, or your own. Every attempt goes through it: a
/// driver wraps the attempt's future in [`begin`](Self::begin) and hands
/// its result to [`end`](Self::end) (or [`end_timed`](Self::end_timed) when
/// the attempt has a deadline of its own), then does what the returned
/// [`Next`] says. The rules it applies, in order, after a failure:
///
/// 0. an attempt that ran out of its own time is a retryable failure,
///    whatever the error type (see [`end_timed`](Self::end_timed));
/// 1. an error the classifier rejects is returned;
/// 2. the last allowed attempt's error is returned, and so is any error of
///    a loop running inside the attempt of an outer loop whose policy says
///    [`Nested::Once`](super::Nested::Once);
/// 3. the next delay is the error's pushback ([`Classify::retry_after`]),
///    exactly as the server asked (gRPC A6), or the schedule's next value;
///    an exhausted schedule returns the error; a pushback that says stop
///    returns the error (and counts against the budget as a failure), and
///    so does a failure after the call was committed (its response had
///    started);
/// 4. a delay that would end at or after the current deadline
///    ([`deadline::current`]) returns the error at once rather than sleep
///    into a certain timeout;
/// 5. a retry budget that refuses ([`Budget::try_retry`]) returns the error.
///
/// Nothing is allocated until the first failure, and then only what the
/// schedule's iterator needs (nothing, for a [`Backoff`](crate::Backoff)).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Backoff, Jitter, RetryPolicy};
/// use steadfast::__private::{Decision, RetryState};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(3)
///     .backoff(Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::None));
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
///
/// let mut state = RetryState::new(&policy);
/// assert_eq!(state.attempt(), 1);
/// assert_eq!(state.after_error(&refused), Decision::Retry(Duration::from_millis(100)));
/// assert_eq!(state.attempt(), 2);
/// assert_eq!(state.after_error(&refused), Decision::Retry(Duration::from_millis(200)));
/// assert_eq!(state.after_error(&refused), Decision::Return); // 3 attempts made
/// ```
pub struct RetryState<'p, S: Schedule, C, B> {
    policy: &'p RetryPolicy<S, C, B>,
    attempts_made: u32,
    delays: Option<S::Delays<'p>>,
}

impl<S: Schedule, C, B> std::fmt::Debug for RetryState<'_, S, C, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryState")
            .field("attempts_made", &self.attempts_made)
            .finish_non_exhaustive()
    }
}

impl<'p, S: Schedule, C, B: Budget> RetryState<'p, S, C, B> {
    /// The state before the first attempt.
    ///
    /// ```
    /// let policy = steadfast::RetryPolicy::new();
    /// let state = steadfast::__private::RetryState::new(&policy);
    /// assert_eq!(state.attempt(), 1);
    /// ```
    #[inline]
    pub const fn new(policy: &'p RetryPolicy<S, C, B>) -> Self {
        Self {
            policy,
            attempts_made: 0,
            delays: None,
        }
    }

    /// The number of the attempt about to run (or running), from 1.
    ///
    /// ```
    /// let policy = steadfast::RetryPolicy::new();
    /// assert_eq!(steadfast::__private::RetryState::new(&policy).attempt(), 1);
    /// ```
    #[inline]
    pub const fn attempt(&self) -> u32 {
        self.attempts_made.saturating_add(1)
    }

    /// How many attempts came before the one about to run: gRPC's
    /// `grpc-previous-rpc-attempts`, and `attempt() - 1`.
    ///
    /// ```
    /// use steadfast::__private::RetryState;
    ///
    /// let policy = steadfast::RetryPolicy::new();
    /// let mut state = RetryState::new(&policy);
    /// assert_eq!(state.previous_attempts(), 0);
    /// state.after_timeout();
    /// assert_eq!(state.previous_attempts(), 1);
    /// ```
    #[inline]
    pub const fn previous_attempts(&self) -> u32 {
        self.attempts_made
    }

    /// The policy's per-attempt timeout.
    ///
    /// ```
    /// let policy = steadfast::RetryPolicy::new();
    /// assert_eq!(steadfast::__private::RetryState::new(&policy).attempt_timeout(), None);
    /// ```
    #[inline]
    pub const fn attempt_timeout(&self) -> Option<std::time::Duration> {
        self.policy.attempt_timeout()
    }

    /// Records a success (it refills a retry budget).
    ///
    /// ```
    /// let policy = steadfast::RetryPolicy::new();
    /// steadfast::__private::RetryState::new(&policy).on_success();
    /// ```
    #[inline]
    pub fn on_success(&self) {
        let budget = self.policy.budget_ref();
        if self.attempts_made == 0 {
            budget.record_call();
        }
        budget.record_success();
    }

    /// Starts the attempt about to run: while it is polled,
    /// [`previous_attempts`](super::previous_attempts) tells its number
    /// (the gRPC glue sends it as `grpc-previous-rpc-attempts`).
    ///
    /// ```
    /// use steadfast::retry::previous_attempts;
    /// use steadfast::__private::RetryState;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let policy = steadfast::RetryPolicy::new();
    /// let mut state = RetryState::new(&policy);
    /// state.after_timeout();
    /// assert_eq!(state.begin(async { previous_attempts() }).await, 1);
    /// # }
    /// ```
    #[inline]
    pub fn begin<F: Future>(&self, attempt: F) -> Attempt<F> {
        let once_inside = matches!(self.policy.nested_loops(), super::Nested::Once);
        self.begin_as(once_inside, attempt)
    }

    /// [`begin`](Self::begin) with the policy's [`Nested`](super::Nested)
    /// setting given as a constant, so that it costs nothing: what the
    /// `#[retry]` expansion calls.
    #[doc(hidden)]
    #[inline]
    pub fn begin_as<F: Future>(&self, once_inside: bool, attempt: F) -> Attempt<F> {
        super::attempt(self.attempts_made, once_inside, attempt)
    }

    /// Ends an attempt: a success is handed back (and refills a retry
    /// budget), a failure is classified by `verdict` and decided on.
    ///
    /// ```
    /// use steadfast::__private::{Next, RetryState, Verdict};
    ///
    /// let policy = steadfast::RetryPolicy::new();
    /// let mut state = RetryState::new(&policy);
    /// let fatal = |_: &&str| Verdict { retryable: false, ..Verdict::RETRY };
    /// assert!(matches!(state.end(Err::<(), _>("no"), fatal), Next::Return(Err("no"))));
    /// ```
    #[inline]
    pub fn end<T, E>(
        &mut self,
        result: Result<T, E>,
        verdict: impl FnOnce(&E) -> Verdict,
    ) -> Next<T, E> {
        match result {
            Ok(value) => {
                self.on_success();
                Next::Return(Ok(value))
            }
            Err(error) => {
                let verdict = verdict(&error);
                let decision = self.after_failed(verdict);
                Self::next(error, decision)
            }
        }
    }

    /// A failed attempt, classified: retried as the verdict says, unless
    /// its call was committed (gRPC A6: a response had started).
    fn after_failed(&mut self, verdict: Verdict) -> Decision {
        let committed = super::attempt::take_committed();
        if verdict.stop {
            // A6: a pushback that says stop is no retry, and counts against
            // the throttling budget as a failure of a retryable code does.
            self.policy.budget_ref().record_failure();
            crate::trace::event!(
                attempt = self.attempts_made.saturating_add(1),
                "not retrying: the server's pushback said stop"
            );
            return self.after_classified(false, None);
        }
        if committed && verdict.retryable {
            crate::trace::event!(
                attempt = self.attempts_made.saturating_add(1),
                "not retrying: the response had started (the call was committed)"
            );
            return self.after_classified(false, None);
        }
        self.after_classified(verdict.retryable, verdict.pushback)
    }

    /// Ends an attempt that ran under a deadline of its own, `until` (a
    /// per-attempt timeout, or a `#[deadline]` directly inside `#[retry]`);
    /// `scoped` is what its [`deadline::scope`] returned.
    ///
    /// The attempt ran out of time when the scope's timer fired, or when it
    /// failed at or after `until` with an error that reports a timeout
    /// ([`Verdict::timeout`]: the transport's own timer for the same
    /// deadline may fire first). Such an attempt is a retryable failure,
    /// whatever the classifier says of timeouts, and if the call ends there
    /// it ends with `elapsed(Elapsed)`. Every other outcome is [`end`](Self::end)'s:
    /// an error the server returned is classified as itself, even at the
    /// deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::__private::{Next, RetryState, Verdict};
    /// use steadfast::{Backoff, Elapsed, RetryPolicy};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let policy = RetryPolicy::new().max_attempts(2).backoff(Backoff::none());
    /// let mut state = RetryState::new(&policy);
    /// let scope = steadfast::deadline::scope(Duration::from_millis(10), std::future::pending::<Result<(), Elapsed>>());
    /// let until = scope.deadline();
    /// let never_retried = |_: &Elapsed| Verdict { retryable: false, ..Verdict::RETRY };
    /// let next = state.end_timed(scope.await, until, never_retried, |e| e);
    /// assert!(matches!(next, Next::Retry { .. }), "a timed-out attempt is retried");
    /// # }
    /// ```
    pub fn end_timed<T, E>(
        &mut self,
        scoped: Result<Result<T, E>, Elapsed>,
        until: Instant,
        verdict: impl FnOnce(&E) -> Verdict,
        elapsed: impl FnOnce(Elapsed) -> E,
    ) -> Next<T, E> {
        match scoped {
            Ok(Ok(value)) => return self.end(Ok(value), |_| Verdict::RETRY),
            Ok(Err(error)) => {
                let verdict = verdict(&error);
                if !deadline::ran_out(until, verdict.timeout) {
                    let decision = self.after_failed(verdict);
                    return Self::next(error, decision);
                }
            }
            Err(_) => {}
        }
        let decision = self.after_timeout();
        Self::next(elapsed(Elapsed::new()), decision)
    }

    #[inline]
    fn next<T, E>(error: E, decision: Decision) -> Next<T, E> {
        match decision {
            Decision::Retry(delay) => Next::Retry { error, delay },
            Decision::Return => Next::Return(Err(error)),
        }
    }

    /// Decides after an attempt that failed with `error`.
    ///
    /// ```
    /// use steadfast::__private::{Decision, RetryState};
    ///
    /// let policy = steadfast::RetryPolicy::new();
    /// let mut state = RetryState::new(&policy);
    /// let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
    /// assert_eq!(state.after_error(&not_found), Decision::Return);
    /// ```
    pub fn after_error<E>(&mut self, error: &E) -> Decision
    where
        C: Classify<E>,
    {
        let classify = self.policy.classifier();
        let retryable = classify.is_retryable(error);
        self.after_classified(retryable, classify.retry_after(error))
    }

    /// Decides after a failure already classified by the caller: whether it
    /// is retryable, and the server's pushback if any. What the `#[retry]`
    /// expansion calls, since it classifies inline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::__private::{Decision, RetryState};
    ///
    /// let policy = steadfast::RetryPolicy::new();
    /// let mut state = RetryState::new(&policy);
    /// let pushback = Some(Duration::from_millis(300));
    /// assert_eq!(state.after_classified(true, pushback), Decision::Retry(Duration::from_millis(300)));
    /// assert_eq!(state.after_classified(false, None), Decision::Return);
    /// ```
    pub fn after_classified(&mut self, retryable: bool, pushback: Option<Duration>) -> Decision {
        if !retryable {
            // A call whose first attempt fails for good is a call all the
            // same: a budget that retries a share of the calls counts it.
            if self.attempts_made == 0 {
                self.policy.budget_ref().record_call();
            }
            self.attempts_made = self.attempts_made.saturating_add(1);
            return Decision::Return;
        }
        self.decide(pushback)
    }

    /// Decides after an attempt that ran out of its per-attempt time: a
    /// retryable failure whatever the error type.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{Backoff, Jitter, RetryPolicy};
    /// use steadfast::__private::{Decision, RetryState};
    ///
    /// let policy = RetryPolicy::new().backoff(Backoff::constant(Duration::from_millis(5)).jitter(Jitter::None));
    /// let mut state = RetryState::new(&policy);
    /// assert_eq!(state.after_timeout(), Decision::Retry(Duration::from_millis(5)));
    /// ```
    pub fn after_timeout(&mut self) -> Decision {
        self.decide(None)
    }

    fn decide(&mut self, pushback: Option<Duration>) -> Decision {
        let budget = self.policy.budget_ref();
        if self.attempts_made == 0 {
            budget.record_call();
        }
        self.attempts_made = self.attempts_made.saturating_add(1);
        budget.record_failure();
        if self.attempts_made >= self.policy.attempt_limit() || super::attempt::outer_retries() {
            return Decision::Return;
        }
        let delay = match pushback {
            Some(delay) => {
                // As gRPC A6 (and grpc-go, grpc-java): exactly the delay the
                // server asked for, and the schedule starts over after it. The
                // deadline bounds the wait (below: a delay past it, or one too
                // large to add to now, is no retry).
                self.delays = None;
                delay
            }
            None => {
                let schedule = self.policy.schedule_ref();
                match self.delays.get_or_insert_with(|| schedule.delays()).next() {
                    Some(delay) => delay,
                    None => return Decision::Return,
                }
            }
        };
        if !deadline::starts_in_time(Instant::now().checked_add(delay)) {
            crate::trace::event!(
                attempt = self.attempts_made,
                delay_ms = delay.as_millis() as u64,
                "not retrying: the next attempt would start past the deadline"
            );
            return Decision::Return;
        }
        // Last, so that a budget that counts retries counts only those
        // that happen.
        if !budget.try_retry() {
            crate::trace::event!(
                attempt = self.attempts_made,
                "not retrying: the retry budget refused"
            );
            return Decision::Return;
        }
        crate::trace::event!(
            attempt = self.attempts_made,
            delay_ms = delay.as_millis() as u64,
            reason = if pushback.is_some() {
                "pushback"
            } else {
                "backoff"
            },
            "retrying"
        );
        Decision::Retry(delay)
    }
}
