//! gRPC A66/A96 client metrics (feature `opentelemetry`) of generated
//! clients, after a scripted sequence of failures, read back from the SDK's
//! in-memory exporter.
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use steadfast_examples::faulty::Fault;
use steadfast_examples::user::{ResilientUserDirectoryClient, ResilientUserServiceClient};
use tonic::Code;

mod common;
use common::otel_metrics::{attribute, counter, histogram, Metrics, A96};
use common::{channel, request, server};

#[tokio::test]
async fn retries_hedges_durations_and_breaker_changes_are_recorded() {
    let recorded = Metrics::install();

    // A retried call: UNAVAILABLE twice, then OK.
    let users = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    ResilientUserServiceClient::new(channel(users.addr))
        .get_user(request())
        .await
        .unwrap();
    // A hedged call: the first attempt hangs, the hedge answers.
    // Made with `connect`: its target is the URI it was given.
    let directory = server([Fault::Slow(Duration::from_secs(5)), Fault::Ok]).await;
    let directory_uri = format!("http://{}", directory.addr);
    ResilientUserDirectoryClient::connect(directory_uri.clone())
        .await
        .unwrap()
        .find_user(request())
        .await
        .unwrap();

    // An operator takes a dependency out of service and back.
    static OPS: steadfast::CircuitBreaker = steadfast::CircuitBreaker::new().name("ops");
    OPS.force_open();
    OPS.reset();

    let metrics = recorded.read();

    assert_eq!(counter(&metrics, "grpc.client.attempt.started"), 5);

    let mut attempts = histogram(&metrics, "grpc.client.attempt.duration", None);
    attempts.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let summary: Vec<(&str, &str, u64)> = attempts
        .iter()
        .map(|(m, s, n, _)| (m.as_str(), s.as_str(), *n))
        .collect();
    assert_eq!(
        summary,
        [
            ("user.UserDirectory/FindUser", "CANCELLED", 1),
            ("user.UserDirectory/FindUser", "OK", 1),
            ("user.UserService/GetUser", "OK", 1),
            ("user.UserService/GetUser", "UNAVAILABLE", 2),
        ]
    );

    // `grpc.target`: the URI a client was connected to, `"other"` for one
    // made on a channel.
    let mut targets = Vec::new();
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        if let ("grpc.client.call.duration", AggregatedMetrics::F64(MetricData::Histogram(h))) =
            (metric.name(), metric.data())
        {
            targets.extend(h.data_points().map(|p| {
                (
                    attribute(p.attributes(), "grpc.method"),
                    attribute(p.attributes(), "grpc.target"),
                )
            }));
        }
    }
    targets.sort();
    let connected: tonic::codegen::http::Uri = directory_uri.parse().unwrap();
    assert_eq!(
        targets,
        [
            (
                "user.UserDirectory/FindUser".to_owned(),
                connected.to_string()
            ),
            ("user.UserService/GetUser".to_owned(), "other".to_owned()),
        ]
    );

    let calls = histogram(&metrics, "grpc.client.call.duration", None);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls
        .iter()
        .all(|(_, status, n, _)| status == "OK" && *n == 1));

    let retries = histogram(&metrics, "grpc.client.call.retries", Some(&A96));
    assert_eq!(
        retries,
        [("user.UserService/GetUser".to_owned(), String::new(), 1, 2.0)]
    );
    let hedges = histogram(&metrics, "grpc.client.call.hedges", Some(&A96));
    assert_eq!(
        hedges,
        [(
            "user.UserDirectory/FindUser".to_owned(),
            String::new(),
            1,
            1.0
        )]
    );

    // Circuit breakers' changes of state, any breaker's.
    let mut transitions = Vec::new();
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        if metric.name() == "steadfast.circuit_breaker.transitions" {
            if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                for point in sum.data_points() {
                    transitions.push((
                        attribute(point.attributes(), "breaker"),
                        attribute(point.attributes(), "from"),
                        attribute(point.attributes(), "to"),
                        point.value(),
                    ));
                }
            }
        }
    }
    transitions.sort();
    assert_eq!(
        transitions,
        [
            ("ops".to_owned(), "closed".to_owned(), "open".to_owned(), 1),
            ("ops".to_owned(), "open".to_owned(), "closed".to_owned(), 1),
        ]
    );

    let delays = histogram(&metrics, "grpc.client.call.retry_delay", None);
    assert_eq!(delays.len(), 1);
    let (_, _, n, total) = &delays[0];
    assert_eq!(*n, 1);
    assert!(
        *total >= 0.08 && *total < 1.0,
        "two backoffs of ~50 and ~100 ms: {total} s"
    );
}
