use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A token bucket shared by many calls that stops retries when too many
/// calls fail: gRPC A6's `retryThrottling`.
///
/// Each retryable failure takes one token, each success gives back
/// `token_ratio`; retries are allowed while more than half of `max_tokens`
/// remain. It keeps a struggling server from being hit by every client's
/// every retry at once. Lock-free, and `const` so it can be a `static`.
///
/// ```
/// use steadfast::RetryBudget;
///
/// static BUDGET: RetryBudget = RetryBudget::new(10, 0.1);
///
/// assert!(BUDGET.can_retry());
/// for _ in 0..5 {
///     BUDGET.record_failure();
/// }
/// assert!(!BUDGET.can_retry()); // 5 tokens left: not more than half of 10
/// for _ in 0..10 {
///     BUDGET.record_success();
/// }
/// assert!(BUDGET.can_retry());
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    max_milli: u32,
    ratio_milli: u32,
    tokens_milli: AtomicU32,
}

impl RetryBudget {
    /// A full bucket of `max_tokens` (clamped to `1..=1000`, as A6 says),
    /// refilled by `token_ratio` per success (kept to three decimals and
    /// clamped to `0.001..=max_tokens`).
    ///
    /// ```
    /// let budget = steadfast::RetryBudget::new(100, 0.5);
    /// assert_eq!(budget.tokens(), 100.0);
    /// ```
    pub const fn new(max_tokens: u32, token_ratio: f64) -> Self {
        let max = if max_tokens == 0 {
            1
        } else if max_tokens > 1000 {
            1000
        } else {
            max_tokens
        };
        let max_milli = max * 1000;
        let ratio = token_ratio * 1000.0;
        // `as` saturates, and NaN becomes 0: both then clamp.
        let mut ratio_milli = ratio as u32;
        if ratio_milli == 0 {
            ratio_milli = 1;
        }
        if ratio_milli > max_milli {
            ratio_milli = max_milli;
        }
        Self {
            max_milli,
            ratio_milli,
            tokens_milli: AtomicU32::new(max_milli),
        }
    }

    /// Tokens left.
    ///
    /// ```
    /// let budget = steadfast::RetryBudget::new(10, 1.0);
    /// budget.record_failure();
    /// assert_eq!(budget.tokens(), 9.0);
    /// ```
    pub fn tokens(&self) -> f64 {
        f64::from(self.tokens_milli.load(Ordering::Relaxed)) / 1000.0
    }

    /// Whether a retry is allowed now: more than half the tokens remain.
    ///
    /// ```
    /// assert!(steadfast::RetryBudget::new(10, 1.0).can_retry());
    /// ```
    pub fn can_retry(&self) -> bool {
        self.tokens_milli.load(Ordering::Relaxed) > self.max_milli / 2
    }

    /// Takes one token for a failed attempt.
    ///
    /// ```
    /// let budget = steadfast::RetryBudget::new(2, 1.0);
    /// budget.record_failure();
    /// budget.record_failure();
    /// budget.record_failure(); // never below zero
    /// assert_eq!(budget.tokens(), 0.0);
    /// ```
    pub fn record_failure(&self) {
        let _ = self
            .tokens_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(1000))
            });
    }

    /// Gives back `token_ratio` tokens for a success, up to the maximum.
    ///
    /// ```
    /// let budget = steadfast::RetryBudget::new(2, 0.5);
    /// budget.record_failure();
    /// budget.record_success();
    /// assert_eq!(budget.tokens(), 1.5);
    /// ```
    pub fn record_success(&self) {
        let (max, ratio) = (self.max_milli, self.ratio_milli);
        let _ = self
            .tokens_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t < max).then(|| t.saturating_add(ratio).min(max))
            });
    }
}

/// Where a [`RetryPolicy`](crate::RetryPolicy) takes its retries from:
/// nowhere ([`NoBudget`], the default), or a shared [`RetryBudget`] (gRPC
/// A6's token bucket) or [`RatioBudget`](super::RatioBudget) (retries as a
/// fraction of calls), by reference or `Arc`.
///
/// A retry loop tells it of every call ([`record_call`](Self::record_call),
/// once, when the first attempt ends), every failed attempt
/// ([`record_failure`](Self::record_failure)) and every success
/// ([`record_success`](Self::record_success)), and asks
/// [`try_retry`](Self::try_retry) once per retry it is about to make.
///
/// ```
/// use std::sync::Arc;
/// use steadfast::{RetryBudget, RetryPolicy};
///
/// let budget = Arc::new(RetryBudget::new(10, 0.1));
/// let policy = RetryPolicy::new().budget(budget.clone());
/// # let _ = policy;
/// ```
pub trait Budget {
    /// Whether the retry about to be made may go; a budget that counts
    /// retries counts this one.
    fn try_retry(&self) -> bool;
    /// An attempt failed with a retryable error.
    fn record_failure(&self);
    /// A call succeeded.
    fn record_success(&self);
    /// A call was made (its first attempt ended). Nothing by default.
    #[inline]
    fn record_call(&self) {}
}

/// No budget: retries limited only by the policy's attempts.
///
/// ```
/// use steadfast::retry::{Budget, NoBudget};
/// assert!(NoBudget.try_retry());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoBudget;

impl Budget for NoBudget {
    #[inline]
    fn try_retry(&self) -> bool {
        true
    }
    #[inline]
    fn record_failure(&self) {}
    #[inline]
    fn record_success(&self) {}
}

impl Budget for RetryBudget {
    fn try_retry(&self) -> bool {
        RetryBudget::can_retry(self)
    }
    fn record_failure(&self) {
        RetryBudget::record_failure(self);
    }
    fn record_success(&self) {
        RetryBudget::record_success(self);
    }
}

impl<B: Budget + ?Sized> Budget for &B {
    fn try_retry(&self) -> bool {
        (**self).try_retry()
    }
    fn record_failure(&self) {
        (**self).record_failure();
    }
    fn record_success(&self) {
        (**self).record_success();
    }
    fn record_call(&self) {
        (**self).record_call();
    }
}

/// A budget when there is one (`None`: none, every retry allowed).
impl<B: Budget> Budget for Option<B> {
    fn try_retry(&self) -> bool {
        self.as_ref().is_none_or(Budget::try_retry)
    }
    fn record_failure(&self) {
        if let Some(budget) = self {
            budget.record_failure();
        }
    }
    fn record_success(&self) {
        if let Some(budget) = self {
            budget.record_success();
        }
    }
    fn record_call(&self) {
        if let Some(budget) = self {
            budget.record_call();
        }
    }
}

impl<B: Budget + ?Sized> Budget for Arc<B> {
    fn try_retry(&self) -> bool {
        (**self).try_retry()
    }
    fn record_failure(&self) {
        (**self).record_failure();
    }
    fn record_success(&self) {
        (**self).record_success();
    }
    fn record_call(&self) {
        (**self).record_call();
    }
}
