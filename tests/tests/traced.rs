//! Spans and events (feature `tracing`): what a subscriber sees of a
//! generated client's calls against the fault-injecting server, and of the
//! attributes on plain functions.
#![allow(clippy::unwrap_used)] // test-only

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use steadfast_examples::faulty::Fault;
use steadfast_examples::user::{ResilientUserDirectoryClient, ResilientUserServiceClient};
use tonic::Code;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

mod common;
use common::{channel, request, server};

/// A span as the subscriber saw it. `shown` is its name as an
/// OpenTelemetry backend shows it: `otel.name` when set, its own otherwise.
#[derive(Debug, Clone, Default)]
struct SeenSpan {
    name: String,
    shown: String,
    parent: Option<String>,
    fields: BTreeMap<String, String>,
}

/// An event: its message, fields, and the span it happened in.
#[derive(Debug, Clone, Default)]
struct SeenEvent {
    message: String,
    fields: BTreeMap<String, String>,
    span: Option<String>,
}

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<(u64, SeenSpan)>>>,
    events: Arc<Mutex<Vec<SeenEvent>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = SeenSpan {
            name: attrs.metadata().name().to_owned(),
            ..SeenSpan::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        seen.shown = seen
            .fields
            .get("otel.name")
            .cloned()
            .unwrap_or_else(|| seen.name.clone());
        let parent = ctx.span(id).and_then(|span| span.parent().map(|p| p.id()));
        seen.parent = parent.and_then(|p| self.shown(&p));
        self.spans.lock().unwrap().push((id.into_u64(), seen));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some((_, seen)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let span = ctx.lookup_current().and_then(|s| self.shown(&s.id()));
        self.events.lock().unwrap().push(SeenEvent {
            message,
            fields,
            span,
        });
    }
}

impl Recorder {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::set_default(subscriber)
    }

    /// The shown name of the span `id`.
    fn shown(&self, id: &Id) -> Option<String> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .rev()
            .find(|(i, _)| *i == id.into_u64())
            .map(|(_, s)| s.shown.clone())
    }

    /// The spans an OpenTelemetry backend would show as `name`.
    fn spans(&self, name: &str) -> Vec<SeenSpan> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.shown == name)
            .map(|(_, s)| s.clone())
            .collect()
    }

    fn events(&self, message: &str) -> Vec<SeenEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.message == message)
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn a_retried_call_is_one_sent_span_with_an_attempt_span_per_attempt() {
    let server = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let mut client = ResilientUserServiceClient::new(channel(server.addr));
    client.get_user(request()).await.unwrap();

    let sent = recorder.spans("Sent.user.UserService.GetUser");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let fields = &sent[0].fields;
    assert_eq!(fields["rpc.system"], "grpc");
    assert_eq!(fields["rpc.service"], "user.UserService");
    assert_eq!(fields["rpc.method"], "GetUser");
    assert_eq!(fields["otel.kind"], "client");
    assert_eq!(fields["rpc.grpc.status_code"], "0");

    let attempts = recorder.spans("Attempt.user.UserService.GetUser");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    for (n, attempt) in attempts.iter().enumerate() {
        assert_eq!(
            attempt.parent.as_deref(),
            Some("Sent.user.UserService.GetUser")
        );
        assert_eq!(attempt.fields["previous-rpc-attempts"], n.to_string());
        assert_eq!(attempt.fields["transparent-retry"], "false");
    }
    let codes: Vec<&str> = attempts
        .iter()
        .map(|a| a.fields["rpc.grpc.status_code"].as_str())
        .collect();
    assert_eq!(codes, ["14", "14", "0"]);

    // The server's side: `DeadlineLayer` opens a span per call it receives.
    let recv = recorder.spans("Recv.user.UserService.GetUser");
    assert_eq!(recv.len(), 3, "{recv:?}");
    for span in &recv {
        assert_eq!(span.fields["otel.name"], "Recv.user.UserService.GetUser");
        assert_eq!(span.fields["otel.kind"], "server");
        let deadline: u64 = span.fields["grpc.deadline_ms"].parse().unwrap();
        assert!(
            deadline > 0 && deadline <= 300,
            "each attempt's 300 ms: {deadline}"
        );
    }

    // The delay before each retry, and why, as events in the call's span.
    let retries = recorder.events("retrying");
    assert_eq!(retries.len(), 2, "{retries:?}");
    for retry in &retries {
        assert_eq!(retry.span.as_deref(), Some("Sent.user.UserService.GetUser"));
        assert_eq!(retry.fields["reason"], "backoff");
        assert!(retry.fields["delay_ms"].parse::<u64>().unwrap() >= 30);
    }
}

