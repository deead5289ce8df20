//! The hedging rules on tokio's paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::retry::{previous_attempts, Verdict};
use crate::RetryBudget;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Attempt `n` (from 0) takes `plan[n].0` and then returns `plan[n].1`.
struct Script {
    plan: Vec<(u64, Result<u32, &'static str>)>,
    started: Mutex<Vec<(u32, Duration)>>,
    begun: Instant,
    dropped: AtomicU32,
}

struct Dropped<'a>(&'a AtomicU32, bool);

impl Drop for Dropped<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Script {
    fn new(plan: &[(u64, Result<u32, &'static str>)]) -> Self {
        Self {
            plan: plan.to_vec(),
            started: Mutex::new(Vec::new()),
            begun: Instant::now(),
            dropped: AtomicU32::new(0),
        }
    }

    async fn attempt(&self) -> Result<u32, &'static str> {
        let n = {
            let mut started = self.started.lock().unwrap();
            started.push((previous_attempts(), self.begun.elapsed()));
            started.len() - 1
        };
        let mut guard = Dropped(&self.dropped, false);
        let (ms, result) = self.plan[n];
        tokio::time::sleep(MS(ms)).await;
        guard.1 = true;
        result
    }

    fn starts(&self) -> Vec<(u32, Duration)> {
        self.started.lock().unwrap().clone()
    }
}

/// `busy` is not fatal, `busy+N` asks for N ms, `busy+stop` says no more
/// hedges (A6's negative pushback); anything else is fatal.
fn non_fatal(e: &&str) -> Verdict {
    Verdict {
        retryable: e.starts_with("busy") && e != &"busy+stop",
        pushback: e
            .strip_prefix("busy+")
            .and_then(|ms| ms.parse().ok())
            .map(MS),
        timeout: false,
        stop: e == &"busy+stop",
    }
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_attempt_sends_no_hedge() {
    let script = Script::new(&[(5, Ok(1))]);
    let policy = HedgePolicy::new(3, MS(10));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(1));
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_attempt_is_hedged_after_the_delay_and_the_first_answer_wins() {
    let script = Script::new(&[(1000, Ok(1)), (1000, Ok(2)), (5, Ok(3))]);
    let policy = HedgePolicy::new(3, MS(10));
    let started = Instant::now();
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(3));
    assert_eq!(
        started.elapsed(),
        MS(25),
        "hedges at 10 and 20 ms, the third answers 5 ms later"
    );
    assert_eq!(script.starts(), [(0, MS(0)), (1, MS(10)), (2, MS(20))]);
    assert_eq!(
        script.dropped.load(Ordering::Relaxed),
        2,
        "the losers were dropped at once"
    );
}

#[tokio::test(start_paused = true)]
async fn no_more_than_max_attempts() {
    let script = Script::new(&[(100, Ok(1)), (100, Ok(2))]);
    let policy = HedgePolicy::new(2, MS(10));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(1));
    assert_eq!(script.starts().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_ends_the_call_and_drops_the_rest() {
    let script = Script::new(&[(1000, Ok(1)), (5, Err("denied"))]);
    let policy = HedgePolicy::new(3, MS(10));
    let started = Instant::now();
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Err("denied"));
    assert_eq!(started.elapsed(), MS(15));
    assert_eq!(script.dropped.load(Ordering::Relaxed), 1);
    assert_eq!(script.starts().len(), 2);
}

/// gRPC A6: a pushback that says stop sends no further hedge, and the
/// attempts already running go on (one of them may answer).
#[tokio::test(start_paused = true)]
async fn a_stop_pushback_sends_no_more_hedges_and_the_running_attempt_answers() {
    let script = Script::new(&[(100, Ok(1)), (5, Err("busy+stop")), (5, Ok(3))]);
    let policy = HedgePolicy::new(3, MS(10));
    let started = Instant::now();
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(1), "the first attempt, still running, answered");
    assert_eq!(started.elapsed(), MS(100));
    assert_eq!(script.starts().len(), 2, "no third hedge after the stop");
    assert_eq!(script.dropped.load(Ordering::Relaxed), 0);
}

