//! The attributes keep the meaning of valid code (issue 9): each module pins
//! one finding, on tokio's paused clock.
#![allow(clippy::unwrap_used)] // the helpers below run only inside tests

use std::time::Duration;

use steadfast::{deadline, retry};
use tokio::time::Instant;
use tonic::{Code, Status};

mod common;
use common::Log;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn assert_send<T: Send>(t: T) -> T {
    t
}

mod coercions {
    use super::*;

    #[derive(Debug)]
    struct MyError;

    impl std::fmt::Display for MyError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("mine")
        }
    }

    impl std::error::Error for MyError {}

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    #[tokio::test(start_paused = true)]
    async fn boxed_errors_coerce_at_return_and_at_the_tail() {
        #[steadfast::deadline(1s)]
        #[retry(max = 3, backoff = "none")]
        async fn call(log: &Log) -> Result<u32, BoxError> {
            if log.hit() == 1 {
                return Err(Box::new(MyError));
            }
            Err(Box::new(MyError))
        }
        let log = Log::new();
        let err = call(&log).await.unwrap_err();
        assert!(err.is::<MyError>());
        assert_eq!(
            log.count(),
            3,
            "a type without `Retryable` is retried on every `Err`"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn question_mark_converts_into_the_declared_error() {
        #[retry(max = 2, backoff = "none")]
        async fn parse(text: &str) -> Result<u32, BoxError> {
            Ok(text.parse::<u32>()?)
        }
        assert_eq!(parse("7").await.unwrap(), 7);
        assert!(parse("x").await.is_err());
    }
}

mod async_trait_methods {
    use super::*;

    #[tonic::async_trait]
    trait Api: Send + Sync {
        async fn slow(&self) -> Result<(), Status>;
        async fn flaky(&mut self, label: String) -> Result<String, Status>;
    }

    struct Svc {
        calls: u32,
    }

    #[tonic::async_trait]
    impl Api for Svc {
        #[steadfast::deadline(100ms)]
        async fn slow(&self) -> Result<(), Status> {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        }

        #[retry(max = 3, backoff = "const", initial = 10ms, jitter = "none")]
        async fn flaky(&mut self, mut label: String) -> Result<String, Status> {
            self.calls += 1;
            label.push('!');
            if self.calls < 3 {
                return Err(Status::unavailable("down"));
            }
            Ok(label)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_cuts_a_handler_short() {
        let svc = Svc { calls: 0 };
        let start = Instant::now();
        let err = svc.slow().await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        assert_eq!(start.elapsed(), MS(100));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_reruns_a_handler_with_a_fresh_copy_of_each_argument() {
        let mut svc = Svc { calls: 0 };
        let label = svc.flaky("a".into()).await.unwrap();
        assert_eq!(label, "a!", "each attempt starts from the caller's value");
        assert_eq!(svc.calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_futures_are_send() {
        let svc = std::sync::Arc::new(Svc { calls: 0 });
        let task = tokio::spawn(assert_send(async move { svc.slow().await }));
        assert!(task.await.unwrap().is_err());
    }
}

mod nested_retries {
    use super::*;
    use std::sync::Mutex;
    use steadfast::retry::previous_attempts;

    #[tokio::test(start_paused = true)]
    async fn the_innermost_loop_numbers_its_own_attempts() {
        static SEEN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
        #[retry(max = 3, backoff = "none")]
        async fn rpc() -> Result<(), Status> {
            SEEN.lock().unwrap().push(previous_attempts());
            Err(Status::unavailable("down"))
        }
        fn always(_: &Status) -> bool {
            true
        }
        #[retry(max = 2, backoff = "none", when = always)]
        async fn twice() -> Result<(), Status> {
            rpc().await
        }
        twice().await.unwrap_err();
        assert_eq!(*SEEN.lock().unwrap(), [0, 1, 2, 0, 1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_executor_numbers_its_first_attempt_too() {
        let policy = steadfast::RetryPolicy::new()
            .max_attempts(2)
            .backoff(steadfast::Backoff::none());
        let seen = Mutex::new(Vec::new());
        let _ = steadfast::retry(&policy, || async {
            let inner = steadfast::retry(&policy, || async {
                seen.lock().unwrap().push(previous_attempts());
                Err::<(), _>(Status::unavailable("down"))
            });
            inner.await
        })
        .await;
        assert_eq!(*seen.lock().unwrap(), [0, 1, 0, 1]);
    }
}

mod pushback {
    use super::*;

    fn pushback(ms: &str) -> Status {
        let mut status = Status::unavailable("busy");
        status
            .metadata_mut()
            .insert("grpc-retry-pushback-ms", ms.parse().unwrap());
        status
    }

    /// gRPC A6: the server's delay exactly, as grpc-go and grpc-java wait
    /// it: `max_delay` caps the schedule's delays, not the server's.
    #[tokio::test(start_paused = true)]
    async fn is_waited_in_full_whatever_max_delay() {
        #[retry(max = 2, initial = 10ms, max_delay = 2s)]
        async fn call(log: &Log) -> Result<(), Status> {
            if log.hit() == 1 {
                return Err(pushback("99999999"));
            }
            Ok(())
        }
        let log = Log::new();
        call(&log).await.unwrap();
        assert_eq!(log.gaps(), [Duration::from_millis(99_999_999)]);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_deadline_stops_at_once() {
        #[steadfast::deadline(5s)]
        #[retry(max = 2, max_delay = 1m)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            Err(pushback("99999999"))
        }
        let log = Log::new();
        let start = Instant::now();
        let err = call(&log).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(log.count(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

/// One rule for an attempt that runs out of its own time, whichever way it
/// is written: it is retried, whatever the error type.
mod attempt_timeouts {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadline_below_retry_retries_a_timed_out_status() {
        #[retry(max = 3, backoff = "none")]
        #[steadfast::deadline(100ms)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            std::future::pending().await
        }
        let log = Log::new();
        let err = call(&log).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        assert_eq!(log.count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_below_retry_retries_a_timed_out_io_error() {
        #[retry(max = 3, backoff = "none")]
        #[steadfast::deadline(100ms)]
        async fn call(log: &Log) -> Result<(), std::io::Error> {
            log.hit();
            std::future::pending().await
        }
        let log = Log::new();
        let err = call(&log).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(log.count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn per_attempt_does_the_same_for_both_types() {
        #[retry(max = 3, backoff = "none", per_attempt = 100ms)]
        async fn status(log: &Log) -> Result<(), Status> {
            log.hit();
            std::future::pending().await
        }
        #[retry(max = 3, backoff = "none", per_attempt = 100ms)]
        async fn io(log: &Log) -> Result<(), std::io::Error> {
            log.hit();
            std::future::pending().await
        }
        let (a, b) = (Log::new(), Log::new());
        assert_eq!(status(&a).await.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(
            io(&b).await.unwrap_err().kind(),
            std::io::ErrorKind::TimedOut
        );
        assert_eq!((a.count(), b.count()), (3, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_returned_at_the_deadline_is_classified_as_itself() {
        #[retry(max = 3, backoff = "none", per_attempt = 100ms)]
        async fn denied(log: &Log) -> Result<(), Status> {
            log.hit();
            tokio::time::sleep(MS(100)).await;
            Err(Status::permission_denied("no"))
        }
        #[retry(max = 3, backoff = "none")]
        #[steadfast::deadline(100ms)]
        async fn denied_below(log: &Log) -> Result<(), Status> {
            log.hit();
            tokio::time::sleep(MS(100)).await;
            Err(Status::permission_denied("no"))
        }
        for (log, result) in [(Log::new(), None), (Log::new(), Some(()))] {
            let err = match result {
                None => denied(&log).await,
                Some(()) => denied_below(&log).await,
            }
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied);
            assert_eq!(log.count(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_reported_by_the_transport_at_the_deadline_is_a_timeout() {
        // tonic's own `grpc-timeout` timer may fire a hair before ours.
        #[retry(max = 2, backoff = "none", per_attempt = 100ms)]
        async fn call(log: &Log) -> Result<(), Status> {
            log.hit();
            tokio::time::sleep(MS(100)).await;
            Err(Status::deadline_exceeded("Timeout expired"))
        }
        let log = Log::new();
        assert_eq!(call(&log).await.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(log.count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_executor_follows_the_same_rule() {
        let policy = steadfast::RetryPolicy::new()
            .max_attempts(3)
            .backoff(steadfast::Backoff::none())
            .per_attempt(MS(100));
        let log = Log::new();
        let err = steadfast::retry(&policy, || async {
            log.hit();
            tokio::time::sleep(MS(100)).await;
            Err::<(), _>(Status::permission_denied("no"))
        })
        .await
        .unwrap_err();
        assert_eq!((err.code(), log.count()), (Code::PermissionDenied, 1));
    }
}

/// Where `#[retry]` and `steadfast::retry` classify alike, and where not.
mod classification {
    use super::*;
    use steadfast::retry::Always;
    use steadfast::{Backoff, RetryPolicy, Retryable};

    #[tokio::test(start_paused = true)]
    async fn a_generic_error_bounded_by_retryable_is_classified_by_it() {
        #[retry(max = 3, backoff = "none")]
        async fn call<E: Retryable>(log: &Log, make: fn() -> E) -> Result<(), E> {
            log.hit();
            Err(make())
        }
        let log = Log::new();
        let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
        call(&log, not_found).await.unwrap_err();
        assert_eq!(log.count(), 1, "NotFound is not retryable");
    }

    #[tokio::test(start_paused = true)]
    async fn a_generic_error_without_the_bound_is_retried_on_every_err() {
        #[retry(max = 3, backoff = "none")]
        async fn call<E>(log: &Log, make: fn() -> E) -> Result<(), E> {
            log.hit();
            Err(make())
        }
        let log = Log::new();
        let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
        call(&log, not_found).await.unwrap_err();
        assert_eq!(log.count(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_executor_retries_any_error_with_always() {
        let policy = RetryPolicy::new().backoff(Backoff::none()).classify(Always);
        let log = Log::new();
        // The executor needs `E: From<Elapsed>` (a policy may time attempts out).
        let result: Result<(), Box<dyn std::error::Error>> = steadfast::retry(&policy, || async {
            log.hit();
            Err("any error type".into())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(log.count(), 3);
    }
}

#[tokio::test(start_paused = true)]
async fn remaining_is_zero_once_the_deadline_has_passed() {
    // `propagate` carries the deadline into a task without enforcing it.
    let mut task = None;
    deadline::scope(MS(100), async {
        task = Some(tokio::spawn(deadline::propagate(async {
            tokio::time::sleep(MS(300)).await;
            deadline::remaining()
        })));
    })
    .await
    .unwrap();
    assert_eq!(task.unwrap().await.unwrap(), Some(Duration::ZERO));
}
