//! gRPC A66/A96 client metrics (feature `opentelemetry`) of calls through
//! `ServiceConfigLayer`, read back from the SDK's in-memory exporter (a
//! process of their own: the meter provider is global).
#![allow(clippy::unwrap_used)] // test-only

use resilient_examples::faulty::Fault;
use tonic::Code;

mod common;
use common::otel_metrics::{counter, histogram, Metrics, A96};
use common::{layered_users, request, server};

#[tokio::test]
async fn retried_calls_through_the_layer_are_measured() {
    let recorded = Metrics::install();

    let users = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    layered_users(users.addr).get_user(request()).await.unwrap();

    let metrics = recorded.read();
    assert_eq!(counter(&metrics, "grpc.client.attempt.started"), 3);
    let mut attempts: Vec<(String, String, u64)> =
        histogram(&metrics, "grpc.client.attempt.duration", None)
            .into_iter()
            .map(|(method, status, n, _)| (method, status, n))
            .collect();
    attempts.sort();
    let method = "user.UserService/GetUser".to_owned();
    assert_eq!(
        attempts,
        [
            (method.clone(), "OK".to_owned(), 1),
            (method.clone(), "UNAVAILABLE".to_owned(), 2),
        ]
    );
    let calls = histogram(&metrics, "grpc.client.call.duration", None);
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].1.as_str(), calls[0].2), ("OK", 1));
    let retries = histogram(&metrics, "grpc.client.call.retries", Some(&A96));
    assert_eq!(retries, [(method.clone(), String::new(), 1, 2.0)]);
    let delays = histogram(&metrics, "grpc.client.call.retry_delay", None);
    assert_eq!(delays.len(), 1);
    // Two waits of up to 10 ms each (full jitter).
    assert!(delays[0].3 <= 0.021, "{delays:?}");
}