#[tokio::test]
async fn hedges_are_attempt_spans_of_one_call() {
    use std::time::Duration;
    let server = server([Fault::Slow(Duration::from_secs(5)), Fault::Ok]).await;
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let mut client = ResilientUserDirectoryClient::new(channel(server.addr));
    client.find_user(request()).await.unwrap();

    assert_eq!(recorder.spans("Sent.user.UserDirectory.FindUser").len(), 1);
    let attempts = recorder.spans("Attempt.user.UserDirectory.FindUser");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].fields["previous-rpc-attempts"], "0");
    assert_eq!(attempts[1].fields["previous-rpc-attempts"], "1");
    assert_eq!(attempts[1].fields["rpc.grpc.status_code"], "0");
    assert!(attempts
        .iter()
        .all(|a| a.parent.as_deref() == Some("Sent.user.UserDirectory.FindUser")));
    assert_eq!(recorder.events("hedging").len(), 1);
}

#[tokio::test]
async fn a_call_sent_once_has_one_attempt_span() {
    let server = server([]).await;
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let mut client =
        steadfast_examples::catalog::v1::ResilientCatalogClient::new(channel(server.addr));
    // `Old` has no retry policy (the users server does not serve it: UNIMPLEMENTED).
    #[allow(deprecated)]
    let error = client
        .old(steadfast_examples::catalog::v1::Entry::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unimplemented);
    let attempts = recorder.spans("Attempt.catalog.v1.Catalog.Old");
    assert_eq!(attempts.len(), 1, "{:?}", recorder.spans.lock().unwrap());
    assert_eq!(attempts[0].fields["rpc.grpc.status_code"], "12");
    assert_eq!(
        recorder.spans("Sent.catalog.v1.Catalog.Old")[0].fields["rpc.grpc.status_code"],
        "12"
    );
}

// The attributes on plain functions (feature `function-spans`, which this
// crate turns on): a call span named after the function, an `attempt` span
// per attempt as its child, the retry decisions as the call's events.

#[tokio::test(start_paused = true)]
async fn a_plain_function_has_a_call_span_and_an_attempt_span_per_attempt() {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    #[steadfast::retry(max = 3, backoff = "const", initial = 5ms, jitter = "none")]
    async fn lookup_user() -> Result<u32, std::io::Error> {
        tracing::info!("looking");
        match CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
            0 | 1 => Err(std::io::ErrorKind::ConnectionReset.into()),
            n => Ok(n),
        }
    }
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let span = tracing::info_span!("caller");
    let _entered = span.enter();
    assert_eq!(lookup_user().await.unwrap(), 2);

    let call = recorder.spans("lookup_user");
    assert_eq!(call.len(), 1, "{call:?}");
    assert_eq!(call[0].parent.as_deref(), Some("caller"));
    let attempts = recorder.spans("attempt");
    let numbers: Vec<&str> = attempts
        .iter()
        .map(|a| a.fields["attempt"].as_str())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert!(attempts
        .iter()
        .all(|a| a.parent.as_deref() == Some("lookup_user")));
    // What the body does happens in its attempt's span; the decisions
    // between attempts are the call's.
    let looking = recorder.events("looking");
    assert_eq!(looking.len(), 3);
    assert!(looking.iter().all(|e| e.span.as_deref() == Some("attempt")));
    let retries = recorder.events("retrying");
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries
        .iter()
        .all(|e| e.span.as_deref() == Some("lookup_user")));
    assert_eq!(retries[0].fields["delay_ms"], "5");
    assert_eq!(retries[0].fields["attempt"], "1");
}

