//! `#[circuit_breaker]`, budgets and nested retries through the attributes,
//! on tokio's paused clock.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use steadfast::retry::Nested;
use steadfast::{circuit_breaker, retry, CircuitBreaker, CircuitState, RatioBudget};
use tonic::{Code, Status};

mod common;
use common::Log;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn down() -> Result<(), Status> {
    Err(Status::unavailable("down"))
}

mod forms {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_shared_breaker_refuses_without_running_the_body() {
        static SHARED: CircuitBreaker = CircuitBreaker::new().min_calls(2);
        #[circuit_breaker(SHARED)]
        async fn a(log: &Log) -> Result<(), Status> {
            log.hit();
            down()
        }
        #[circuit_breaker(SHARED)]
        async fn b(log: &Log) -> Result<(), Status> {
            log.hit();
            Ok(())
        }
        let log = Log::new();
        a(&log).await.unwrap_err();
        a(&log).await.unwrap_err();
        assert_eq!(SHARED.state(), CircuitState::Open);
        let refused = b(&log).await.unwrap_err();
        assert_eq!(log.count(), 2, "b was refused without running");
        assert_eq!(refused.code(), Code::Unavailable);
        assert_eq!(
            steadfast::Retryable::retry_after(&refused),
            Some(CircuitBreaker::DEFAULT_OPEN_FOR)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_breaker_of_the_functions_own_takes_its_keys() {
        #[circuit_breaker(failure_ratio = 1.0, min_calls = 3, window = 1s, open_for = 200ms, half_open = 1)]
        async fn call(fail: bool) -> Result<(), Status> {
            if fail {
                down()
            } else {
                Ok(())
            }
        }
        call(true).await.unwrap_err();
        call(false).await.unwrap();
        call(true).await.unwrap_err();
        assert!(call(false).await.is_ok(), "2 of 3 failed: under 100%");
        tokio::time::sleep(MS(1100)).await; // the window forgets them
        for _ in 0..3 {
            let _ = call(true).await;
        }
        assert_eq!(call(false).await.unwrap_err().code(), Code::Unavailable);
        tokio::time::sleep(MS(200)).await;
        call(false).await.expect("the probe goes through");
        call(true)
            .await
            .expect_err("closed again: counted, not refused");
    }

    #[tokio::test(start_paused = true)]
    async fn a_field_of_self_holding_an_arc() {
        struct Client {
            breaker: Arc<CircuitBreaker>,
        }
        impl Client {
            #[circuit_breaker(self.breaker)]
            async fn call(&self) -> Result<(), Status> {
                down()
            }
        }
        let client = Client {
            breaker: Arc::new(CircuitBreaker::new().failure_count(1)),
        };
        client.call().await.unwrap_err();
        assert_eq!(client.breaker.state(), CircuitState::Open);
    }

    #[test]
    fn blocking_functions_and_io_errors() {
        #[circuit_breaker(failures = 2)]
        fn read(log: &Log) -> std::io::Result<u32> {
            log.hit();
            Err(std::io::ErrorKind::ConnectionReset.into())
        }
        let log = Log::new();
        let _ = read(&log);
        let _ = read(&log);
        let refused = read(&log).unwrap_err();
        assert_eq!(log.count(), 2);
        assert!(refused.get_ref().unwrap().is::<steadfast::CircuitOpen>());
    }
}

mod failures {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_the_servers_faults_count_for_status() {
        #[circuit_breaker(failures = 1)]
        async fn call(code: Code) -> Result<(), Status> {
            Err(Status::new(code, "x"))
        }
        for code in [
            Code::NotFound,
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::AlreadyExists,
        ] {
            assert_eq!(
                call(code).await.unwrap_err().code(),
                code,
                "{code:?} is the caller's"
            );
        }
        call(Code::Internal).await.unwrap_err();
        assert_eq!(
            call(Code::NotFound).await.unwrap_err().code(),
            Code::Unavailable
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_overrides() {
        fn only_aborted(status: &Status) -> bool {
            status.code() == Code::Aborted
        }
        #[circuit_breaker(failures = 1, when = only_aborted)]
        async fn call(code: Code) -> Result<(), Status> {
            Err(Status::new(code, "x"))
        }
        call(Code::Unavailable).await.unwrap_err();
        call(Code::Aborted).await.unwrap_err();
        assert!(call(Code::Aborted)
            .await
            .unwrap_err()
            .message()
            .contains("circuit"));
    }

    #[tokio::test(start_paused = true)]
    async fn any_error_of_another_type_counts() {
        #[derive(Debug)]
        struct Mine;
        impl From<steadfast::CircuitOpen> for Mine {
            fn from(_: steadfast::CircuitOpen) -> Self {
                Mine
            }
        }
        static B: CircuitBreaker = CircuitBreaker::new().failure_count(2);
        #[circuit_breaker(B)]
        async fn call() -> Result<(), Mine> {
            Err(Mine)
        }
        let _ = call().await;
        let _ = call().await;
        assert_eq!(B.state(), CircuitState::Open);
    }
}

mod order {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retry_outside_gates_every_attempt_and_waits_for_half_open() {
        static GATED: CircuitBreaker = CircuitBreaker::new()
            .failure_count(2)
            .open_for(Duration::from_millis(300))
            .half_open_calls(1);
        static UP: AtomicBool = AtomicBool::new(false);
        #[retry(max = 4, backoff = "const", initial = 10ms, jitter = "none")]
        #[circuit_breaker(GATED)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            if UP.load(Ordering::Relaxed) {
                Ok(())
            } else {
                down()
            }
        }
        let log = Log::new();
        let started = tokio::time::Instant::now();
        let caller = call(&log);
        let heal = async {
            tokio::time::sleep(MS(100)).await;
            UP.store(true, Ordering::Relaxed);
        };
        let (result, ()) = tokio::join!(caller, heal);
        result.expect("the probe after the open period succeeds");
        // Attempt 1 and 2 fail and open it; attempt 3 is refused and waits
        // the pushback (300 ms); attempt 4 is the probe.
        assert_eq!(log.count(), 3);
        assert!(started.elapsed() >= MS(300), "{:?}", started.elapsed());
        assert_eq!(GATED.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_outside_stops_at_once_when_half_open_is_past_the_deadline() {
        static GATED: CircuitBreaker = CircuitBreaker::new().failure_count(1);
        #[steadfast::deadline(1s)]
        #[retry(max = 5, backoff = "none")]
        #[circuit_breaker(GATED)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            down()
        }
        let log = Log::new();
        let started = tokio::time::Instant::now();
        let error = call(&log).await.unwrap_err();
        assert_eq!(log.count(), 1);
        assert!(
            error.message().contains("circuit breaker open"),
            "{error:?}"
        );
        assert!(
            started.elapsed() < MS(10),
            "did not sleep into the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_outside_sees_one_outcome_per_call() {
        static OUTSIDE: CircuitBreaker = CircuitBreaker::new().failure_count(2);
        #[circuit_breaker(OUTSIDE)]
        #[retry(max = 3, backoff = "none")]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            down()
        }
        let log = Log::new();
        call(&log).await.unwrap_err();
        assert_eq!(log.count(), 3);
        assert_eq!(
            OUTSIDE.state(),
            CircuitState::Closed,
            "three attempts, one outcome"
        );
        call(&log).await.unwrap_err();
        assert_eq!(OUTSIDE.state(), CircuitState::Open);
        call(&log).await.unwrap_err();
        assert_eq!(log.count(), 6, "a refused call is not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_cut_by_per_attempt_count_as_failures() {
        static CUT: CircuitBreaker = CircuitBreaker::new().failure_count(2);
        #[retry(max = 2, backoff = "none", per_attempt = 50ms)]
        #[circuit_breaker(CUT)]
        async fn call() -> Result<(), Status> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        }
        assert_eq!(call().await.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(
            CUT.state(),
            CircuitState::Open,
            "both timed-out attempts counted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_the_caller_drops_counts_for_nothing() {
        static DROPPED: CircuitBreaker = CircuitBreaker::new().failure_count(1);
        #[circuit_breaker(DROPPED)]
        async fn call() -> Result<(), Status> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        }
        let _ = tokio::time::timeout(MS(10), call()).await;
        assert_eq!(DROPPED.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_outside_counts_as_a_failure() {
        static TIMED: CircuitBreaker = CircuitBreaker::new().failure_count(1);
        #[circuit_breaker(TIMED)]
        #[steadfast::deadline(50ms)]
        async fn call() -> Result<(), Status> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        }
        assert_eq!(call().await.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(TIMED.state(), CircuitState::Open);
    }
}

mod budgets {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_ratio_budget_bounds_retries_to_a_share_of_calls() {
        static RATIO: RatioBudget = RatioBudget::new(0.1).min_per_second(0);
        #[retry(max = 3, backoff = "none", budget = RATIO)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            down()
        }
        let log = Log::new();
        for _ in 0..100 {
            call(&log).await.unwrap_err();
        }
        // 100 calls; 10% of them may be retried (deposits come with each
        // call, so the first retries wait for the tenth call).
        let attempts = log.count();
        assert!(
            (105..=111).contains(&attempts),
            "{attempts} attempts for 100 calls"
        );
    }
}

mod nested {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn nested_loops_multiply_unless_the_outer_says_once() {
        #[retry(max = 3, backoff = "none", on = [Unavailable])]
        async fn deepest(log: &Log) -> Result<(), Status> {
            log.hit();
            down()
        }
        #[retry(max = 3, backoff = "none")]
        async fn middle(log: &Log) -> Result<(), Status> {
            deepest(log).await
        }
        #[retry(max = 3, backoff = "none")]
        async fn top(log: &Log) -> Result<(), Status> {
            middle(log).await
        }
        #[retry(max = 3, backoff = "none", nested = "once")]
        async fn top_once(log: &Log) -> Result<(), Status> {
            middle(log).await
        }
        let log = Log::new();
        top(&log).await.unwrap_err();
        assert_eq!(log.count(), 27);
        let log = Log::new();
        top_once(&log).await.unwrap_err();
        assert_eq!(log.count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn each_inner_attempt_is_a_first_attempt() {
        let seen = std::sync::Mutex::new(Vec::new());
        let outer = steadfast::RetryPolicy::new()
            .max_attempts(3)
            .backoff(steadfast::Backoff::none())
            .nested(Nested::Once);
        let inner = steadfast::RetryPolicy::new()
            .max_attempts(3)
            .backoff(steadfast::Backoff::none());
        let _ = steadfast::retry(&outer, || {
            steadfast::retry(&inner, || async {
                seen.lock()
                    .unwrap()
                    .push(steadfast::retry::previous_attempts());
                Err::<(), _>(Status::unavailable("x"))
            })
        })
        .await;
        // To gRPC each retry of the outer loop is a new call.
        assert_eq!(*seen.lock().unwrap(), [0, 0, 0]);
    }
}
