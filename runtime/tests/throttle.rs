//! `AdaptiveThrottle`: the SRE book's odds, exactly; a healthy service
//! never throttled; a dead one sees a trickle; a recovered one gets full
//! traffic once its failures leave the window. On tokio's paused clock.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::AdaptiveThrottle;
use tonic::Status;

/// The odds are `max(0, (requests − K·accepts) / (requests + 1))`, every
/// call counted as a request, refused or not.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_odds_are_the_sre_books() {
    let throttle = AdaptiveThrottle::new();
    for _ in 0..4 {
        throttle.acquire().unwrap().success();
    }
    // 4 requests, 4 accepts: 4 − 8 < 0.
    assert_eq!(throttle.rejection_probability(), 0.0);
    for _ in 0..10 {
        if let Ok(permit) = throttle.acquire() {
            permit.failure();
        }
    }
    // 14 requests, 4 accepts: (14 − 8) / 15.
    assert_eq!(throttle.rejection_probability(), 6.0 / 15.0);
}

static HEALTHY: AdaptiveThrottle = AdaptiveThrottle::new();

#[steadfast::circuit_breaker(HEALTHY)]
async fn healthy() -> Result<(), Status> {
    Ok(())
}

/// While the service answers, nothing is refused, whatever the volume.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_healthy_service_is_never_throttled() {
    for _ in 0..5000 {
        healthy().await.unwrap();
    }
    assert_eq!(HEALTHY.rejection_probability(), 0.0);
}

static DOWN: AtomicBool = AtomicBool::new(false);
static REACHED: AtomicU32 = AtomicU32::new(0);
static USERS: AdaptiveThrottle = AdaptiveThrottle::new().window(Duration::from_secs(10));

#[steadfast::circuit_breaker(USERS)]
async fn get_user() -> Result<(), Status> {
    REACHED.fetch_add(1, SeqCst);
    if DOWN.load(SeqCst) {
        Err(Status::unavailable("down"))
    } else {
        Ok(())
    }
}

/// 100 calls a second, a 10 s window. Down for 15 s: once its last
/// successes have left the window, the service sees a trickle of the calls
/// (in the last 5 s, fewer than 5% of 500: the odds are
/// `requests / (requests + 1)`); back up, the few calls that reach it
/// succeed and open the way for more, until it gets every call.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_dead_service_sees_a_trickle_and_a_recovered_one_full_traffic() {
    let tick = Duration::from_millis(10);
    for _ in 0..500 {
        get_user().await.unwrap();
        tokio::time::advance(tick).await;
    }
    DOWN.store(true, SeqCst);
    for _ in 0..1000 {
        let _ = get_user().await;
        tokio::time::advance(tick).await;
    }
    REACHED.store(0, SeqCst);
    for _ in 0..500 {
        let _ = get_user().await;
        tokio::time::advance(tick).await;
    }
    let reached = REACHED.load(SeqCst);
    assert!(reached < 25, "{reached} of 500 reached the dead service");

    DOWN.store(false, SeqCst);
    // Back up: the calls refused here still count as requests, so the odds
    // fall only as the few that get through succeed (the SRE book's rule:
    // about 50 s here, five windows). Full traffic within 120 s.
    let mut full_traffic_after = None;
    for second in 0..120 {
        let mut refused = 0;
        for _ in 0..100 {
            if get_user().await.is_err() {
                refused += 1;
            }
            tokio::time::advance(tick).await;
        }
        if refused == 0 {
            full_traffic_after = Some(second);
            break;
        }
    }
    assert!(full_traffic_after.is_some(), "still throttled after 120 s");
    assert_eq!(USERS.rejection_probability(), 0.0);
}

static OWN_REACHED: AtomicU32 = AtomicU32::new(0);

/// A throttle of the function's own: `throttle = K` (and `window`).
#[steadfast::circuit_breaker(throttle = 2.0, window = 10s)]
async fn own_throttle() -> Result<(), Status> {
    OWN_REACHED.fetch_add(1, SeqCst);
    Err(Status::unavailable("down"))
}

/// `#[circuit_breaker(throttle = 2.0)]` throttles (it never opens): of 1000
/// calls to a dead service over 10 s, most are refused here as
/// "throttled", and some still reach it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_throttle_of_the_functions_own_throttles_rather_than_opens() {
    let mut throttled = 0;
    for _ in 0..1000 {
        if own_throttle()
            .await
            .unwrap_err()
            .message()
            .starts_with("throttled")
        {
            throttled += 1;
        }
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    let reached = OWN_REACHED.load(SeqCst);
    assert_eq!(throttled + reached, 1000);
    assert!(throttled > 900, "{throttled} throttled");
    assert!(reached >= 1, "{reached} reached");
}
