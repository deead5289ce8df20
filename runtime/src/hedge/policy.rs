use std::time::Duration;

use super::Latency;
use crate::retry::{Budget, NoBudget};

/// The most attempts a hedged call makes, the first included: gRPC A6
/// caps `maxAttempts` at 5, and the attempts live in the call's own future.
pub(super) const MAX_HEDGED_ATTEMPTS: u32 = 5;

/// What `#[hedge]` does: how many attempts at most, and how long to wait
/// for an answer before starting the next one.
///
/// ```
/// use std::time::Duration;
/// use steadfast::hedge::HedgePolicy;
///
/// const POLICY: HedgePolicy = HedgePolicy::new(3, Duration::from_millis(50));
/// assert_eq!(POLICY.attempt_limit(), 3);
/// assert_eq!(POLICY.delay(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HedgePolicy<B = NoBudget> {
    max_attempts: u32,
    delay: Duration,
    latency: Option<&'static Latency>,
    budget: B,
}

impl HedgePolicy {
    /// `max_attempts` in all (clamped to `1..=5`), the next started after
    /// `delay` without an answer.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(9, std::time::Duration::ZERO);
    /// assert_eq!(p.attempt_limit(), 5);
    /// ```
    pub const fn new(max_attempts: u32, delay: Duration) -> Self {
        let max_attempts = if max_attempts == 0 {
            1
        } else if max_attempts > MAX_HEDGED_ATTEMPTS {
            MAX_HEDGED_ATTEMPTS
        } else {
            max_attempts
        };
        Self {
            max_attempts,
            delay,
            latency: None,
            budget: NoBudget,
        }
    }
}

impl<B> HedgePolicy<B> {
    /// Hedges after `latency`'s running percentile instead of a fixed
    /// delay (the fixed delay is `latency`'s fallback before warm-up), and
    /// feeds it the latency of every winning attempt.
    ///
    /// ```
    /// use steadfast::hedge::{HedgePolicy, Latency};
    ///
    /// static P95: Latency = Latency::new(95.0);
    /// let p = HedgePolicy::new(2, std::time::Duration::ZERO).adaptive(&P95);
    /// assert_eq!(p.delay(), Latency::DEFAULT_FALLBACK);
    /// ```
    pub const fn adaptive(mut self, latency: &'static Latency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Draws hedges beyond the first attempt from a shared budget (gRPC A6:
    /// once retries are throttled, no more hedges are sent).
    ///
    /// ```
    /// use steadfast::{hedge::HedgePolicy, RetryBudget};
    ///
    /// static BUDGET: RetryBudget = RetryBudget::new(10, 0.1);
    /// let p = HedgePolicy::new(2, std::time::Duration::from_millis(10)).budget(&BUDGET);
    /// # let _ = p;
    /// ```
    pub fn budget<B2: Budget>(self, budget: B2) -> HedgePolicy<B2> {
        HedgePolicy {
            max_attempts: self.max_attempts,
            delay: self.delay,
            latency: self.latency,
            budget,
        }
    }

    /// Attempts in all, the first included.
    ///
    /// ```
    /// assert_eq!(steadfast::hedge::HedgePolicy::new(3, std::time::Duration::ZERO).attempt_limit(), 3);
    /// ```
    pub const fn attempt_limit(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before the next attempt now: the fixed delay, or the
    /// running percentile.
    ///
    /// ```
    /// let p = steadfast::hedge::HedgePolicy::new(2, std::time::Duration::from_millis(7));
    /// assert_eq!(p.delay(), std::time::Duration::from_millis(7));
    /// ```
    pub fn delay(&self) -> Duration {
        match self.latency {
            Some(latency) => latency.delay(),
            None => self.delay,
        }
    }

    /// The running percentile, when the delay is adaptive.
    ///
    /// ```
    /// assert!(steadfast::hedge::HedgePolicy::new(2, std::time::Duration::ZERO).latency().is_none());
    /// ```
    pub const fn latency(&self) -> Option<&'static Latency> {
        self.latency
    }

    /// The budget.
    ///
    /// ```
    /// use steadfast::{hedge::HedgePolicy, retry::NoBudget};
    /// assert_eq!(*HedgePolicy::new(2, std::time::Duration::ZERO).budget_ref(), NoBudget);
    /// ```
    pub const fn budget_ref(&self) -> &B {
        &self.budget
    }
}