#[tokio::test(start_paused = true)]
async fn a_timed_attempt_and_a_blocking_function_have_their_spans_too() {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // Each attempt timed (`per_attempt`): the span is around the attempt,
    // inside its deadline scope.
    #[steadfast::retry(max = 2, backoff = "none", per_attempt = 50ms)]
    async fn timed() -> Result<u32, std::io::Error> {
        if CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
            std::future::pending::<()>().await;
        }
        tracing::info!("answered");
        Ok(1)
    }
    static BLOCKING: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    #[steadfast::retry(max = 2, backoff = "none")]
    fn blocking() -> Result<u32, std::io::Error> {
        tracing::info!("blocking attempt");
        match BLOCKING.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
            0 => Err(std::io::ErrorKind::ConnectionReset.into()),
            n => Ok(n),
        }
    }
    let recorder = Recorder::default();
    let _guard = recorder.install();
    assert_eq!(timed().await.unwrap(), 1);
    assert_eq!(blocking().unwrap(), 1);

    assert_eq!(recorder.spans("timed").len(), 1);
    assert_eq!(recorder.spans("blocking").len(), 1);
    let parents: Vec<Option<String>> = recorder
        .spans("attempt")
        .into_iter()
        .map(|a| a.parent)
        .collect();
    let timed_parent = Some("timed".to_owned());
    let blocking_parent = Some("blocking".to_owned());
    assert_eq!(
        parents,
        [
            timed_parent.clone(),
            timed_parent,
            blocking_parent.clone(),
            blocking_parent
        ]
    );
    let answered = recorder.events("answered");
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].span.as_deref(), Some("attempt"));
    let blocking_events = recorder.events("blocking attempt");
    assert_eq!(blocking_events.len(), 2);
    assert!(blocking_events
        .iter()
        .all(|e| e.span.as_deref() == Some("attempt")));
}

#[tokio::test(start_paused = true)]
async fn one_attempt_policies_and_hedges_open_their_spans() {
    // A deadline or a breaker alone makes one attempt: the call span only,
    // entered while the body runs.
    #[steadfast::deadline(1s)]
    async fn bounded() -> Result<u32, steadfast::Elapsed> {
        tracing::info!("in bounded");
        Ok(1)
    }
    #[steadfast::circuit_breaker(min_calls = 5)]
    async fn guarded() -> Result<u32, steadfast::CircuitOpen> {
        tracing::info!("in guarded");
        Ok(2)
    }
    static HEDGED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // The first attempt hangs; the hedge answers.
    #[steadfast::hedge(max = 2, delay = 10ms)]
    async fn hedged() -> Result<u32, std::io::Error> {
        if HEDGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(3)
    }
    let recorder = Recorder::default();
    let _guard = recorder.install();
    assert_eq!(bounded().await.unwrap(), 1);
    assert_eq!(guarded().await.unwrap(), 2);
    assert_eq!(hedged().await.unwrap(), 3);

    for (function, event) in [("bounded", "in bounded"), ("guarded", "in guarded")] {
        assert_eq!(recorder.spans(function).len(), 1, "{function}");
        let events = recorder.events(event);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].span.as_deref(), Some(function));
    }
    assert_eq!(recorder.spans("hedged").len(), 1);
    let attempts = recorder.spans("attempt");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts
        .iter()
        .all(|a| a.parent.as_deref() == Some("hedged")));
    let numbers: Vec<&str> = attempts
        .iter()
        .map(|a| a.fields["attempt"].as_str())
        .collect();
    assert_eq!(numbers, ["1", "2"]);
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_does_not_want_info_gets_no_spans_from_plain_functions() {
    use tracing_subscriber::filter::LevelFilter;
    #[steadfast::retry(max = 2, backoff = "none")]
    async fn quiet() -> Result<u32, std::io::Error> {
        Ok(1)
    }
    let recorder = Recorder::default();
    // Filtered to WARN: tracing's maximum level says no INFO span is wanted,
    // and the attribute does not make one.
    let subscriber =
        tracing_subscriber::registry().with(recorder.clone().with_filter(LevelFilter::WARN));
    let _guard = tracing::subscriber::set_default(subscriber);
    assert_eq!(quiet().await.unwrap(), 1);
    assert!(recorder.spans("quiet").is_empty());
    assert!(recorder.spans("attempt").is_empty());
}

