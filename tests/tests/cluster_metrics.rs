//! A cluster rate limit's metrics (features `redis` and `opentelemetry`):
//! the gauge `steadfast.limit.cluster.reachable` falls to 0 when its Redis
//! is killed and comes back to 1 when a restarted one answers the probe, and
//! the calls decided without Redis are counted; read back from the SDK's
//! in-memory exporter, against a real redis-server on loopback.
#![allow(clippy::unwrap_used)] // test-only

use std::time::{Duration, Instant};

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use steadfast::RateLimiter;
use steadfast_examples::redis_server::RedisServer;

mod common;
use common::otel_metrics::{attribute, Metrics};

/// The points of the `u64` metric `name`: (limit, value).
fn points(metrics: &[ResourceMetrics], name: &str) -> Vec<(String, u64)> {
    let mut points = Vec::new();
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
    {
        match metric.data() {
            AggregatedMetrics::U64(MetricData::Gauge(gauge)) => points.extend(
                gauge
                    .data_points()
                    .map(|p| (attribute(p.attributes(), "limit"), p.value())),
            ),
            AggregatedMetrics::U64(MetricData::Sum(sum)) => points.extend(
                sum.data_points()
                    .map(|p| (attribute(p.attributes(), "limit"), p.value())),
            ),
            _ => {}
        }
    }
    points
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_lost_and_found_moves_the_reachable_gauge_and_local_decisions_are_counted() {
    let recorded = Metrics::install();
    let mut redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = redis::aio::ConnectionManager::new(client).await.unwrap();
    let limiter = RateLimiter::cluster(connection, "metered", RateLimiter::per_second(100));
    limiter.acquire().await.unwrap();

    redis.kill();
    limiter.acquire().await.unwrap(); // the local share
    limiter.acquire().await.unwrap();
    let metrics = recorded.read();
    let reachable = "steadfast.limit.cluster.reachable";
    assert_eq!(points(&metrics, reachable), [("metered".to_owned(), 0)]);
    assert_eq!(
        points(&metrics, "steadfast.limit.cluster.local_decisions"),
        [("metered".to_owned(), 2)]
    );

    redis.restart();
    let start = Instant::now();
    while limiter.redis_reachable() != Some(true) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never found again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The exporter keeps every export: the newest reading comes last.
    let metrics = recorded.read();
    assert_eq!(
        points(&metrics, reachable).last(),
        Some(&("metered".to_owned(), 1))
    );
}
