//! `#[hedge]` through the attribute, on tokio's paused clock.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use steadfast::retry::previous_attempts;
use steadfast::{hedge, CircuitBreaker, CircuitState};
use tokio::time::Instant;
use tonic::{Code, Status};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// A backend whose n-th call (from 0) takes `plan[n].0` ms and answers `plan[n].1`.
struct Backend {
    plan: Vec<(u64, Result<&'static str, Code>)>,
    calls: Mutex<Vec<(u32, Duration)>>,
    begun: Instant,
}

impl Backend {
    fn new(plan: &[(u64, Result<&'static str, Code>)]) -> Self {
        Self {
            plan: plan.to_vec(),
            calls: Mutex::new(Vec::new()),
            begun: Instant::now(),
        }
    }

    async fn call(&self, what: &str) -> Result<String, Status> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((previous_attempts(), self.begun.elapsed()));
            calls.len() - 1
        };
        let (ms, answer) = self.plan.get(n).copied().unwrap_or((0, Ok("late")));
        tokio::time::sleep(MS(ms)).await;
        match answer {
            Ok(name) => Ok(format!("{what}: {name}")),
            Err(code) => Err(Status::new(code, "scripted")),
        }
    }

    fn calls(&self) -> Vec<(u32, Duration)> {
        self.calls.lock().unwrap().clone()
    }
}

#[hedge(max = 3, delay = 10ms)]
async fn lookup(backend: &Backend, key: String) -> Result<String, Status> {
    backend.call(&key).await
}

#[tokio::test(start_paused = true)]
async fn the_first_answer_wins_and_each_hedge_is_numbered() {
    let backend = Backend::new(&[(1000, Ok("slow")), (5, Ok("fast"))]);
    let started = Instant::now();
    let reply = lookup(&backend, "id".to_owned()).await.unwrap();
    assert_eq!(reply, "id: fast");
    assert_eq!(started.elapsed(), MS(15));
    assert_eq!(backend.calls(), [(0, MS(0)), (1, MS(10))]);
}

#[tokio::test(start_paused = true)]
async fn methods_on_shared_self() {
    struct Client {
        backend: Backend,
    }
    impl Client {
        #[hedge(max = 2, delay = 20ms, on = [Unavailable])]
        async fn get(&self, key: &str) -> Result<String, Status> {
            self.backend.call(key).await
        }
    }
    let client = Client {
        backend: Backend::new(&[(3, Err(Code::Unavailable)), (3, Ok("second"))]),
    };
    // A non-fatal error starts the next hedge at once.
    assert_eq!(client.get("k").await.unwrap(), "k: second");
    assert_eq!(client.backend.calls(), [(0, MS(0)), (1, MS(3))]);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_ends_the_call() {
    let backend = Backend::new(&[(1000, Ok("slow")), (5, Err(Code::NotFound))]);
    let error = lookup(&backend, "id".to_owned()).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    assert_eq!(backend.calls().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_above_is_one_budget_for_every_hedge() {
    #[steadfast::deadline(25ms)]
    #[hedge(max = 5, delay = 10ms)]
    async fn bounded(backend: &Backend) -> Result<String, Status> {
        backend.call("b").await
    }
    let backend = Backend::new(&[
        (1000, Ok("a")),
        (1000, Ok("b")),
        (1000, Ok("c")),
        (1000, Ok("d")),
    ]);
    let started = Instant::now();
    let error = bounded(&backend).await.unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded);
    assert_eq!(started.elapsed(), MS(25));
    assert_eq!(
        backend.calls().len(),
        3,
        "hedges at 0, 10 and 20 ms; none after the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn each_hedge_asks_the_breaker_below() {
    static BELOW: CircuitBreaker = CircuitBreaker::new().failure_count(2);
    #[hedge(max = 3, delay = 10ms)]
    #[steadfast::circuit_breaker(BELOW)]
    async fn guarded(backend: &Backend) -> Result<String, Status> {
        backend.call("g").await
    }
    let backend = Backend::new(&[(1, Err(Code::Unavailable)), (1, Err(Code::Unavailable))]);
    let error = guarded(&backend).await.unwrap_err();
    assert_eq!(BELOW.state(), CircuitState::Open);
    assert!(
        error.message().contains("circuit breaker open"),
        "{error:?}"
    );
    assert_eq!(
        backend.calls().len(),
        2,
        "the third hedge was refused without a call"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_around_a_hedged_call_and_hedges_around_retried_attempts() {
    #[steadfast::retry(max = 2, backoff = "none")]
    #[hedge(max = 2, delay = 10ms)]
    async fn retried(backend: &Backend) -> Result<String, Status> {
        backend.call("r").await
    }
    let backend = Backend::new(&[
        (1, Err(Code::Unavailable)),
        (1, Err(Code::Unavailable)),
        (1, Ok("third")),
    ]);
    assert_eq!(retried(&backend).await.unwrap(), "r: third");
    assert_eq!(
        backend.calls().len(),
        3,
        "two hedges failed; the retry's second call succeeded"
    );
}

#[tokio::test(start_paused = true)]
async fn an_adaptive_delay_learns_the_functions_latency() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[hedge(max = 2, delay = "p50")]
    async fn adaptive() -> Result<u32, Status> {
        let n = CALLS.fetch_add(1, Ordering::Relaxed);
        // 200 fast calls teach it ~3 ms; then a slow one is hedged early.
        let ms = if n == 200 { 1000 } else { 3 };
        tokio::time::sleep(MS(ms)).await;
        Ok(n)
    }
    for _ in 0..200 {
        adaptive().await.unwrap();
    }
    let started = Instant::now();
    assert_eq!(adaptive().await.unwrap(), 201, "the hedge answered");
    assert!(started.elapsed() <= MS(8), "{:?}", started.elapsed());
}

#[test]
fn the_future_stays_send() {
    fn assert_send<T: Send>(_: &T) {}
    let backend = Backend::new(&[]);
    let f = lookup(&backend, String::new());
    assert_send(&f);
}
