//! The limits' metrics (feature `opentelemetry`): each refusal counted by
//! limit and kind, each admitted wait in a queue recorded, read back from
//! the SDK's in-memory exporter.
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use steadfast::{ConcurrencyLimit, RateLimiter};

mod common;
use common::otel_metrics::{attribute, Metrics};

#[tokio::test]
async fn refusals_are_counted_by_limit_and_queue_waits_recorded() {
    let recorded = Metrics::install();
    let paced = RateLimiter::per_second(10)
        .burst(1)
        .queue(Duration::from_secs(1))
        .named("paced");
    paced.try_acquire().unwrap();
    paced.try_acquire().unwrap_err();
    paced.acquire().await.unwrap(); // waits its turn, ~100 ms
    let places = ConcurrencyLimit::new(1).named("places");
    let held = places.try_acquire().unwrap();
    places.try_acquire().unwrap_err();
    places.acquire().await.unwrap_err();
    drop(held);

    let metrics = recorded.read();
    let mut refusals = Vec::new();
    let mut waits = Vec::new();
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        match (metric.name(), metric.data()) {
            ("steadfast.limit.refusals", AggregatedMetrics::U64(MetricData::Sum(sum))) => {
                for point in sum.data_points() {
                    let limit = attribute(point.attributes(), "limit");
                    let kind = attribute(point.attributes(), "kind");
                    refusals.push((limit, kind, point.value()));
                }
            }
            ("steadfast.limit.queue_wait", AggregatedMetrics::F64(MetricData::Histogram(h))) => {
                assert_eq!(metric.unit(), "s");
                for point in h.data_points() {
                    let limit = attribute(point.attributes(), "limit");
                    waits.push((limit, point.count(), point.sum()));
                }
            }
            _ => {}
        }
    }
    refusals.sort();
    assert_eq!(
        refusals,
        [
            ("paced".to_owned(), "rate".to_owned(), 1),
            ("places".to_owned(), "concurrency".to_owned(), 2),
        ]
    );
    assert_eq!(waits.len(), 1, "{waits:?}");
    let (limit, count, sum) = &waits[0];
    assert_eq!((limit.as_str(), *count), ("paced", 1));
    assert!(*sum >= 0.05 && *sum < 1.0, "{sum}");
}
