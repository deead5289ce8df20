//! `#[rate_limit]` and `#[concurrency_limit]`: where they stand in a stack
//! says what they limit (each attempt, or each call), on tokio's paused
//! clock.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::limit::Which;
use steadfast::{ConcurrencyLimit, Limited, RateLimiter};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn reset() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::ConnectionReset)
}

fn limited(error: &std::io::Error) -> Option<&Limited> {
    error.get_ref()?.downcast_ref()
}

mod rate {
    use super::*;

    static EACH_ATTEMPT: RateLimiter = RateLimiter::per_second(10).burst(1);
    static RUNS_A: AtomicU32 = AtomicU32::new(0);

    #[steadfast::retry(max = 3, backoff = "none")]
    #[steadfast::rate_limit(EACH_ATTEMPT)]
    async fn limited_per_attempt() -> Result<u32, std::io::Error> {
        match RUNS_A.fetch_add(1, SeqCst) {
            0 => Err(reset()),
            n => Ok(n),
        }
    }

    /// The retry's second attempt is refused (its turn is 100 ms away);
    /// the refusal is retryable after that time, so the third attempt runs
    /// at 100 ms.
    #[tokio::test(start_paused = true)]
    async fn a_retry_above_a_rate_limit_asks_it_for_every_attempt_and_waits_its_turn() {
        let start = Instant::now();
        assert_eq!(limited_per_attempt().await.unwrap(), 1);
        assert_eq!(RUNS_A.load(SeqCst), 2, "the refused attempt did not run");
        assert_eq!(start.elapsed(), MS(100));
    }

    static EACH_CALL: RateLimiter = RateLimiter::per_second(10).burst(1);
    static RUNS_B: AtomicU32 = AtomicU32::new(0);

    #[steadfast::rate_limit(EACH_CALL)]
    #[steadfast::retry(max = 3, backoff = "none")]
    async fn limited_per_call() -> Result<u32, std::io::Error> {
        match RUNS_B.fetch_add(1, SeqCst) {
            0 | 1 => Err(reset()),
            n => Ok(n),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_above_a_retry_is_asked_once_a_call() {
        assert_eq!(limited_per_call().await.unwrap(), 2);
        assert_eq!(RUNS_B.load(SeqCst), 3, "three attempts, one admission");
        let refused = limited_per_call().await.unwrap_err();
        assert_eq!(limited(&refused).unwrap().which(), Which::Rate);
        assert_eq!(RUNS_B.load(SeqCst), 3, "the refused call did not run");
    }

    static QUEUED: RateLimiter = RateLimiter::per_second(10)
        .burst(1)
        .queue(Duration::from_secs(1));

    #[steadfast::deadline(50ms)]
    #[steadfast::rate_limit(QUEUED)]
    async fn within_50ms() -> Result<(), std::io::Error> {
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_above_a_queued_limit_refuses_a_turn_past_it_at_once() {
        within_50ms().await.unwrap();
        let start = Instant::now();
        let refused = within_50ms().await.unwrap_err();
        assert_eq!(limited(&refused).unwrap().retry_after(), Some(MS(100)));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

mod concurrency {
    use super::*;

    static ONE: ConcurrencyLimit = ConcurrencyLimit::new(1).named("one");

    #[steadfast::concurrency_limit(ONE)]
    async fn hold(wait: Duration) -> Result<(), std::io::Error> {
        tokio::time::sleep(wait).await;
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_place_is_held_while_the_call_runs_and_freed_when_its_future_is_dropped() {
        let (first, second) = tokio::join!(hold(MS(100)), hold(Duration::ZERO));
        assert!(first.is_ok());
        let refused = second.unwrap_err();
        assert_eq!(limited(&refused).unwrap().name(), "one");
        assert_eq!(ONE.in_flight(), 0, "freed when the call ended");
        // A call given up while it runs frees its place.
        let gave_up = tokio::time::timeout(MS(10), hold(MS(100))).await;
        assert!(gave_up.is_err());
        assert_eq!(ONE.in_flight(), 0);
        assert!(hold(Duration::ZERO).await.is_ok());
    }
}

mod own {
    use super::*;

    #[steadfast::rate_limit(rate = 10/s, burst = 2)]
    async fn two_at_once() -> Result<(), std::io::Error> {
        Ok(())
    }

    #[steadfast::concurrency_limit(max = 1, queue = 50ms)]
    async fn one_at_a_time(wait: Duration) -> Result<(), std::io::Error> {
        tokio::time::sleep(wait).await;
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_of_the_functions_own_is_one_for_all_its_calls() {
        two_at_once().await.unwrap();
        two_at_once().await.unwrap();
        let refused = two_at_once().await.unwrap_err();
        assert_eq!(limited(&refused).unwrap().retry_after(), Some(MS(100)));

        let start = Instant::now();
        let (a, b) = tokio::join!(one_at_a_time(MS(30)), one_at_a_time(Duration::ZERO));
        assert!(
            a.is_ok() && b.is_ok(),
            "the second waited 30 ms of its 50 ms queue"
        );
        assert_eq!(start.elapsed(), MS(30));
        let (a, b) = tokio::join!(one_at_a_time(MS(80)), one_at_a_time(Duration::ZERO));
        assert!(a.is_ok());
        assert_eq!(
            limited(&b.unwrap_err()).unwrap().which(),
            Which::Concurrency
        );
    }
}

mod keyed {
    use super::*;
    use steadfast::KeyedRateLimiter;

    static PER_USER: KeyedRateLimiter = KeyedRateLimiter::new(RateLimiter::per_second(10).burst(1));

    #[steadfast::rate_limit(PER_USER, key = user)]
    async fn for_user(user: &str) -> Result<(), std::io::Error> {
        Ok(())
    }

    #[steadfast::rate_limit(rate = 10/s, burst = 1, key = order.0)]
    fn for_order(order: (u32, &str)) -> Result<(), std::io::Error> {
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_keyed_limit_gives_each_key_its_own_budget() {
        for_user("alice").await.unwrap();
        assert_eq!(
            limited(&for_user("alice").await.unwrap_err())
                .unwrap()
                .retry_after(),
            Some(MS(100))
        );
        for_user("bob").await.unwrap();
        for_order((1, "a")).unwrap();
        for_order((2, "a")).unwrap();
        assert!(for_order((1, "b")).is_err(), "order 1's budget is spent");
    }
}
