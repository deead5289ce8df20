//! gRPC A66/A96 client metrics (feature `opentelemetry`) of calls through
//! `ServiceConfigLayer`, read back from the SDK's in-memory exporter (a
//! process of their own: the meter provider is global).
#![allow(clippy::unwrap_used)] // test-only

use steadfast_examples::faulty::Fault;
use tonic::Code;

mod common;
use common::otel_metrics::{counter, counts, histogram, Metrics, A96};
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
    // A call whose attempts all fail, and one whose own timeout runs out:
    // each call is measured with the status its caller gets.
    let failing = server(vec![Fault::Fail(Code::Unavailable); 3]).await;
    let failed = layered_users(failing.addr).get_user(request()).await;
    assert_eq!(failed.unwrap_err().code(), Code::Unavailable);
    let hanging = server([Fault::Hang]).await;
    let mut timed = tonic::Request::new(request());
    timed.set_timeout(std::time::Duration::from_millis(50));
    let expired = layered_users(hanging.addr).get_user(timed).await;
    assert_eq!(expired.unwrap_err().code(), Code::DeadlineExceeded);

    let metrics = recorded.read();
    let method = "user.UserService/GetUser".to_owned();
    let calls = counts(&metrics, "grpc.client.call.duration");
    let statuses = ["DEADLINE_EXCEEDED", "OK", "UNAVAILABLE"];
    assert_eq!(calls, statuses.map(|s| (method.clone(), s.to_owned(), 1)));
    // Attempts: the first call's three, the failing call's three, and
    // the hanging call's one, given up when its timeout ran out.
    assert_eq!(counter(&metrics, "grpc.client.attempt.started"), 7);
    let attempts = counts(&metrics, "grpc.client.attempt.duration");
    assert_eq!(
        attempts,
        [
            (method.clone(), "CANCELLED".to_owned(), 1),
            (method.clone(), "OK".to_owned(), 1),
            (method.clone(), "UNAVAILABLE".to_owned(), 5),
        ]
    );
    // Two calls retried twice each; the hanging one never retried.
    let retries = histogram(&metrics, "grpc.client.call.retries", Some(&A96));
    assert_eq!(retries, [(method.clone(), String::new(), 2, 4.0)]);
    let delays = histogram(&metrics, "grpc.client.call.retry_delay", None);
    assert_eq!(delays.len(), 1);
    assert_eq!(delays[0].2, 2, "{delays:?}");
    // Four waits of up to 10 ms each (full jitter).
    assert!(delays[0].3 <= 0.041, "{delays:?}");

    // A method whose policy is a timeout alone (its one attempt sent as
    // the layer is called): one that answers, one cut at its timeout.
    let once = |addr| {
        let layer = steadfast::tonic::ServiceConfigLayer::from_json(
            r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "0.05s"}]}"#,
        )
        .unwrap();
        let channel = tower::ServiceBuilder::new()
            .layer(layer)
            .service(common::channel(addr));
        steadfast_examples::user::user_service_client::UserServiceClient::new(channel)
    };
    let answering = server([]).await;
    once(answering.addr).get_user(request()).await.unwrap();
    let hanging = server([Fault::Hang]).await;
    let expired = once(hanging.addr).get_user(request()).await;
    assert_eq!(expired.unwrap_err().code(), Code::DeadlineExceeded);
    let metrics = recorded.totals();
    let more = [("DEADLINE_EXCEEDED", 2), ("OK", 2), ("UNAVAILABLE", 1)];
    let calls = counts(&metrics, "grpc.client.call.duration");
    assert_eq!(calls, more.map(|(s, n)| (method.clone(), s.to_owned(), n)));
    assert_eq!(counter(&metrics, "grpc.client.attempt.started"), 9);
    let attempts = counts(&metrics, "grpc.client.attempt.duration");
    let statuses = [("CANCELLED", 2), ("OK", 2), ("UNAVAILABLE", 5)];
    let statuses = statuses.map(|(s, n)| (method.clone(), s.to_owned(), n));
    assert_eq!(attempts, statuses);
    // Neither was retried.
    let retries = histogram(&metrics, "grpc.client.call.retries", Some(&A96));
    assert_eq!(retries, [(method.clone(), String::new(), 2, 4.0)]);
}
