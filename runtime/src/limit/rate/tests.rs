use std::future::Future as _;
use std::time::Duration;

use super::*;

/// Tries a call every `step` for `length` (tokio's paused clock), and
/// counts the calls admitted in every window of `window` that fits.
async fn admitted_per_window(
    limiter: &RateLimiter,
    step: Duration,
    length: Duration,
    window: Duration,
) -> (usize, usize) {
    let mut times = Vec::new();
    let start = tokio::time::Instant::now();
    while start.elapsed() < length {
        if limiter.try_acquire().is_ok() {
            times.push(start.elapsed());
        }
        tokio::time::advance(step).await;
    }
    // The most admitted in any window starting at an admitted call.
    let most = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + window)
                .count()
        })
        .max()
        .unwrap_or(0);
    (times.len(), most)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn over_ten_seconds_at_1000_a_second_it_admits_rate_times_time_plus_burst_and_99_percent_of_it(
) {
    let limiter = RateLimiter::per_second(1000).burst(10);
    let (admitted, most_in_a_second) = admitted_per_window(
        &limiter,
        Duration::from_micros(100),
        Duration::from_secs(10),
        Duration::from_secs(1),
    )
    .await;
    assert!(admitted <= 10 * 1000 + 10, "{admitted}");
    assert!(admitted >= 9_900, "{admitted}");
    assert!(most_in_a_second <= 1000 + 10, "{most_in_a_second}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_burst_is_admitted_at_once_and_no_more() {
    let limiter = RateLimiter::per_second(50).burst(10);
    let admitted = (0..100).filter(|_| limiter.try_acquire().is_ok()).count();
    assert_eq!(admitted, 10);
    let refused = limiter.try_acquire().unwrap_err();
    assert_eq!(refused.which(), Which::Rate);
    assert_eq!(refused.retry_after(), Some(Duration::from_millis(20)));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn queued_calls_start_evenly_spaced() {
    let limiter = RateLimiter::per_second(10)
        .burst(1)
        .queue(Duration::from_secs(1));
    let started = admitted_at(&limiter, 5).await;
    let expected: Vec<_> = (0..5).map(|i| Duration::from_millis(100 * i)).collect();
    assert_eq!(started, expected);
}

/// Starts `n` acquires at once and returns when each was admitted.
async fn admitted_at(limiter: &RateLimiter, n: usize) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let mut set = Vec::new();
    for _ in 0..n {
        set.push(async {
            limiter.acquire().await.unwrap();
            start.elapsed()
        });
    }
    // Each acquire reserves its turn as it is first polled: poll them in
    // order, all before any sleeps.
    let mut pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
    let mut done = vec![None; n];
    std::future::poll_fn(|cx| {
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                if let std::task::Poll::Ready(at) = f.as_mut().poll(cx) {
                    done[i] = Some(at);
                }
            }
        }
        if done.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_turn_past_the_queue_or_the_deadline_is_refused_at_once() {
    let limiter = RateLimiter::per_second(10)
        .burst(1)
        .queue(Duration::from_millis(150));
    limiter.try_acquire().unwrap();
    limiter.acquire().await.unwrap(); // 100 ms: within the queue
    let start = tokio::time::Instant::now();
    // Next turn in 100 ms, past a 50 ms deadline.
    let refused = deadline::scope(Duration::from_millis(50), limiter.acquire())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
    assert_eq!(start.elapsed(), Duration::ZERO, "refused without waiting");
    // Two turns ahead (200 ms) is past the 150 ms queue.
    limiter.try_acquire().unwrap_err();
    tokio::time::advance(Duration::from_millis(100)).await;
    limiter.acquire().await.unwrap();
    assert!(limiter.acquire().await.is_ok(), "100 ms: within the queue");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_new_rate_applies_from_the_next_call() {
    let limiter = RateLimiter::per_second(1).burst(1);
    limiter.try_acquire().unwrap();
    assert_eq!(
        limiter.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(1))
    );
    limiter.set_rate(100, Duration::from_secs(1)).unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    limiter.try_acquire().unwrap();
    assert_eq!(
        limiter.try_acquire().unwrap_err().retry_after(),
        Some(Duration::from_millis(10))
    );
    assert_eq!(limiter.burst_size(), 1, "a burst that was set stays");
}

#[test]
fn absurd_settings_are_errors_and_huge_ones_saturate() {
    assert!(RateLimiter::try_per(0, Duration::from_secs(1)).is_err());
    assert!(RateLimiter::try_per(1, Duration::ZERO).is_err());
    assert!(RateLimiter::per_second(1).try_burst(0).is_err());
    assert!(RateLimiter::per_second(1)
        .set_rate(0, Duration::from_secs(1))
        .is_err());
    // A billion a nanosecond is one a nanosecond; one per Duration::MAX
    // saturates rather than overflows.
    let fast = RateLimiter::per(u32::MAX, Duration::from_nanos(1));
    assert_eq!(fast.rate(), (1_000_000_000, Duration::from_secs(1)));
    let slow = RateLimiter::per(1, Duration::MAX).burst(u32::MAX);
    assert!(slow.try_acquire().is_ok());
}
