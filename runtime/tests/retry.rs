//! The retry executors on tokio's paused clock: attempt counts, exact delays,
//! the deadline rule, pushback, budgets, per-attempt timeouts, cancellation.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::__private::RetryState;
use steadfast::retry::Always;
use steadfast::tonic::Codes;
use steadfast::{backoff, deadline, Backoff, Elapsed, Jitter, RetryBudget, RetryPolicy};

const PUSHBACK_HEADER: &str = "grpc-retry-pushback-ms";

/// `UNAVAILABLE` with the server's pushback `ms`.
fn unavailable_with_pushback(ms: &str) -> Status {
    let mut status = unavailable();
    status
        .metadata_mut()
        .insert(PUSHBACK_HEADER, ms.parse().expect("a header value"));
    status
}
use tokio::time::Instant;
use tonic::{Code, Status};

mod common;
use common::Log;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn no_jitter(b: Backoff) -> Backoff {
    b.jitter(Jitter::None)
}

fn unavailable() -> Status {
    Status::unavailable("down")
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_with_exact_delays() {
    let policy = RetryPolicy::new()
        .max_attempts(5)
        .backoff(no_jitter(Backoff::exponential(MS(100))));
    let log = Log::default();
    let result = steadfast::retry(&policy, || async {
        if log.hit() < 4 {
            Err(unavailable())
        } else {
            Ok(7)
        }
    })
    .await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(log.gaps(), [100, 200, 400].map(MS));
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_with_the_last_error() {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(no_jitter(Backoff::constant(MS(10))));
    let log = Log::default();
    let start = Instant::now();
    let err = steadfast::retry(&policy, || async {
        let n = log.hit();
        Err::<(), _>(Status::unavailable(format!("attempt {n}")))
    })
    .await
    .unwrap_err();
    assert_eq!(log.count(), 3);
    assert_eq!(err.message(), "attempt 3");
    assert_eq!(start.elapsed(), MS(20));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_return_at_once() {
    let policy = RetryPolicy::new().max_attempts(5);
    let log = Log::default();
    let err = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(Status::invalid_argument("bad id"))
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn code_lists_and_predicates_choose_what_is_retried() {
    const CODES: Codes = Codes::new(&[Code::ResourceExhausted]);
    let policy = RetryPolicy::new().backoff(Backoff::none()).classify(CODES);
    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(Status::resource_exhausted("quota"))
    })
    .await;
    assert_eq!(log.count(), 3);

    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(unavailable())
    })
    .await;
    assert_eq!(log.count(), 1, "UNAVAILABLE is not in the list");

    let policy = RetryPolicy::new()
        .backoff(Backoff::none())
        .when(|e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound);
    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(std::io::Error::from(std::io::ErrorKind::NotFound))
    })
    .await;
    assert_eq!(log.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn never_sleeps_past_the_deadline() {
    // Delays 400 ms then 800 ms; the deadline is 1 s away. After the second
    // failure (at 400 ms) sleeping 800 ms would end past it: return at once.
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .backoff(no_jitter(Backoff::exponential(MS(400))));
    let log = Log::default();
    let start = Instant::now();
    let result = deadline::scope(Duration::from_secs(1), async {
        steadfast::retry(&policy, || async {
            let n = log.hit();
            Err::<(), _>(Status::unavailable(format!("attempt {n}")))
        })
        .await
    })
    .await;
    let err = result
        .expect("the retry loop returns before the deadline")
        .unwrap_err();
    assert_eq!(err.message(), "attempt 2");
    assert_eq!(log.count(), 2);
    assert_eq!(start.elapsed(), MS(400));
}

#[tokio::test(start_paused = true)]
async fn a_delay_ending_exactly_at_the_deadline_is_not_taken() {
    let policy = RetryPolicy::new().backoff(no_jitter(Backoff::constant(MS(500))));
    let log = Log::default();
    let result = deadline::scope(MS(500), async {
        steadfast::retry(&policy, || async {
            log.hit();
            Err::<(), _>(unavailable())
        })
        .await
    })
    .await;
    assert!(result.unwrap().is_err());
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn pushback_sets_the_next_delay() {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(no_jitter(Backoff::constant(MS(10))));
    let log = Log::default();
    let result = steadfast::retry(&policy, || async {
        if log.hit() == 1 {
            Err(unavailable_with_pushback("750"))
        } else {
            Ok(())
        }
    })
    .await;
    assert!(result.is_ok());
    assert_eq!(log.gaps(), [MS(750)]);
}

/// gRPC A6: "retry after exactly that delay", as grpc-go and grpc-java do:
/// not cut to the schedule's cap (`max_delay`, `maxBackoff`).
#[tokio::test(start_paused = true)]
async fn pushback_longer_than_max_delay_is_waited_in_full() {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(no_jitter(Backoff::constant(MS(10)).max_delay(MS(10))));
    let log = Log::default();
    let result = steadfast::retry(&policy, || async {
        if log.hit() == 1 {
            Err(unavailable_with_pushback("1000"))
        } else {
            Ok(())
        }
    })
    .await;
    assert!(result.is_ok());
    assert_eq!(log.gaps(), [MS(1000)]);
}

/// A pushback too large to add to now (2^63 ms) overflows nothing: under a
/// deadline it is no retry, at once.
#[tokio::test(start_paused = true)]
async fn an_enormous_pushback_under_a_deadline_ends_the_call_at_once() {
    let policy = RetryPolicy::new().max_attempts(3);
    let log = Log::default();
    let start = tokio::time::Instant::now();
    let result = deadline::scope(
        Duration::from_secs(2),
        steadfast::retry(&policy, || async {
            log.hit();
            Err::<(), _>(unavailable_with_pushback("9223372036854775807"))
        }),
    )
    .await;
    assert_eq!(
        result.unwrap().unwrap_err().code(),
        tonic::Code::Unavailable
    );
    assert_eq!(log.count(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn negative_or_malformed_pushback_stops_retries() {
    for value in ["-1", "soon", "1.5"] {
        let policy = RetryPolicy::new().max_attempts(5);
        let log = Log::default();
        let _ = steadfast::retry(&policy, || async {
            log.hit();
            Err::<(), _>(unavailable_with_pushback(value))
        })
        .await;
        assert_eq!(log.count(), 1, "pushback {value:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn per_attempt_timeout_turns_a_hung_attempt_into_a_retry() {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .per_attempt(MS(200))
        .backoff(no_jitter(Backoff::constant(MS(50))));
    let log = Log::default();
    let start = Instant::now();
    let result = steadfast::retry(&policy, || async {
        if log.hit() == 1 {
            std::future::pending::<()>().await;
        }
        Ok::<_, Status>("second time lucky")
    })
    .await;
    assert_eq!(result.unwrap(), "second time lucky");
    assert_eq!(log.gaps(), [MS(250)]);
    assert_eq!(start.elapsed(), MS(250));

    // Every attempt hangs: the error is made from `Elapsed`.
    let err = steadfast::retry(&policy, std::future::pending::<Result<(), Status>>)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
}

#[tokio::test(start_paused = true)]
async fn per_attempt_deadline_is_visible_inside_the_attempt() {
    let policy = RetryPolicy::new().per_attempt(MS(300));
    let seen = steadfast::retry(&policy, || async {
        Ok::<_, Elapsed>(deadline::remaining())
    })
    .await
    .unwrap();
    assert_eq!(seen, Some(MS(300)));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_stops_further_attempts() {
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .backoff(no_jitter(Backoff::constant(Duration::from_secs(1))));
    let log = Log::default();
    let task = {
        let log = log.clone();
        tokio::spawn(async move {
            steadfast::retry(&policy, || async {
                log.hit();
                Err::<(), _>(unavailable())
            })
            .await
        })
    };
    tokio::time::sleep(MS(1500)).await; // attempts at 0 s and 1 s
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(log.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_schedule_ends_retrying() {
    let policy = RetryPolicy::new()
        .max_attempts(100)
        .schedule(vec![MS(5), MS(10)]);
    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(unavailable())
    })
    .await;
    assert_eq!(log.gaps(), [MS(5), MS(10)]);
}

#[tokio::test(start_paused = true)]
async fn backon_builders_plug_in() {
    use backon::BackoffBuilder;
    let builder = backon::ConstantBuilder::default()
        .with_delay(MS(30))
        .with_max_times(2);
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .schedule(backoff::from_fn(move || builder.build()));
    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(unavailable())
    })
    .await;
    assert_eq!(log.gaps(), [MS(30), MS(30)]);
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_stops_retries() {
    let budget = Arc::new(RetryBudget::new(4, 0.1));
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .backoff(Backoff::none())
        .classify(Always)
        .budget(budget.clone());
    let log = Log::default();
    let _ = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), Elapsed>(Elapsed::new())
    })
    .await;
    // 4 tokens: retries allowed while more than 2 remain, so two failures spend it.
    assert_eq!(log.count(), 2);
    assert_eq!(budget.tokens(), 2.0);
}

/// gRPC A6: a pushback that says stop is no retry, and it counts against
/// the throttling budget as a failure, as a retryable code's would.
#[tokio::test(start_paused = true)]
async fn a_stop_pushback_is_a_throttling_failure() {
    let budget = Arc::new(RetryBudget::new(4, 0.1));
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::none())
        .budget(budget.clone());
    let log = Log::default();
    let result = steadfast::retry(&policy, || async {
        log.hit();
        Err::<(), _>(unavailable_with_pushback("-1"))
    })
    .await;
    assert_eq!(result.unwrap_err().code(), tonic::Code::Unavailable);
    assert_eq!(log.count(), 1);
    assert_eq!(budget.tokens(), 3.0);
}

#[test]
fn the_blocking_variant_sleeps_between_attempts() {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(no_jitter(Backoff::constant(MS(20))));
    let calls = AtomicU32::new(0);
    let start = std::time::Instant::now();
    let result: Result<u32, std::io::Error> =
        steadfast::retry_blocking(&policy, || match calls.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => Err(std::io::ErrorKind::ConnectionRefused.into()),
            n => Ok(n),
        });
    assert_eq!(result.unwrap(), 2);
    // Two 20 ms sleeps at least; the upper bound is generous for busy machines.
    let took = start.elapsed();
    assert!(took >= MS(40) && took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn the_blocking_variant_honours_the_current_deadline() {
    let policy = RetryPolicy::new().backoff(no_jitter(Backoff::constant(Duration::from_secs(10))));
    let calls = AtomicU32::new(0);
    let result = deadline::scope(Duration::from_secs(1), async {
        steadfast::retry_blocking(&policy, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })
    })
    .await;
    assert!(result.unwrap().is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a 10 s sleep cannot fit in 1 s"
    );
}

#[test]
fn the_state_machine_counts_attempts_for_grpc_previous_rpc_attempts() {
    let policy = RetryPolicy::new().backoff(Backoff::none());
    let mut state = RetryState::new(&policy);
    assert_eq!(state.attempt(), 1);
    let _ = state.after_error(&unavailable());
    assert_eq!(state.attempt(), 2);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_numbered_alike_with_and_without_a_per_attempt_timeout() {
    // The executor runs an untimed policy's first attempt apart from its
    // retry loop; what an attempt sees must not depend on that.
    async fn numbers(policy: &RetryPolicy) -> (Vec<(u32, Option<Duration>)>, Result<(), Status>) {
        let seen = Mutex::new(Vec::new());
        let result = steadfast::retry(policy, || async {
            seen.lock()
                .unwrap()
                .push((steadfast::retry::previous_attempts(), deadline::remaining()));
            Err::<(), _>(unavailable())
        })
        .await;
        (seen.into_inner().unwrap(), result)
    }
    let untimed = RetryPolicy::new().max_attempts(4).backoff(Backoff::none());
    let (seen, result) = numbers(&untimed).await;
    assert_eq!(seen, [(0, None), (1, None), (2, None), (3, None)]);
    assert_eq!(result.unwrap_err().code(), Code::Unavailable);

    let timed = untimed.per_attempt(MS(50));
    let (seen, result) = numbers(&timed).await;
    assert_eq!(seen, [0, 1, 2, 3].map(|n| (n, Some(MS(50)))));
    assert_eq!(result.unwrap_err().code(), Code::Unavailable);
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn retry_futures_are_send_when_the_work_is() {
    let policy = RetryPolicy::new().per_attempt(MS(100));
    let fut = assert_send(steadfast::retry(&policy, || async { Ok::<_, Status>(1) }));
    assert_eq!(fut.await.unwrap(), 1);
    static POLICY: RetryPolicy = RetryPolicy::new();
    let spawned = tokio::spawn(deadline::scope(Duration::from_secs(1), async move {
        steadfast::retry(&POLICY, || async { Ok::<_, Status>(2) }).await
    }));
    assert_eq!(spawned.await.unwrap().unwrap().unwrap(), 2);
}

/// A call whose first attempt fails for good still counts as a call for a
/// ratio budget (it used not to reach `record_call` on `retry()`'s fast
/// path, which made the budget stricter than configured).
#[tokio::test(start_paused = true)]
async fn calls_that_fail_for_good_count_toward_a_ratio_budget() {
    use steadfast::retry::{Budget, RatioBudget};
    static BUDGET: RatioBudget = RatioBudget::new(0.1).min_per_second(0);
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::none())
        .budget(&BUDGET);
    for _ in 0..20 {
        let result = steadfast::retry(&policy, || async {
            Err::<(), _>(Status::invalid_argument("never retried"))
        })
        .await;
        assert_eq!(result.unwrap_err().code(), tonic::Code::InvalidArgument);
    }
    // 10% of 20 calls: two retries.
    assert!(BUDGET.try_retry());
    assert!(BUDGET.try_retry());
    assert!(!BUDGET.try_retry());
}
