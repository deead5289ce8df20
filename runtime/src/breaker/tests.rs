use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

const MS: Duration = Duration::from_millis(1);

fn fail(b: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        b.acquire().expect("permitted").failure();
    }
}

fn succeed(b: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        b.acquire().expect("permitted").success();
    }
}

#[tokio::test(start_paused = true)]
async fn opens_at_the_failure_ratio_once_min_calls_are_seen() {
    let b = CircuitBreaker::new().failure_ratio(0.5).min_calls(10);
    fail(&b, 5);
    succeed(&b, 4);
    assert_eq!(b.state(), CircuitState::Closed, "9 calls: under min_calls");
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open, "6 of 10 failed");
    let open = b.acquire().expect_err("open");
    assert_eq!(open.retry_after(), CircuitBreaker::DEFAULT_OPEN_FOR);
}

#[tokio::test(start_paused = true)]
async fn stays_closed_under_the_ratio() {
    let b = CircuitBreaker::new().failure_ratio(0.5).min_calls(10);
    for _ in 0..100 {
        succeed(&b, 2);
        fail(&b, 1);
    }
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn failures_age_out_of_the_window() {
    let b = CircuitBreaker::new()
        .min_calls(4)
        .window(Duration::from_secs(1));
    fail(&b, 3);
    tokio::time::advance(Duration::from_millis(1100)).await;
    fail(&b, 1);
    assert_eq!(
        b.state(),
        CircuitState::Closed,
        "the first three have left the window"
    );
    fail(&b, 3);
    assert_eq!(b.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn failure_count_trips_without_min_calls() {
    let b = CircuitBreaker::new().failure_count(3).failure_ratio(1.0);
    succeed(&b, 50);
    fail(&b, 2);
    assert_eq!(b.state(), CircuitState::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn slow_calls_trip_the_slow_ratio() {
    let b = CircuitBreaker::new()
        .min_calls(4)
        .slow_calls(Duration::from_millis(100), 0.5);
    for _ in 0..2 {
        let permit = b.acquire().unwrap();
        tokio::time::advance(150 * MS).await;
        permit.success();
    }
    assert_eq!(b.state(), CircuitState::Closed);
    succeed(&b, 1);
    let permit = b.acquire().unwrap();
    tokio::time::advance(150 * MS).await;
    permit.success();
    assert_eq!(b.state(), CircuitState::Open, "3 of 4 calls were slow");
}

#[tokio::test(start_paused = true)]
async fn open_then_half_open_probes_close_it() {
    let b = CircuitBreaker::new()
        .min_calls(2)
        .open_for(Duration::from_secs(5))
        .half_open_calls(2);
    fail(&b, 2);
    tokio::time::advance(Duration::from_secs(2)).await;
    let open = b.acquire().unwrap_err();
    assert_eq!(open.retry_after(), Duration::from_secs(3));
    tokio::time::advance(Duration::from_secs(3)).await;

    let first = b.acquire().expect("probe 1");
    let second = b.acquire().expect("probe 2");
    assert!(first.is_probe() && second.is_probe());
    assert_eq!(b.state(), CircuitState::HalfOpen);
    assert!(b.acquire().is_err(), "calls beyond the probes fail fast");
    first.success();
    assert_eq!(b.state(), CircuitState::HalfOpen);
    second.success();
    assert_eq!(b.state(), CircuitState::Closed);
    // The window was cleared: one failure does not reopen it.
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_it_again() {
    let b = CircuitBreaker::new().min_calls(1).half_open_calls(3);
    fail(&b, 1);
    tokio::time::advance(CircuitBreaker::DEFAULT_OPEN_FOR).await;
    let probe = b.acquire().unwrap();
    let other = b.acquire().unwrap();
    probe.failure();
    assert_eq!(b.state(), CircuitState::Open);
    // A probe of the half-open period that ended counts for nothing.
    other.success();
    assert_eq!(b.state(), CircuitState::Open);
    assert_eq!(
        b.acquire().unwrap_err().retry_after(),
        CircuitBreaker::DEFAULT_OPEN_FOR
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_gives_its_place_back() {
    let b = CircuitBreaker::new().min_calls(1).half_open_calls(1);
    fail(&b, 1);
    tokio::time::advance(CircuitBreaker::DEFAULT_OPEN_FOR).await;
    let probe = b.acquire().unwrap();
    assert!(b.acquire().is_err());
    drop(probe);
    b.acquire().expect("the place is free again").success();
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_slow_probe_is_a_failed_probe() {
    let b = CircuitBreaker::new()
        .min_calls(1)
        .half_open_calls(1)
        .slow_calls(Duration::from_millis(10), 1.0);
    fail(&b, 1);
    tokio::time::advance(CircuitBreaker::DEFAULT_OPEN_FOR).await;
    let probe = b.acquire().unwrap();
    tokio::time::advance(20 * MS).await;
    probe.success();
    assert_eq!(b.state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn outcomes_of_an_earlier_closed_period_do_not_trip_a_later_one() {
    let b = CircuitBreaker::new().min_calls(1);
    let late = b.acquire().unwrap();
    b.force_open();
    b.reset();
    late.failure();
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn forced_open_stays_open_until_reset() {
    let b = CircuitBreaker::new();
    b.force_open();
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(b.state(), CircuitState::Open);
    assert!(b.acquire().is_err());
    b.reset();
    assert_eq!(b.state(), CircuitState::Closed);
    succeed(&b, 1);
}

#[tokio::test(start_paused = true)]
async fn every_change_of_state_is_reported() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    static CHANGES: std::sync::Mutex<Vec<(CircuitState, CircuitState)>> =
        std::sync::Mutex::new(Vec::new());
    fn hook(b: &CircuitBreaker, from: CircuitState, to: CircuitState) {
        assert_eq!(b.label(), "hooked");
        SEEN.fetch_add(1, Ordering::Relaxed);
        CHANGES.lock().unwrap().push((from, to));
    }
    let b = CircuitBreaker::new()
        .name("hooked")
        .min_calls(1)
        .half_open_calls(1)
        .on_change(hook);
    fail(&b, 1);
    tokio::time::advance(CircuitBreaker::DEFAULT_OPEN_FOR).await;
    succeed(&b, 1);
    use CircuitState::*;
    assert_eq!(
        *CHANGES.lock().unwrap(),
        [(Closed, Open), (Open, HalfOpen), (HalfOpen, Closed)]
    );
    assert_eq!(SEEN.load(Ordering::Relaxed), 3);
}

#[test]
fn many_threads_share_one_breaker() {
    static B: CircuitBreaker = CircuitBreaker::new().min_calls(1000).failure_ratio(0.9);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..10_000 {
                    B.acquire().unwrap().record(i % 10 == 0);
                }
            });
        }
    });
    assert_eq!(B.state(), CircuitState::Closed);
    let counts = B.calls.counts(clock::now());
    assert_eq!(
        counts.a, 40_000,
        "every call counted, pending ones included"
    );
    assert_eq!(counts.b, 4_000);
}
