//! `#[retry]` and `#[deadline]` behaviour on tokio's paused clock.
#![allow(clippy::unwrap_used)] // the helpers below run only inside tests

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use steadfast::{deadline, retry, Elapsed};
use tokio::time::Instant;
use tonic::{Code, Status};

mod common;
use common::Log;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[tokio::test(start_paused = true)]
async fn counts_attempts_and_sleeps_exact_delays() {
    #[retry(max = 4, backoff = "exp", initial = 100ms, jitter = "none")]
    async fn flaky(log: &Log) -> Result<usize, Status> {
        let n = log.hit();
        if n < 4 {
            return Err(Status::unavailable("down"));
        }
        Ok(n)
    }
    let log = Log::new();
    assert_eq!(flaky(&log).await.unwrap(), 4);
    assert_eq!(log.gaps(), [100, 200, 400].map(MS));
}

#[tokio::test(start_paused = true)]
async fn every_schedule_and_multiplier() {
    #[retry(max = 4, backoff = "exp", initial = 10ms, multiplier = 3.0, jitter = "none")]
    async fn exp(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable(""))
    }
    #[retry(max = 4, backoff = "linear", initial = 10ms, jitter = "none")]
    async fn linear(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable(""))
    }
    #[retry(max = 5, backoff = "fib", initial = 10ms, jitter = "none")]
    async fn fib(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable(""))
    }
    #[retry(max = 3, backoff = "const", initial = 1.5s, jitter = "none")]
    async fn constant(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable(""))
    }
    #[retry(max = 3, backoff = "exp", initial = 1s, max_delay = 1500ms, jitter = "none")]
    async fn capped(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable(""))
    }
    let log = Log::new();
    let _ = exp(&log).await;
    assert_eq!(log.gaps(), [10, 30, 90].map(MS));
    let log = Log::new();
    let _ = linear(&log).await;
    assert_eq!(log.gaps(), [10, 20, 30].map(MS));
    let log = Log::new();
    let _ = fib(&log).await;
    assert_eq!(log.gaps(), [10, 10, 20, 30].map(MS));
    let log = Log::new();
    let _ = constant(&log).await;
    assert_eq!(log.gaps(), [1500, 1500].map(MS));
    let log = Log::new();
    let _ = capped(&log).await;
    assert_eq!(log.gaps(), [1000, 1500].map(MS));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_status_is_returned_at_once() {
    #[retry(max = 5)]
    async fn call(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::not_found("no such user"))
    }
    let log = Log::new();
    assert_eq!(call(&log).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn other_error_types_are_retried_on_every_err() {
    #[derive(Debug)]
    struct Mine;
    #[retry(max = 3, backoff = "none")]
    async fn call(log: &Log) -> Result<(), Mine> {
        log.hit();
        Err(Mine)
    }
    let log = Log::new();
    assert!(call(&log).await.is_err());
    assert_eq!(log.count(), 3);
}

fn only_busy(e: &String) -> bool {
    e == "busy"
}

#[tokio::test(start_paused = true)]
async fn when_chooses_the_errors() {
    #[retry(max = 3, backoff = "none", when = only_busy)]
    async fn call(log: &Log, error: &'static str) -> Result<(), String> {
        log.hit();
        Err(error.to_string())
    }
    let log = Log::new();
    let _ = call(&log, "busy").await;
    assert_eq!(log.count(), 3);
    let log = Log::new();
    let _ = call(&log, "fatal").await;
    assert_eq!(log.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn on_lists_the_codes() {
    #[retry(max = 3, backoff = "none", on = [ResourceExhausted, Aborted])]
    async fn call(log: &Log, code: Code) -> Result<(), Status> {
        log.hit();
        Err(Status::new(code, ""))
    }
    for (code, attempts) in [
        (Code::ResourceExhausted, 3),
        (Code::Aborted, 3),
        (Code::Unavailable, 1),
    ] {
        let log = Log::new();
        let _ = call(&log, code).await;
        assert_eq!(log.count(), attempts, "{code:?}");
    }
}

static NOTIFIED: Mutex<Vec<(String, Duration, u32)>> = Mutex::new(Vec::new());

fn record(e: &Status, delay: Duration, attempt: u32) {
    NOTIFIED
        .lock()
        .unwrap()
        .push((e.message().to_string(), delay, attempt));
}

#[tokio::test(start_paused = true)]
async fn notify_is_called_before_each_sleep() {
    #[retry(max = 3, initial = 50ms, jitter = "none", notify = record)]
    async fn call(log: &Log) -> Result<(), Status> {
        let n = log.hit();
        Err(Status::unavailable(format!("attempt {n}")))
    }
    let log = Log::new();
    let _ = call(&log).await;
    let seen = NOTIFIED.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("attempt 1".to_string(), MS(50), 1),
            ("attempt 2".to_string(), MS(100), 2)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn per_attempt_turns_a_hung_attempt_into_a_retry() {
    #[retry(max = 3, initial = 10ms, jitter = "none", per_attempt = 200ms)]
    async fn call(log: &Log) -> Result<&'static str, Status> {
        if log.hit() == 1 {
            std::future::pending::<()>().await;
        }
        Ok("done")
    }
    let log = Log::new();
    let start = Instant::now();
    assert_eq!(call(&log).await.unwrap(), "done");
    assert_eq!(log.gaps(), [MS(210)]);
    assert_eq!(start.elapsed(), MS(210));
}

#[tokio::test(start_paused = true)]
async fn deadline_outside_retry_is_one_budget_for_all_attempts() {
    #[steadfast::deadline(1s)]
    #[steadfast::retry(max = 10, backoff = "const", initial = 300ms, jitter = "none")]
    async fn call(log: &Log) -> Result<(), Status> {
        log.hit();
        Err(Status::unavailable("down"))
    }
    let log = Log::new();
    let start = Instant::now();
    let err = call(&log).await.unwrap_err();
    // Attempts at 0, 300, 600 ms; a fourth would start at 900 and a fifth
    // at 1200 > 1 s, so the loop returns the last error right after the fourth.
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(log.count(), 4);
    assert_eq!(start.elapsed(), MS(900));
}

#[tokio::test(start_paused = true)]
async fn deadline_inside_retry_is_per_attempt() {
    #[steadfast::retry(max = 3, backoff = "const", initial = 10ms, jitter = "none", on = [DeadlineExceeded])]
    #[steadfast::deadline(100ms)]
    async fn call(log: &Log) -> Result<(), Status> {
        log.hit();
        // Every attempt sees its own fresh 100 ms.
        assert_eq!(deadline::remaining(), Some(MS(100)));
        std::future::pending::<()>().await;
        Ok(())
    }
    let log = Log::new();
    let start = Instant::now();
    let err = call(&log).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(log.count(), 3);
    assert_eq!(start.elapsed(), MS(320));
}

#[tokio::test(start_paused = true)]
async fn deadline_cuts_a_slow_body_short() {
    #[steadfast::deadline(2s)]
    async fn slow() -> Result<(), std::io::Error> {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok(())
    }
    let start = Instant::now();
    let err = slow().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn deadline_accepts_expressions_and_shrinks_only() {
    const BUDGET: Duration = Duration::from_millis(300);
    #[steadfast::deadline(= BUDGET)]
    async fn inner() -> Result<Option<Duration>, Elapsed> {
        Ok(deadline::remaining())
    }
    assert_eq!(inner().await.unwrap(), Some(MS(300)));
    let outer = deadline::scope(MS(100), inner()).await.unwrap();
    assert_eq!(outer.unwrap(), Some(MS(100)));
}

struct Client {
    calls: u32,
    fail_first: u32,
}

impl Client {
    #[retry(max = 5, backoff = "none")]
    async fn call(&mut self) -> Result<u32, Status> {
        self.calls += 1;
        if self.calls <= self.fail_first {
            return Err(Status::unavailable("again"));
        }
        Ok(self.calls)
    }

    #[retry(max = 2, backoff = "none")]
    async fn peek(&self, extra: u32) -> Result<u32, Status> {
        Ok(self.calls + extra)
    }
}

#[tokio::test(start_paused = true)]
async fn methods_see_state_changed_by_earlier_attempts() {
    let mut client = Client {
        calls: 0,
        fail_first: 2,
    };
    assert_eq!(client.call().await.unwrap(), 3);
    assert_eq!(client.peek(10).await.unwrap(), 13);
}

#[tokio::test(start_paused = true)]
async fn by_value_parameters_are_cloned_into_each_attempt() {
    #[retry(max = 3, backoff = "none")]
    async fn call(log: &Log, mut name: String, (a, b): (u32, u32)) -> Result<String, Status> {
        name.push('!');
        if log.hit() < 3 {
            return Err(Status::unavailable("again"));
        }
        Ok(format!("{name} {}", a + b))
    }
    let log = Log::new();
    // Each attempt starts from the caller's value, not the last attempt's.
    assert_eq!(call(&log, "hi".into(), (1, 2)).await.unwrap(), "hi! 3");
}

#[tokio::test(start_paused = true)]
async fn question_mark_and_early_return_end_one_attempt() {
    fn parse(n: usize) -> Result<u32, std::io::Error> {
        if n < 3 {
            Err(std::io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(n as u32)
        }
    }
    #[retry(max = 3, backoff = "none")]
    async fn call(log: &Log) -> Result<u32, std::io::Error> {
        let n = parse(log.hit())?;
        if n == 0 {
            return Ok(0);
        }
        Ok(n)
    }
    let log = Log::new();
    assert_eq!(call(&log).await.unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn generics_impl_trait_and_where_clauses() {
    #[retry(max = 2, backoff = "none")]
    async fn call<T, F>(value: T, f: impl Fn(&T) -> bool + Clone, _g: F) -> Result<T, Status>
    where
        T: Clone + Send,
        F: Clone,
    {
        if f(&value) {
            Ok(value)
        } else {
            Err(Status::unavailable(""))
        }
    }
    assert_eq!(call(5u8, |v| *v == 5, ()).await.unwrap(), 5);
}

#[test]
fn blocking_functions_sleep_between_attempts() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "const", initial = 20ms, jitter = "none")]
    fn call() -> Result<u32, std::io::Error> {
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        if n < 2 {
            return Err(std::io::ErrorKind::ConnectionRefused.into());
        }
        Ok(n)
    }
    let start = std::time::Instant::now();
    assert_eq!(call().unwrap(), 2);
    let took = start.elapsed();
    assert!(took >= MS(40) && took < Duration::from_secs(5), "{took:?}");
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn annotated_futures_are_send_and_spawnable() {
    #[steadfast::deadline(1s)]
    #[retry(max = 2, per_attempt = 100ms)]
    async fn call(id: String) -> Result<String, Status> {
        tokio::task::yield_now().await;
        Ok(id)
    }
    let handle = tokio::spawn(assert_send(call("42".into())));
    assert_eq!(handle.await.unwrap().unwrap(), "42");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_over_timed_attempts_ends_exactly_at_the_deadline() {
    // The outer deadline has no timer of its own here (every wait below is
    // bounded by it): the second attempt's scope shrinks to it and fires then.
    #[steadfast::deadline(500ms)]
    #[retry(max = 5, backoff = "const", initial = 10ms, jitter = "none", per_attempt = 300ms)]
    async fn call(log: &Log) -> Result<(), Status> {
        log.hit();
        assert!(deadline::remaining().unwrap() <= MS(300));
        std::future::pending().await
    }
    let log = Log::new();
    let start = Instant::now();
    let err = call(&log).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), MS(500));
    assert_eq!(log.gaps(), [MS(310)]);

    // An inherited deadline that has already passed fails at once, with no
    // attempt made.
    let late_log = Log::new();
    let mut task = None;
    deadline::scope(MS(10), async {
        let log = late_log.clone();
        task = Some(tokio::spawn(deadline::propagate(async move {
            tokio::time::sleep(MS(20)).await;
            call(&log).await
        })));
    })
    .await
    .unwrap();
    let err = task.unwrap().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(late_log.count(), 0);
}