#[tokio::test(start_paused = true)]
async fn stacking_with_tracing_instrument() {
    static ONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    static EACH: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    fn flaky(calls: &std::sync::atomic::AtomicU32) -> Result<u32, std::io::Error> {
        match calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
            0 | 1 => Err(std::io::ErrorKind::ConnectionReset.into()),
            n => Ok(n),
        }
    }
    // Below `#[retry]`: `instrument` wraps the whole retried call, and
    // steadfast's call span is its child.
    #[steadfast::retry(max = 3, backoff = "none")]
    #[tracing::instrument(name = "one_span")]
    async fn one_span_per_call() -> Result<u32, std::io::Error> {
        flaky(&ONE)
    }
    // Above `#[retry]`: `instrument` expands first, and the body it wraps
    // runs once per attempt, inside steadfast's `attempt` span.
    #[tracing::instrument(name = "span_per_attempt")]
    #[steadfast::retry(max = 3, backoff = "none")]
    async fn span_per_attempt() -> Result<u32, std::io::Error> {
        flaky(&EACH)
    }
    let recorder = Recorder::default();
    let _guard = recorder.install();
    one_span_per_call().await.unwrap();
    span_per_attempt().await.unwrap();
    assert_eq!(recorder.spans("one_span").len(), 1);
    let call = recorder.spans("one_span_per_call");
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].parent.as_deref(), Some("one_span"));
    // Both named after the function: steadfast's call span (no parent
    // here), and `instrument`'s, once per attempt inside its `attempt`.
    let named = recorder.spans("span_per_attempt");
    let parents: Vec<Option<&str>> = named.iter().map(|s| s.parent.as_deref()).collect();
    assert_eq!(
        parents,
        [None, Some("attempt"), Some("attempt"), Some("attempt")]
    );
}

#[tokio::test]
async fn calls_through_the_service_config_layer_have_the_same_spans() {
    let server = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    let recorder = Recorder::default();
    let _guard = recorder.install();
    common::layered_users(server.addr)
        .get_user(request())
        .await
        .unwrap();

    let sent = recorder.spans("Sent.user.UserService.GetUser");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].fields["otel.name"], "Sent.user.UserService.GetUser");
    assert_eq!(sent[0].fields["rpc.service"], "user.UserService");
    let attempts = recorder.spans("Attempt.user.UserService.GetUser");
    let seen: Vec<(&str, &str, Option<&str>)> = attempts
        .iter()
        .map(|a| {
            (
                a.fields["previous-rpc-attempts"].as_str(),
                a.fields["otel.name"].as_str(),
                a.fields.get("rpc.grpc.status_code").map(String::as_str),
            )
        })
        .collect();
    let name = "Attempt.user.UserService.GetUser";
    assert_eq!(
        seen,
        [
            ("0", name, Some("14")),
            ("1", name, Some("14")),
            ("2", name, Some("0"))
        ]
    );
    assert!(attempts
        .iter()
        .all(|a| a.parent.as_deref() == Some("Sent.user.UserService.GetUser")));
    // The retry decisions are the call's events.
    let retries = recorder.events("retrying");
    assert_eq!(retries.len(), 2);
    assert!(retries
        .iter()
        .all(|e| e.span.as_deref() == Some("Sent.user.UserService.GetUser")));
}

#[tokio::test]
async fn a_timeout_only_method_through_the_layer_has_one_attempt_span() {
    let server = server([Fault::Fail(Code::Unavailable)]).await;
    let recorder = Recorder::default();
    let _guard = recorder.install();
    let layer = steadfast::tonic::ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "5s"}]}"#,
    )
    .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(server.addr));
    let status = steadfast_examples::user::user_service_client::UserServiceClient::new(channel)
        .get_user(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    let sent = recorder.spans("Sent.user.UserService.GetUser");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].fields["otel.name"], "Sent.user.UserService.GetUser");
    assert_eq!(sent[0].fields["rpc.grpc.status_code"], "14");
    let attempts = recorder.spans("Attempt.user.UserService.GetUser");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].fields["previous-rpc-attempts"], "0");
    assert_eq!(attempts[0].fields["rpc.grpc.status_code"], "14");
    assert_eq!(
        attempts[0].parent.as_deref(),
        Some("Sent.user.UserService.GetUser")
    );
}

/// What an OpenTelemetry backend shows of one span: its own name, and the
/// names and values of its fields (the fields that differ by call left out).
fn convention(span: &SeenSpan) -> (String, Vec<(String, String)>) {
    let fields = span
        .fields
        .iter()
        .filter(|(k, _)| k.as_str() != "grpc.deadline_ms")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (span.name.clone(), fields)
}

