//! One trace across services (feature `opentelemetry`): the gateway's
//! generated client calls A (`faulty::Forward`), whose handler calls B
//! through its own generated client; with tracing-opentelemetry and the W3C propagator,
//! every span of the three hops is in one trace, and each server span's
//! parent is the client attempt that reached it. The same through
//! `ServiceConfigLayer` under tonic's own client, across a retry.
#![allow(clippy::unwrap_used)] // test-only

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use steadfast::tonic::ServiceConfigLayer;
use steadfast_examples::faulty::{Fault, FaultyUsers, Forward};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::ResilientUserServiceClient;
use tonic::Code;
use tracing_subscriber::layer::SubscriberExt;

mod common;
use common::{channel, request};

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// This thread's spans exported to memory, with the W3C propagator.
fn exporting() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("steadfast-tests")));
    let guard = tracing::subscriber::set_default(subscriber);
    (exporter, provider, guard)
}

#[tokio::test]
async fn gateway_a_and_b_are_one_trace() {
    let (exporter, provider, _guard) = exporting();

    let b = FaultyUsers::default();
    let (b_addr, _b_task) = b.serve().await.unwrap();
    let (a_addr, _a_task) = Forward::to(b_addr).serve().await.unwrap();

    let mut gateway = ResilientUserServiceClient::new(channel(a_addr));
    gateway.get_user(request()).await.unwrap();
    // B saw the context A's attempt sent.
    assert!(b.seen().len() == 1);

    let spans = exporter.get_finished_spans().unwrap();
    let sent = named(&spans, "Sent.user.UserService.GetUser");
    let attempts = named(&spans, "Attempt.user.UserService.GetUser");
    let received = named(&spans, "Recv.user.UserService.GetUser");
    assert_eq!(
        (sent.len(), attempts.len(), received.len()),
        (2, 2, 2),
        "{spans:#?}"
    );
    let trace = sent[0].span_context.trace_id();
    for span in sent.iter().chain(&attempts).chain(&received) {
        assert_eq!(
            span.span_context.trace_id(),
            trace,
            "{} is in another trace",
            span.name
        );
    }
    // Each server span's parent is the client attempt that reached it.
    for recv in &received {
        assert!(
            attempts
                .iter()
                .any(|a| a.span_context.span_id() == recv.parent_span_id),
            "{} has no attempt for a parent",
            recv.name
        );
    }
    let _ = provider.shutdown();
}

#[tokio::test]
async fn each_layer_attempt_is_the_parent_of_the_server_span_it_reached() {
    let (exporter, provider, _guard) = exporting();

    let server = FaultyUsers::new([Fault::Fail(Code::Unavailable)]);
    let (addr, _task) = server.serve().await.unwrap();
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "5s",
            "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                            "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .unwrap();
    let layered = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(addr));
    UserServiceClient::new(layered)
        .get_user(request())
        .await
        .unwrap();
    assert_eq!(server.seen().len(), 2, "a failure, then the retry");

    let spans = exporter.get_finished_spans().unwrap();
    let attempts = named(&spans, "Attempt.user.UserService.GetUser");
    let received = named(&spans, "Recv.user.UserService.GetUser");
    assert_eq!((attempts.len(), received.len()), (2, 2), "{spans:#?}");
    // Each attempt is the parent of the one server span it reached.
    let parents: std::collections::HashSet<_> =
        received.iter().map(|recv| recv.parent_span_id).collect();
    let ids: std::collections::HashSet<_> = attempts
        .iter()
        .map(|attempt| attempt.span_context.span_id())
        .collect();
    assert_eq!(parents.len(), 2, "{spans:#?}");
    assert_eq!(parents, ids, "{spans:#?}");
    let _ = provider.shutdown();
}
