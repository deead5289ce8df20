use std::time::Duration;

use tokio::time::Instant;

use super::HedgePolicy;
use crate::deadline;
use crate::retry::{Budget, Verdict};

/// What a hedged call does after an attempt failed
/// ([`HedgeState::after_error`]).
///
/// ```
/// use steadfast::__private::AfterError;
/// assert_ne!(AfterError::StartNext, AfterError::Return);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterError {
    /// Return this error now and drop the other attempts: it is fatal, or
    /// nothing else is running and nothing more may start.
    Return,
    /// Start the next attempt now.
    StartNext,
    /// Wait for the attempts still running (and the next hedge, if one is
    /// due later).
    Wait,
}

/// The decisions of one hedged call under a [`HedgePolicy`]: when to
/// start the next attempt, and what a failure means. It runs nothing, so
/// any driver can use it: [`hedge`](super::hedge()), which `#[hedge]`
/// expands to, is one.
///
/// The rules, gRPC A6's for hedging:
///
/// - the first attempt starts at once; while no attempt has answered, the
///   next starts after the policy's delay, until `max` have started;
/// - the first success is the call's result (the driver drops the rest);
/// - a fatal error (the classifier says not retryable), or any error of
///   an attempt whose response had started (the call was committed), is
///   the call's result;
/// - a non-fatal error starts the next attempt at once; with pushback, the
///   next starts after exactly the pushback instead, as for retries;
/// - no attempt starts at or after the current deadline, nor, beyond the
///   first, when the budget refuses;
/// - when every started attempt has failed and no more may start, the
///   last error is the result.
///
/// ```
/// use std::time::Duration;
/// use steadfast::hedge::HedgePolicy;
/// use steadfast::__private::{AfterError, HedgeState};
/// use steadfast::__private::Verdict;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let policy = HedgePolicy::new(2, Duration::from_millis(10));
/// let mut state = HedgeState::new(&policy);
/// assert_eq!(state.start(), Some(0));
/// assert!(state.next_due().is_some());
/// assert_eq!(state.after_error(Verdict::RETRY), AfterError::StartNext);
/// assert_eq!(state.start(), Some(1));
/// assert_eq!(state.after_error(Verdict::RETRY), AfterError::Return, "all failed, none left");
/// # }
/// ```
#[derive(Debug)]
pub struct HedgeState<'p, B> {
    policy: &'p HedgePolicy<B>,
    started: u32,
    running: u32,
    next_due: Option<Instant>,
    stopped: bool,
}

impl<'p, B: Budget> HedgeState<'p, B> {
    /// Before the first attempt.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(2, std::time::Duration::ZERO);
    /// let s = steadfast::__private::HedgeState::new(&p);
    /// assert_eq!(s.started(), 0);
    /// ```
    pub const fn new(policy: &'p HedgePolicy<B>) -> Self {
        Self {
            policy,
            started: 0,
            running: 0,
            next_due: None,
            stopped: false,
        }
    }

    /// Attempts started so far.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(2, std::time::Duration::ZERO);
    /// assert_eq!(steadfast::__private::HedgeState::new(&p).started(), 0);
    /// ```
    pub const fn started(&self) -> u32 {
        self.started
    }

    /// When the next attempt is due if nothing answers before, if one may
    /// start.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(1, std::time::Duration::ZERO);
    /// assert_eq!(steadfast::__private::HedgeState::new(&p).next_due(), None);
    /// ```
    pub const fn next_due(&self) -> Option<Instant> {
        self.next_due
    }

    /// Starts an attempt if the rules allow one now: its number (the
    /// attempts before it, as `grpc-previous-rpc-attempts`), or `None`.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(1, std::time::Duration::ZERO);
    /// let mut s = steadfast::__private::HedgeState::new(&p);
    /// assert_eq!(s.start(), Some(0));
    /// assert_eq!(s.start(), None);
    /// ```
    pub fn start(&mut self) -> Option<u32> {
        if self.stopped || self.started >= self.policy.attempt_limit() {
            self.next_due = None;
            return None;
        }
        let now = Instant::now();
        let in_time = || deadline::starts_in_time(Some(now));
        if self.started > 0 && (!in_time() || !self.policy.budget_ref().try_retry()) {
            self.stop();
            return None;
        }
        let number = self.started;
        if number == 0 {
            self.policy.budget_ref().record_call();
        } else {
            crate::trace::event!(attempt = number + 1, running = self.running, "hedging");
        }
        self.started += 1;
        self.running += 1;
        self.next_due = (self.started < self.policy.attempt_limit())
            .then(|| now.checked_add(self.policy.delay()))
            .flatten();
        Some(number)
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.next_due = None;
    }

    /// An attempt failed and was classified: what to do.
    ///
    /// ```
    /// use steadfast::hedge::HedgePolicy;
    /// use steadfast::__private::{AfterError, HedgeState};
    /// use steadfast::__private::Verdict;
    ///
    /// let p = HedgePolicy::new(3, std::time::Duration::from_secs(1));
    /// let mut s = HedgeState::new(&p);
    /// s.start();
    /// let fatal = Verdict { retryable: false, ..Verdict::RETRY };
    /// assert_eq!(s.after_error(fatal), AfterError::Return);
    /// ```
    pub fn after_error(&mut self, verdict: Verdict) -> AfterError {
        self.running = self.running.saturating_sub(1);
        let budget = self.policy.budget_ref();
        // gRPC A6: an attempt whose response had started commits the call;
        // its failure is the call's, as a fatal one is.
        let committed = crate::retry::attempt::take_committed();
        if committed || (!verdict.retryable && !verdict.stop) {
            if committed {
                crate::trace::event!(
                    started = self.started,
                    "a hedged attempt failed after its response started: the call was committed"
                );
            }
            self.stop();
            return AfterError::Return;
        }
        budget.record_failure();
        if verdict.stop {
            // A6: the server's "stop" sends no further hedge; the attempts
            // already running go on, and one may still answer.
            crate::trace::event!(
                started = self.started,
                "a hedged attempt's pushback said stop: no further hedge"
            );
            self.stop();
        }
        if !self.stopped && self.started < self.policy.attempt_limit() {
            crate::trace::event!(
                started = self.started,
                pushback_ms = verdict.pushback.map(|d| d.as_millis() as u64),
                "a hedged attempt failed; another may start"
            );
        }
        if self.stopped || self.started >= self.policy.attempt_limit() {
            self.next_due = None;
            return if self.running == 0 {
                AfterError::Return
            } else {
                AfterError::Wait
            };
        }
        match verdict.pushback {
            Some(pushback) => {
                // Exactly the delay the server asked for, as for a retry;
                // one that would start past the deadline (or too large to
                // add to now) sends no more hedges, as it makes no retry.
                self.next_due = Instant::now()
                    .checked_add(pushback)
                    .filter(|&at| deadline::starts_in_time(Some(at)));
                if self.next_due.is_none() {
                    self.stop();
                }
                if self.running == 0 && self.next_due.is_none() {
                    AfterError::Return
                } else {
                    AfterError::Wait
                }
            }
            None => AfterError::StartNext,
        }
    }

    /// The call succeeded; `latency` is the winning attempt's own time,
    /// fed to an adaptive delay.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(2, std::time::Duration::ZERO);
    /// let mut s = steadfast::__private::HedgeState::new(&p);
    /// s.start();
    /// s.after_success(std::time::Duration::from_millis(3));
    /// ```
    pub fn after_success(&mut self, latency: Duration) {
        self.policy.budget_ref().record_success();
        if let Some(tracker) = self.policy.latency() {
            tracker.record(latency);
        }
    }
}
