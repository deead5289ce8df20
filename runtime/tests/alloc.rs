//! The success path allocates nothing: proven with a counting allocator
//! (`allocation-counter` replaces the global allocator in this test binary
//! and counts per thread).

use std::time::Duration;

use steadfast::{deadline, Backoff, Elapsed, RetryPolicy};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

fn allocations(
    rt: &Runtime,
    f: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) -> u64 {
    // Build the future outside the measurement (boxing it is the test's cost,
    // not the library's), and warm the runtime up once.
    rt.block_on(f());
    let fut = f();
    allocation_counter::measure(|| rt.block_on(fut)).count_total
}

/// Allocations of a `steadfast::retry` call under `policy` whose first
/// attempt succeeds.
fn retry_allocations(rt: &Runtime, policy: &'static RetryPolicy) -> u64 {
    allocations(rt, || {
        Box::pin(async {
            let r = steadfast::retry(policy, || async { Ok::<_, Elapsed>(1) }).await;
            assert_eq!(r, Ok(1));
        })
    })
}

#[test]
fn retry_success_path_allocates_nothing() {
    static POLICY: RetryPolicy = RetryPolicy::new();
    assert_eq!(retry_allocations(&runtime(), &POLICY), 0);
}

#[test]
fn retry_with_per_attempt_timeout_allocates_nothing() {
    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(5)
        .per_attempt(Duration::from_secs(1));
    assert_eq!(retry_allocations(&runtime(), &POLICY), 0);
}

#[test]
fn deadline_scope_allocates_nothing() {
    let rt = runtime();
    let n = allocations(&rt, || {
        Box::pin(async {
            let r = deadline::scope(Duration::from_secs(2), async { deadline::remaining() }).await;
            assert!(r.unwrap().is_some());
        })
    });
    assert_eq!(n, 0);
}

#[test]
fn retrying_with_a_backoff_allocates_nothing_either() {
    let rt = runtime();
    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_micros(1)));
    let n = allocations(&rt, || {
        Box::pin(async {
            let mut calls = 0;
            let r = steadfast::retry(&POLICY, || {
                calls += 1;
                let fail = calls < 3;
                async move {
                    if fail {
                        Err(Elapsed::new())
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
            assert_eq!(r, Ok(()));
        })
    });
    assert_eq!(n, 0);
}

static BREAKER: steadfast::CircuitBreaker = steadfast::CircuitBreaker::new();

#[steadfast::circuit_breaker(BREAKER)]
async fn through_the_breaker() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[test]
fn the_closed_breaker_path_allocates_nothing() {
    // Warm up once: the clock's origin is set on first use.
    BREAKER.acquire().expect("closed").success();
    let n = allocation_counter::measure(|| {
        for i in 0..10_000 {
            let permit = BREAKER.acquire().expect("closed");
            permit.record(i % 100 == 0);
        }
    })
    .count_total;
    assert_eq!(n, 0, "acquire and record, failures included");
    let rt = runtime();
    let n = allocations(&rt, || {
        Box::pin(async {
            for _ in 0..1_000 {
                assert_eq!(through_the_breaker().await.ok(), Some(1));
            }
        })
    });
    assert_eq!(n, 0, "through `#[circuit_breaker]`");
}

#[steadfast::hedge(max = 3, delay = 5ms)]
async fn hedged(slow_first: &std::sync::atomic::AtomicBool) -> Result<u32, std::io::Error> {
    if slow_first.swap(false, std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(1)
}

#[test]
fn hedging_allocates_nothing_per_attempt() {
    static SLOW_FIRST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    let n = allocations(&rt, || {
        Box::pin(async {
            for _ in 0..100 {
                assert_eq!(hedged(&SLOW_FIRST).await.ok(), Some(1));
            }
        })
    });
    assert_eq!(n, 0, "answered at once: no hedge, no timer");
    let n = allocations(&rt, || {
        Box::pin(async {
            for _ in 0..100 {
                SLOW_FIRST.store(true, std::sync::atomic::Ordering::Relaxed);
                assert_eq!(hedged(&SLOW_FIRST).await.ok(), Some(1));
            }
        })
    });
    assert_eq!(
        n, 0,
        "a slow first attempt, overtaken by a hedge after 5 ms"
    );
}

#[test]
fn the_counter_does_count() {
    // Guards the other tests: a measurement that cannot see allocations would pass them all.
    let n = allocation_counter::measure(|| {
        std::hint::black_box(vec![1u8; 16]);
    })
    .count_total;
    assert_eq!(n, 1);
}

#[test]
fn admitting_a_call_through_a_rate_limiter_or_a_concurrency_limit_allocates_nothing() {
    static RATE: steadfast::RateLimiter = steadfast::RateLimiter::per_second(1_000_000);
    static PLACES: steadfast::ConcurrencyLimit = steadfast::ConcurrencyLimit::new(8);
    let rt = runtime();
    let n = allocations(&rt, || {
        Box::pin(async {
            for _ in 0..100 {
                RATE.acquire().await.unwrap();
                drop(PLACES.acquire().await.unwrap());
            }
        })
    });
    assert_eq!(n, 0);
}
