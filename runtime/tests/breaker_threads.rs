//! The circuit breaker under contention, on real threads: many tasks of a
//! multi-threaded runtime race through open → half-open → closed while a
//! seeded backend fails in bursts. Whatever the interleaving, the state
//! changes form one chain (each starts where the last ended: two threads
//! never make the same move), a half-open breaker lets through no more
//! probes than it was given before it decides, and once the backend is
//! healthy the breaker ends closed.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use steadfast::{CircuitBreaker, CircuitState};

static CHANGES: Mutex<Vec<(CircuitState, CircuitState)>> = Mutex::new(Vec::new());
/// Probes let through in the current half-open period.
static PROBES: AtomicU32 = AtomicU32::new(0);
static MOST_PROBES: AtomicU32 = AtomicU32::new(0);

fn changed(_: &CircuitBreaker, from: CircuitState, to: CircuitState) {
    if to == CircuitState::HalfOpen {
        PROBES.store(0, Ordering::SeqCst);
    }
    CHANGES.lock().unwrap().push((from, to));
}

static BREAKER: CircuitBreaker = CircuitBreaker::new()
    .failure_count(5)
    .window(Duration::from_millis(50))
    .open_for(Duration::from_millis(2))
    .half_open_calls(3)
    .on_change(changed);

const HALF_OPEN_CALLS: u32 = 3;
const TASKS: u64 = 8;
const CALLS: u32 = 3_000;

/// xorshift64*, seeded per task: the same failures on every run, whatever
/// the scheduling.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transitions_form_one_chain_and_probes_stay_within_their_number() {
    static HEALTHY: AtomicBool = AtomicBool::new(false);
    let mut tasks = Vec::new();
    for id in 0..TASKS {
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (id + 1);
            for i in 0..CALLS {
                match BREAKER.acquire() {
                    Ok(permit) => {
                        if BREAKER.state() == CircuitState::HalfOpen {
                            let probes = PROBES.fetch_add(1, Ordering::SeqCst) + 1;
                            MOST_PROBES.fetch_max(probes, Ordering::SeqCst);
                        }
                        // Bursts: mostly failing in the first half, then a
                        // healthy backend.
                        let failing = !HEALTHY.load(Ordering::Relaxed)
                            && (i / 200) % 2 == 0
                            && !next(&mut seed).is_multiple_of(4);
                        tokio::task::yield_now().await;
                        permit.record(failing);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_micros(200)).await,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    HEALTHY.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    // Healthy now: after the open period the probes close it.
    for _ in 0..200 {
        if BREAKER.state() == CircuitState::Closed {
            break;
        }
        if let Ok(permit) = BREAKER.acquire() {
            permit.success();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(BREAKER.state(), CircuitState::Closed);

    let changes = CHANGES.lock().unwrap().clone();
    eprintln!(
        "{} changes of state, most probes in one half-open period: {}",
        changes.len(),
        MOST_PROBES.load(Ordering::SeqCst)
    );
    assert!(
        changes.contains(&(CircuitState::Closed, CircuitState::Open))
            && changes.contains(&(CircuitState::Open, CircuitState::HalfOpen))
            && changes.contains(&(CircuitState::HalfOpen, CircuitState::Closed)),
        "the run never went round the cycle: {changes:?}"
    );
    for pair in changes.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "a change out of order: {changes:?}");
    }
    for (from, to) in &changes {
        let allowed = matches!(
            (from, to),
            (CircuitState::Closed, CircuitState::Open)
                | (CircuitState::Open, CircuitState::HalfOpen)
                | (CircuitState::HalfOpen, CircuitState::Closed)
                | (CircuitState::HalfOpen, CircuitState::Open)
        );
        assert!(allowed, "{from:?} -> {to:?} in {changes:?}");
    }
    // A permit taken while half-open is a probe; a few more than the
    // number may be counted when a task read the state just before the
    // breaker moved on, but never without bound.
    let most = MOST_PROBES.load(Ordering::SeqCst);
    assert!(
        most <= HALF_OPEN_CALLS + TASKS as u32,
        "{most} probes in one half-open period"
    );
}
