//! gRPC A66/A96 client metrics (feature `opentelemetry`) of calls through
//! `ServiceConfigLayer`, read back from the SDK's in-memory exporter (a
//! process of their own: the meter provider is global).
#![allow(clippy::unwrap_used)] // test-only

use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use resilient::tonic::ServiceConfigLayer;
use resilient_examples::faulty::Fault;
use resilient_examples::user::user_service_client::UserServiceClient;
use tonic::Code;

mod common;
use common::otel_metrics::{counter, histogram, A96};
use common::{channel, request, server};

#[tokio::test]
async fn retried_calls_through_the_layer_are_measured() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());

    let users = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}],
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                            "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(users.addr));
    UserServiceClient::new(channel)
        .get_user(request())
        .await
        .unwrap();

    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();
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
