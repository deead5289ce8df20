//! A retry budget in the style of Finagle's `RetryBudget`, Envoy's retry
//! budget and tower's `TpsBudget`: retries are at most a fraction of the
//! calls over a sliding window, plus a floor per second so that a quiet
//! service can still retry.

use std::time::Duration;

use super::Budget;
use crate::clock;
use crate::window::Window;

/// Retries limited to a fraction of the calls made over a window, plus a
/// floor of retries per second.
///
/// Every call deposits `ratio` of a retry; every retry withdraws one; a
/// retry goes when the window's balance, with `min_per_second × window`
/// retries on top, covers it. With the defaults (20% over 10 s, 10 per
/// second), a client making 1,000 calls a second can retry 210 of them a
/// second, however many fail: where a fixed `max = 3` would triple the load
/// on a failing service, this adds at most 20% (plus the floor).
///
/// Lock-free and `const`, so that it can be a `static` named by
/// `#[retry(budget = PATH)]`; with feature `test-util` its windows are
/// tokio's clock, so that a paused clock drives them in tests. Under contention the balance can be overdrawn
/// by as many retries as race for the last one.
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry::{Budget, RatioBudget};
///
/// static BUDGET: RatioBudget = RatioBudget::new(0.1).min_per_second(0);
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// for _ in 0..20 {
///     BUDGET.record_call();
/// }
/// assert!(BUDGET.try_retry());
/// assert!(BUDGET.try_retry());
/// assert!(!BUDGET.try_retry(), "10% of 20 calls: two retries");
/// # }
/// ```
#[derive(Debug)]
pub struct RatioBudget {
    /// Deposits are thousandths of a retry.
    ratio_milli: u64,
    min_per_second: u64,
    /// Calls (a) and retries (b).
    window: Window,
}

impl RatioBudget {
    /// The default window: 10 s.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);
    /// The default floor: 10 retries a second.
    pub const DEFAULT_MIN_PER_SECOND: u32 = 10;

    /// Retries up to `ratio` of the calls (clamped to `0.0..=1000.0`, kept
    /// to three decimals) over 10 s, plus 10 a second.
    ///
    /// ```
    /// let budget = steadfast::retry::RatioBudget::new(0.2);
    /// # let _ = budget;
    /// ```
    pub const fn new(ratio: f64) -> Self {
        let ratio = if ratio.is_nan() || ratio < 0.0 {
            0.0
        } else if ratio > 1000.0 {
            1000.0
        } else {
            ratio
        };
        Self {
            ratio_milli: (ratio * 1000.0) as u64,
            min_per_second: Self::DEFAULT_MIN_PER_SECOND as u64,
            window: Window::new(Self::DEFAULT_WINDOW, 10),
        }
    }

    /// The floor: retries allowed each second whatever the calls.
    ///
    /// ```
    /// let budget = steadfast::retry::RatioBudget::new(0.2).min_per_second(0);
    /// # let _ = budget;
    /// ```
    pub const fn min_per_second(mut self, retries: u32) -> Self {
        self.min_per_second = retries as u64;
        self
    }

    /// The window over which calls and retries are counted (default 10 s,
    /// cut into 10 slices).
    ///
    /// ```
    /// let budget = steadfast::retry::RatioBudget::new(0.2).window(std::time::Duration::from_secs(60));
    /// # let _ = budget;
    /// ```
    pub const fn window(mut self, length: Duration) -> Self {
        self.window = Window::new(length, 10);
        self
    }

    /// Retries the budget would allow now.
    ///
    /// ```
    /// use steadfast::retry::{Budget, RatioBudget};
    /// let budget = RatioBudget::new(0.5).min_per_second(0);
    /// budget.record_call();
    /// budget.record_call();
    /// assert_eq!(budget.available(), 1);
    /// ```
    pub fn available(&self) -> u64 {
        self.balance_milli(clock::now()) / 1000
    }

    fn balance_milli(&self, now: u64) -> u64 {
        let counts = self.window.counts(now);
        let seconds = self.window.length().as_secs_f64();
        let floor = (self.min_per_second as f64 * seconds * 1000.0) as u64;
        let deposits = counts.a.saturating_mul(self.ratio_milli);
        floor
            .saturating_add(deposits)
            .saturating_sub(counts.b.saturating_mul(1000))
    }
}

impl Budget for RatioBudget {
    fn try_retry(&self) -> bool {
        let now = clock::now();
        if self.balance_milli(now) < 1000 {
            return false;
        }
        self.window.add(now, 0, 1);
        true
    }

    #[inline]
    fn record_failure(&self) {}

    #[inline]
    fn record_success(&self) {}

    #[inline]
    fn record_call(&self) {
        self.window.add_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_floor_refills_each_window() {
        let budget = RatioBudget::new(0.0)
            .min_per_second(1)
            .window(Duration::from_secs(2));
        assert!(budget.try_retry());
        assert!(budget.try_retry());
        assert!(!budget.try_retry(), "1 a second over 2 s");
        tokio::time::advance(Duration::from_millis(2100)).await;
        assert!(budget.try_retry());
    }

    #[tokio::test(start_paused = true)]
    async fn retries_follow_the_calls() {
        let budget = RatioBudget::new(0.2).min_per_second(0);
        for _ in 0..1000 {
            budget.record_call();
        }
        let granted = (0..1000).filter(|_| budget.try_retry()).count();
        assert_eq!(granted, 200);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!budget.try_retry(), "the calls left the window");
    }
}