/// ... and when none is left running, the stop is the call's answer.
#[tokio::test(start_paused = true)]
async fn a_stop_pushback_with_nothing_running_ends_the_call() {
    let script = Script::new(&[(5, Err("busy+stop")), (5, Ok(2))]);
    let policy = HedgePolicy::new(3, MS(10));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Err("busy+stop"));
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_non_fatal_error_starts_the_next_hedge_at_once() {
    let script = Script::new(&[(3, Err("busy")), (5, Ok(2))]);
    let policy = HedgePolicy::new(3, MS(100));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(2));
    assert_eq!(script.starts(), [(0, MS(0)), (1, MS(3))]);
}

#[tokio::test(start_paused = true)]
async fn pushback_delays_the_next_hedge() {
    let script = Script::new(&[(3, Err("busy+50")), (5, Ok(2))]);
    let policy = HedgePolicy::new(3, MS(10));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(2));
    assert_eq!(script.starts(), [(0, MS(0)), (1, MS(53))]);
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_fails_the_last_error_is_returned() {
    let script = Script::new(&[(30, Err("busy 1")), (30, Err("busy 2"))]);
    let policy = HedgePolicy::new(2, MS(10));
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Err("busy 2"));
    assert_eq!(script.starts(), [(0, MS(0)), (1, MS(10))]);
}

#[tokio::test(start_paused = true)]
async fn no_hedge_starts_past_the_deadline() {
    let script = Script::new(&[(1000, Ok(1)), (1000, Ok(2))]);
    let policy = HedgePolicy::new(3, MS(50));
    let r = crate::deadline::scope(MS(40), hedge(&policy, |_| script.attempt(), non_fatal)).await;
    assert!(
        r.is_err(),
        "one budget for all hedges: the deadline ends the call"
    );
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_budget_that_refuses_stops_the_hedges() {
    static EMPTY: RetryBudget = RetryBudget::new(2, 0.1);
    EMPTY.record_failure();
    EMPTY.record_failure();
    let script = Script::new(&[(100, Ok(1)), (5, Ok(2))]);
    let policy = HedgePolicy::new(3, MS(10)).budget(&EMPTY);
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Ok(1));
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_budget_that_refuses_after_pushback_returns_the_error() {
    static ONE: RetryBudget = RetryBudget::new(10, 0.1);
    // Five failures leave five tokens: retries (and hedges) are refused.
    for _ in 0..5 {
        ONE.record_failure();
    }
    let script = Script::new(&[(3, Err("busy+50"))]);
    let policy = HedgePolicy::new(3, MS(10)).budget(&ONE);
    let r = hedge(&policy, |_| script.attempt(), non_fatal).await;
    assert_eq!(r, Err("busy+50"), "returned, not left pending");
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_adaptive_delay_follows_the_running_percentile() {
    static P50: Latency = Latency::new(50.0).warmup(10);
    let policy = HedgePolicy::new(2, Duration::ZERO).adaptive(&P50);
    assert_eq!(policy.delay(), Latency::DEFAULT_FALLBACK);
    for _ in 0..20 {
        let script = Script::new(&[(4, Ok(1))]);
        hedge(&policy, |_| script.attempt(), non_fatal)
            .await
            .unwrap();
    }
    let delay = policy.delay();
    assert!(delay >= MS(4) && delay <= MS(5), "{delay:?}");
    // A slow one is now hedged after ~4 ms rather than 10.
    let script = Script::new(&[(1000, Ok(1)), (1, Ok(2))]);
    assert_eq!(hedge(&policy, |_| script.attempt(), non_fatal).await, Ok(2));
    assert!(script.starts()[1].1 <= MS(5));
}

#[test]
fn the_future_is_send_when_the_attempts_are() {
    fn assert_send<T: Send>(_: &T) {}
    let policy = HedgePolicy::new(2, MS(1));
    let f = hedge(&policy, |_| async { Ok::<_, ()>(()) }, |_| Verdict::RETRY);
    assert_send(&f);
}
