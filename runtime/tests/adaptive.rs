//! `AdaptiveLimit` against a backend that queues: on tokio's paused
//! clock, many callers, a backend that serves `CAPACITY` calls at once at
//! `base` each and shares itself beyond that (each call takes
//! `base × in_flight / CAPACITY`). Without a limit, 200 callers make every
//! call 20× slower; the adaptive limits find the backend's capacity from
//! latency alone, and follow it when it changes.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use steadfast::{AdaptiveLimit, ConcurrencyLimit};
use tokio::time::Instant;

const CAPACITY: usize = 10;
const CALLERS: usize = 200;

/// The backend: its base latency (µs) may change while it runs.
#[derive(Default)]
struct Backend {
    in_flight: AtomicUsize,
    base_us: AtomicU64,
}

impl Backend {
    async fn call(&self) {
        let n = self.in_flight.fetch_add(1, SeqCst) + 1;
        let base = self.base_us.load(SeqCst);
        let share = (n as u64).max(CAPACITY as u64);
        tokio::time::sleep(Duration::from_micros(base * share / CAPACITY as u64)).await;
        self.in_flight.fetch_sub(1, SeqCst);
    }
}

/// What the callers saw in one stretch of time.
#[derive(Debug)]
struct Stretch {
    /// Calls served per second.
    served: f64,
    /// Mean latency of the calls served (not counting refusals).
    mean_latency: Duration,
    /// The limit at the end.
    limit: usize,
}

/// Runs `CALLERS` callers against `backend` behind `limit` for `length`.
/// A refused caller waits 5 ms and tries again.
async fn run(limit: &'static ConcurrencyLimit, backend: Arc<Backend>, length: Duration) -> Stretch {
    let served = Arc::new(AtomicUsize::new(0));
    let latency_us = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + length;
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (backend, served, latency_us) = (backend.clone(), served.clone(), latency_us.clone());
        callers.spawn(async move {
            while Instant::now() < end {
                match limit.try_acquire() {
                    Ok(place) => {
                        let start = Instant::now();
                        backend.call().await;
                        drop(place);
                        served.fetch_add(1, SeqCst);
                        latency_us.fetch_add(start.elapsed().as_micros() as u64, SeqCst);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
    }
    while callers.join_next().await.is_some() {}
    let served = served.load(SeqCst);
    Stretch {
        served: served as f64 / length.as_secs_f64(),
        mean_latency: Duration::from_micros(latency_us.load(SeqCst) / served.max(1) as u64),
        limit: limit.max(),
    }
}

fn backend(base: Duration) -> Arc<Backend> {
    let backend = Backend::default();
    backend.base_us.store(base.as_micros() as u64, SeqCst);
    Arc::new(backend)
}

/// Without a limit, 200 callers at once make each call 20× its base.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn without_a_limit_every_call_is_twenty_times_slower() {
    static NONE: ConcurrencyLimit = ConcurrencyLimit::new(ConcurrencyLimit::MAX);
    let stretch = run(
        &NONE,
        backend(Duration::from_millis(10)),
        Duration::from_secs(3),
    )
    .await;
    assert!(
        stretch.mean_latency >= Duration::from_millis(150),
        "{stretch:?}"
    );
}

/// The gradient finds the backend's capacity from latency alone: the calls
/// it admits take at most twice the base, and the backend serves at least
/// 90% of its capacity (1000 calls/s here); when the backend's base latency
/// doubles, the calls stay within twice the new base and the backend serves
/// 90% of its new capacity (500/s) over the next 5 s; when it recovers, so
/// do the limit and the throughput.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn gradient_finds_the_capacity_and_follows_the_backend() {
    static LIMIT: AdaptiveLimit = AdaptiveLimit::gradient().named("gradient");
    let backend = backend(Duration::from_millis(10));
    let settled = run(&LIMIT, backend.clone(), Duration::from_secs(5)).await;
    assert!(
        settled.mean_latency <= Duration::from_millis(20),
        "{settled:?}"
    );
    assert!(settled.served >= 900.0, "{settled:?}");
    assert!(
        (CAPACITY / 2..=4 * CAPACITY).contains(&settled.limit),
        "{settled:?}"
    );

    backend.base_us.store(20_000, SeqCst);
    let slower = run(&LIMIT, backend.clone(), Duration::from_secs(5)).await;
    assert!(
        slower.mean_latency <= Duration::from_millis(40),
        "{slower:?}"
    );
    assert!(slower.served >= 450.0, "{slower:?}");

    backend.base_us.store(10_000, SeqCst);
    let recovered = run(&LIMIT, backend, Duration::from_secs(5)).await;
    assert!(recovered.served >= 900.0, "{recovered:?}");
    assert!(
        recovered.mean_latency <= Duration::from_millis(20),
        "{recovered:?}"
    );
}

/// Runs the callers against a 10 ms backend for 5 s behind `limit`, and
/// asserts 90% of the capacity served with the calls' mean latency within
/// `within`.
async fn finds_the_capacity(limit: &'static ConcurrencyLimit, within: Duration) {
    let stretch = run(
        limit,
        backend(Duration::from_millis(10)),
        Duration::from_secs(5),
    )
    .await;
    assert!(stretch.mean_latency <= within, "{stretch:?}");
    assert!(stretch.served >= 900.0, "{stretch:?}");
}

/// Vegas finds the capacity as well: 90% of it served, calls within 3× the
/// base.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn vegas_finds_the_capacity() {
    static LIMIT: AdaptiveLimit = AdaptiveLimit::vegas();
    finds_the_capacity(&LIMIT, Duration::from_millis(30)).await;
}

/// AIMD with a timeout of twice the base keeps the calls within it on
/// average, 90% of the capacity served.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn aimd_keeps_calls_within_its_timeout() {
    static LIMIT: AdaptiveLimit = AdaptiveLimit::aimd(Duration::from_millis(20));
    finds_the_capacity(&LIMIT, Duration::from_millis(25)).await;
}

/// The limit only moves between its bounds.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_limit_stays_within_its_bounds() {
    static LIMIT: AdaptiveLimit = AdaptiveLimit::gradient().bounds(15, 20, 25);
    let stretch = run(
        &LIMIT,
        backend(Duration::from_millis(10)),
        Duration::from_secs(3),
    )
    .await;
    assert!((15..=25).contains(&stretch.limit), "{stretch:?}");
}