#[tokio::test]
async fn generated_clients_and_the_layer_name_and_fill_their_spans_alike() {
    let faults = || [Fault::Fail(Code::Unavailable)];
    let generated = {
        let server = server(faults()).await;
        let recorder = Recorder::default();
        let _guard = recorder.install();
        ResilientUserServiceClient::new(channel(server.addr))
            .get_user(request())
            .await
            .unwrap();
        recorder
    };
    let layered = {
        let server = server(faults()).await;
        let recorder = Recorder::default();
        let _guard = recorder.install();
        common::layered_users(server.addr)
            .get_user(request())
            .await
            .unwrap();
        recorder
    };
    for name in [
        "Sent.user.UserService.GetUser",
        "Attempt.user.UserService.GetUser",
    ] {
        let ours: Vec<_> = generated.spans(name).iter().map(convention).collect();
        let layer: Vec<_> = layered.spans(name).iter().map(convention).collect();
        assert_eq!(ours.len(), if name.starts_with("Sent") { 1 } else { 2 });
        assert_eq!(ours, layer, "{name}");
    }
    // Named `Sent` and `Attempt`, their A72 names in `otel.name`; the
    // successful attempt's status recorded as 0 on both paths.
    let attempts = layered.spans("Attempt.user.UserService.GetUser");
    assert_eq!(attempts[1].name, "Attempt");
    assert_eq!(attempts[1].fields["rpc.grpc.status_code"], "0");
}

#[tokio::test]
async fn every_span_of_a_generated_call_has_the_target_steadfast() {
    use tracing_subscriber::filter::{LevelFilter, Targets};

    let server = server([Fault::Fail(Code::Unavailable)]).await;
    let recorder = Recorder::default();
    // One filter, the crate's name: nothing of the call may be missing. The
    // generated client lives in `steadfast_examples::user`, which a plain
    // prefix `steadfast` would also let through: turned off here, so that a
    // span carrying the user's module as its target is lost.
    let filtered = recorder.clone().with_filter(
        Targets::new()
            .with_target("steadfast", LevelFilter::INFO)
            .with_target("steadfast_examples", LevelFilter::OFF),
    );
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(filtered));
    ResilientUserServiceClient::new(channel(server.addr))
        .get_user(request())
        .await
        .unwrap();
    assert_eq!(recorder.spans("Sent.user.UserService.GetUser").len(), 1);
    let attempts = recorder.spans("Attempt.user.UserService.GetUser");
    assert_eq!(attempts.len(), 2);
    assert_eq!(recorder.spans("Recv.user.UserService.GetUser").len(), 2);
    // The retry event has its call span for parent, not nothing.
    let retries = recorder.events("retrying");
    assert_eq!(retries.len(), 1);
    assert_eq!(
        retries[0].span.as_deref(),
        Some("Sent.user.UserService.GetUser")
    );
}

/// A refusal is an event naming the limit and its kind; a keyed limit's
/// names the key too (its metric does not: one series per key).
#[tokio::test]
async fn a_refusal_is_an_event_naming_the_limit_and_the_key_of_a_keyed_one() {
    use steadfast::{KeyedRateLimiter, RateLimiter};
    static ORDERS: RateLimiter = RateLimiter::per_second(1).burst(1).named("orders");
    static PER_USER: KeyedRateLimiter =
        KeyedRateLimiter::new(RateLimiter::per_second(1).burst(1).named("per-user"));

    let recorder = Recorder::default();
    let _guard = recorder.install();
    ORDERS.try_acquire().unwrap();
    ORDERS.try_acquire().unwrap_err();
    PER_USER.try_acquire_key("ada").unwrap();
    PER_USER.try_acquire_key("ada").unwrap_err();

    let refused: Vec<_> = recorder
        .events("refused by a limit")
        .into_iter()
        .map(|e| e.fields)
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].get("limit").map(String::as_str), Some("orders"));
    assert_eq!(refused[0].get("kind").map(String::as_str), Some("rate"));
    assert_eq!(refused[0].get("key"), None);
    assert_eq!(
        refused[1].get("limit").map(String::as_str),
        Some("per-user")
    );
    assert_eq!(refused[1].get("key").map(String::as_str), Some("\"ada\""));
}
