//! A cluster rate limit's events and metrics (features `redis` and
//! `opentelemetry`): losing Redis is a `WARN` event and the gauge
//! `steadfast.limit.cluster.reachable` falls to 0; a restarted Redis found by
//! the probe is an `INFO` event and the gauge is 1 again; the calls decided
//! without Redis are counted. Read back from a recording subscriber and the
//! SDK's in-memory exporter, against a real redis-server on loopback.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

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

/// The events of target `steadfast::limit::*`: (level, message, limit).
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(Level, String, String)>>>);

#[derive(Default)]
struct Fields {
    message: String,
    limit: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "limit" {
            self.limit = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "limit" => self.limit = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for Events {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target().starts_with("steadfast::limit") {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let seen = (*event.metadata().level(), fields.message, fields.limit);
            self.0.lock().unwrap().push(seen);
        }
    }
}

// One thread: the background probe's events are seen by this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn redis_lost_and_found_are_events_and_move_the_reachable_gauge_and_local_decisions_count() {
    let events = Events::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
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

    let events = events.0.lock().unwrap().clone();
    let changes: Vec<(Level, bool)> = events
        .iter()
        .filter(|(_, _, limit)| limit == "metered")
        .map(|(level, message, _)| (*level, message.contains("Redis answers again")))
        .collect();
    assert_eq!(
        changes,
        [(Level::WARN, false), (Level::INFO, true)],
        "one event when Redis is lost, one when it is found: {events:?}"
    );
}
