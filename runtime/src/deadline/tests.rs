use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::*;

#[tokio::test(start_paused = true)]
async fn scope_sets_and_enforces_the_deadline() {
    let start = Instant::now();
    let result = scope(Duration::from_secs(2), async {
        assert_eq!(current(), Some(start + Duration::from_secs(2)));
        sleep(Duration::from_secs(5)).await;
    })
    .await;
    assert_eq!(result, Err(Elapsed::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(current(), None);
}

#[tokio::test(start_paused = true)]
async fn nested_scopes_only_shrink() {
    let start = Instant::now();
    scope(Duration::from_secs(1), async {
        scope(Duration::from_secs(10), async {
            assert_eq!(current(), Some(start + Duration::from_secs(1)));
        })
        .await
        .unwrap();
        scope(Duration::from_millis(10), async {
            assert_eq!(current(), Some(start + Duration::from_millis(10)));
        })
        .await
        .unwrap();
        // Back to the outer deadline after the inner scope ends.
        assert_eq!(current(), Some(start + Duration::from_secs(1)));
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn inner_scope_cannot_outlive_outer() {
    let start = Instant::now();
    let outer = scope(Duration::from_secs(1), async {
        scope(Duration::from_secs(10), sleep(Duration::from_secs(5))).await
    })
    .await;
    // The inner scope took the outer deadline, so it reports the timeout itself.
    assert_eq!(outer, Ok(Err(Elapsed::new())));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn remaining_counts_down_and_stops_at_zero() {
    scope(Duration::from_secs(3), async {
        assert_eq!(remaining(), Some(Duration::from_secs(3)));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(remaining(), Some(Duration::from_secs(2)));
    })
    .await
    .unwrap();
    let at = Instant::now();
    sleep(Duration::from_secs(1)).await;
    // A scope whose deadline is already past still reports zero, never panics.
    let late = scope_at(at, async { remaining() }).await;
    assert_eq!(late, Err(Elapsed::new()));
    assert_eq!(remaining(), None);
}

#[tokio::test(start_paused = true)]
async fn huge_timeouts_saturate() {
    let result = scope(Duration::MAX, async { current().is_some() }).await;
    assert_eq!(result, Ok(true));
}

#[tokio::test(start_paused = true)]
async fn spawned_tasks_need_propagate() {
    scope(Duration::from_secs(1), async {
        let plain = tokio::spawn(async { current() }).await.unwrap();
        assert_eq!(plain, None);
        let carried = tokio::spawn(propagate(async { current() })).await.unwrap();
        assert_eq!(carried, current());
    })
    .await
    .unwrap();
    assert_eq!(propagate(async { current() }).await, None);
}

#[test]
fn sync_code_outside_a_runtime_sees_no_deadline() {
    assert_eq!(current(), None);
    assert_eq!(remaining(), None);
}
