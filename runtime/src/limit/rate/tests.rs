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
    // More than one a nanosecond is one a nanosecond; one per Duration::MAX
    // saturates rather than overflows.
    let fast = RateLimiter::per(u32::MAX, Duration::from_nanos(1));
    fast.try_acquire().unwrap();
    assert!(fast.try_acquire().is_ok(), "its burst is u32::MAX");
    let slow = RateLimiter::per(1, Duration::MAX).burst(u32::MAX);
    assert!(slow.try_acquire().is_ok());
}

/// Calls admitted in each of `seconds` seconds, a call tried every
/// millisecond (tokio's paused clock).
async fn admitted_each_second(limiter: &RateLimiter, seconds: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    for _ in 0..seconds {
        let mut admitted = 0;
        for _ in 0..1000 {
            if limiter.try_acquire().is_ok() {
                admitted += 1;
            }
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        counts.push(admitted);
    }
    counts
}

/// Sentinel's `WarmUpController` under full load, second by second, as
/// Sentinel computes it: the calls it admits in each second (its tokens
/// synced at each second's start, its `warningQps` then).
fn sentinel_warm_up(rate: f64, warm_up_seconds: f64, seconds: usize) -> Vec<f64> {
    let cold = 3.0;
    let warning = warm_up_seconds * rate / (cold - 1.0);
    let max = warning + 2.0 * warm_up_seconds * rate / (1.0 + cold);
    let slope = (cold - 1.0) / rate / (max - warning);
    let (mut tokens, mut passed) = (max, 0.0);
    let mut out = Vec::new();
    for second in 0..seconds {
        if second > 0 {
            if tokens < warning || passed < rate / cold {
                tokens += rate;
            }
            tokens = (tokens.min(max) - passed).max(0.0);
        }
        let qps = if tokens >= warning {
            1.0 / ((tokens - warning) * slope + 1.0 / rate)
        } else {
            rate
        };
        passed = qps.floor();
        out.push(passed);
    }
    out
}

/// Sentinel's WARM_UP under full load: a third of the rate in the first
/// second, rising to all of it over the warm-up period, second by second
/// within a few calls of Sentinel's own formula, never above the rate; cold
/// again after a quiet spell.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_cold_limiter_warms_up_from_a_third_of_its_rate_as_sentinels_formula_does() {
    // A burst of 2 absorbs the millisecond steps of the test's clock.
    let limiter = RateLimiter::per_second(90)
        .burst(2)
        .warm_up(Duration::from_secs(10));
    let curve = admitted_each_second(&limiter, 14).await;
    let sentinel = sentinel_warm_up(90.0, 10.0, 14);
    for (second, (&ours, &theirs)) in curve.iter().zip(&sentinel).enumerate() {
        assert!(
            (ours as f64 - theirs).abs() <= 3.0,
            "second {second}: {ours} admitted, Sentinel {theirs}\nours     {curve:?}\nSentinel {sentinel:?}"
        );
    }
    assert!((29..=33).contains(&curve[0]), "{curve:?}");
    assert!(curve.iter().all(|&n| n <= 91), "{curve:?}");
    assert_eq!(curve[13], 90, "{curve:?}");
    // Ten quiet seconds: cold again.
    tokio::time::advance(Duration::from_secs(10)).await;
    let again = admitted_each_second(&limiter, 1).await;
    assert!(again[0] <= 40, "{again:?} after {curve:?}");
}

/// A cluster limit's local share: the interval times the replicas, the
/// burst divided by them, never below one call.
#[cfg(feature = "redis")]
#[test]
fn a_share_of_four_spaces_calls_four_times_wider_with_a_quarter_of_the_burst() {
    let limiter = RateLimiter::per_second(400).burst(40);
    let share = limiter.steady_cell().share(4);
    assert_eq!(share.micros(), (10_000, 90_000), "100/s in bursts of 10");
    let lone = RateLimiter::per_second(400).burst(2).steady_cell().share(4);
    assert_eq!(lone.micros(), (10_000, 0), "a burst of one at least");
}
