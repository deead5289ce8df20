//! `DeadlineLayer` at the tower level, on tokio's paused clock: parsing,
//! clamping, the handler's scope, and answers per the gRPC spec.
#![allow(clippy::unwrap_used)] // the helpers below run only inside tests

use std::convert::Infallible;
use std::time::Duration;

use steadfast::deadline;
use steadfast::tonic::DeadlineLayer;
use tower::{Layer, ServiceExt};

/// A handler that reports what it saw, or hangs when asked to.
fn handler(
    hang: bool,
) -> impl tower::Service<
    http::Request<()>,
    Response = http::Response<String>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_req: http::Request<()>| async move {
        if hang {
            std::future::pending::<()>().await;
        }
        let remaining = deadline::remaining().map(|d| d.as_millis());
        Ok::<_, Infallible>(http::Response::new(format!("{remaining:?}")))
    })
}

fn request(timeout: Option<&str>) -> http::Request<()> {
    let mut builder = http::Request::builder().uri("/user.UserService/GetUser");
    if let Some(t) = timeout {
        builder = builder.header("grpc-timeout", t);
    }
    builder.body(()).unwrap()
}

fn grpc_status(response: &http::Response<String>) -> Option<&str> {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
}

#[tokio::test(start_paused = true)]
async fn the_handler_runs_inside_the_clients_deadline() {
    let svc = DeadlineLayer::new().layer(handler(false));
    let response = svc.oneshot(request(Some("250m"))).await.unwrap();
    assert_eq!(response.body(), "Some(250)");
    assert_eq!(grpc_status(&response), None);
}

#[tokio::test(start_paused = true)]
async fn a_spent_deadline_answers_deadline_exceeded() {
    let start = tokio::time::Instant::now();
    let svc = DeadlineLayer::new().layer(handler(true));
    let response = svc.oneshot(request(Some("100m"))).await.unwrap();
    assert_eq!(grpc_status(&response), Some("4"));
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn long_or_missing_timeouts_are_clamped_to_the_maximum() {
    let layer = DeadlineLayer::new().with_max(Duration::from_secs(1));
    for timeout in [Some("10H"), Some("99999999S"), None] {
        let response = layer
            .layer(handler(false))
            .oneshot(request(timeout))
            .await
            .unwrap();
        assert_eq!(response.body(), "Some(1000)", "{timeout:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_timeouts_are_answered_internal_without_calling_the_handler() {
    // Every case is a header value a peer can really send (`\x80` is
    // obs-text, which HTTP allows in a value): none is skipped.
    let cases: [&[u8]; 8] = [
        b"",
        b"1",
        b"1x",
        b"-5S",
        b"123456789m",
        b"1.5S",
        b"\x80S",
        b"5\xffm",
    ];
    for bad in cases {
        let svc = DeadlineLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
            panic!("the handler must not run");
            #[allow(unreachable_code)]
            Ok::<http::Response<String>, Infallible>(http::Response::default())
        }));
        let mut req = http::Request::new(());
        let value = http::HeaderValue::from_bytes(bad).unwrap();
        req.headers_mut().insert("grpc-timeout", value);
        let response = svc.oneshot(req).await.unwrap();
        assert_eq!(grpc_status(&response), Some("13"), "{bad:?}");
    }
}
