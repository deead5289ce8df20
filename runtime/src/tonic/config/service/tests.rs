//! The layer's service over a scripted transport: what each attempt
//! carries, and which service it is sent on.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use tower_layer::Layer;
use tower_service::Service;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use tonic::body::Body;
use tonic::Code;

use crate::tonic::config::{AttemptPolicy, BoxError, CodeSet, ServiceConfigLayer};

/// A transport whose first `fail` calls answer UNAVAILABLE (trailers
/// only) and whose later ones succeed; it counts its clones and calls,
/// keeps what each call's extensions held, and refuses a call it was
/// not polled ready for (tower's contract).
#[derive(Debug)]
struct Counted {
    clones: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    seen: Arc<std::sync::Mutex<Vec<Seen>>>,
    fail: usize,
    ready: bool,
}

impl Counted {
    fn new(fail: usize) -> Self {
        Self {
            clones: Arc::default(),
            calls: Arc::default(),
            seen: Arc::default(),
            fail,
            ready: false,
        }
    }
}

/// A caller's extension of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Marker(u32);

/// What a call's request held: the values of its `x-tag` header, its
/// `grpc-timeout` and `grpc-previous-rpc-attempts`, and in its extensions
/// tonic's method, the marker, how many.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    tags: Vec<String>,
    timeout: Option<String>,
    previous: Option<String>,
    method: Option<(String, String)>,
    marker: Option<Marker>,
    len: usize,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, SeqCst);
        Self {
            clones: Arc::clone(&self.clones),
            calls: Arc::clone(&self.calls),
            seen: Arc::clone(&self.seen),
            fail: self.fail,
            ready: false,
        }
    }
}

impl tower_service::Service<Request<Body>> for Counted {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        assert!(std::mem::take(&mut self.ready), "called without poll_ready");
        let extensions = request.extensions();
        let tags = request.headers().get_all("x-tag").iter();
        let header = |name| {
            let value = request.headers().get(name);
            value.map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        self.seen.lock().unwrap().push(Seen {
            tags: tags.map(|v| v.to_str().unwrap().to_owned()).collect(),
            timeout: header("grpc-timeout"),
            previous: header("grpc-previous-rpc-attempts"),
            method: extensions
                .get::<tonic::GrpcMethod<'static>>()
                .map(|m| (m.service().to_owned(), m.method().to_owned())),
            marker: extensions.get::<Marker>().copied(),
            len: extensions.len(),
        });
        let n = self.calls.fetch_add(1, SeqCst);
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        if n < self.fail {
            headers.insert("grpc-status", HeaderValue::from_static("14"));
        }
        std::future::ready(Ok(response))
    }
}

/// A request with an empty body to the method at `path`.
fn empty_request(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

/// Polls `service` ready, as tower asks before each `call`.
async fn polled_ready<S: Service<Request<Body>, Error = BoxError>>(service: &mut S) {
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
}

const RETRIED: &str = r#"{"methodConfig": [{"name": [{"service": "a.B"}], "retryPolicy": {
    "maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
    "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_retried_calls_first_attempt_is_sent_by_call_and_its_retries_reuse_one_clone() {
    let layer = ServiceConfigLayer::from_json(RETRIED).unwrap();
    for (fail, attempts) in [(2, 3), (0, 1)] {
        let transport = Counted::new(fail);
        let (clones, calls) = (Arc::clone(&transport.clones), Arc::clone(&transport.calls));
        let mut service = layer.layer(transport);
        polled_ready(&mut service).await;
        // Sent on the service polled ready, before the future is polled.
        let future = service.call(empty_request("/a.B/C"));
        assert_eq!(calls.load(SeqCst), 1, "the first attempt sent by `call`");
        let response = future.await.unwrap();
        assert!(
            response.headers().get("grpc-status").is_none(),
            "{response:?}"
        );
        assert_eq!(
            calls.load(SeqCst),
            attempts,
            "{fail} failures, then the success"
        );
        // One clone kept for the attempts after the first, made or not;
        // the retries reuse it, polled ready again.
        assert_eq!(clones.load(SeqCst), 1, "{fail} failures");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_retried_call_numbers_its_own_attempts_and_a_timeout_only_one_is_the_outer_loops() {
    let timeout_only = r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "2s"}]}"#;
    let mut sent = Vec::new();
    for config in [RETRIED, timeout_only] {
        let transport = Counted::new(1);
        let seen = Arc::clone(&transport.seen);
        let mut service = ServiceConfigLayer::from_json(config)
            .unwrap()
            .layer(transport);
        // Called as the third attempt of a retry loop around it.
        let outer = crate::retry::attempt(2, false, async {
            polled_ready(&mut service).await;
            service.call(empty_request("/a.B/C")).await.unwrap()
        });
        let response = outer.await;
        let code = response.headers().get("grpc-status").cloned();
        let numbers: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.previous.clone())
            .collect();
        sent.push((code, numbers));
    }
    let retried = (None, vec![None, Some("1".to_owned())]);
    let once = (
        Some(HeaderValue::from_static("14")),
        vec![Some("2".to_owned())],
    );
    assert_eq!(sent, [retried, once]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn calls_with_a_timeout_only_or_no_policy_are_sent_on_the_service_polled_ready_without_a_clone(
) {
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "2s"}]}"#,
    )
    .unwrap();
    let transport = Counted::new(0);
    let (clones, calls) = (Arc::clone(&transport.clones), Arc::clone(&transport.calls));
    let mut service = layer.layer(transport);
    for path in ["/a.B/C", "/other.D/E", "/a.B/C"] {
        polled_ready(&mut service).await;
        let request = empty_request(path);
        // Sent when the layer is called: the transport has seen it before
        // the call's future is polled.
        let before = calls.load(SeqCst);
        let future = service.call(request);
        assert_eq!(calls.load(SeqCst), before + 1, "{path} sent by `call`");
        let response = future.await.unwrap();
        assert!(
            response.headers().get("grpc-status").is_none(),
            "{response:?}"
        );
    }
    let seen = service.get_ref().seen.lock().unwrap().len();
    assert_eq!((calls.load(SeqCst), seen), (3, 3));
    assert_eq!(
        clones.load(SeqCst),
        0,
        "no clone of the service for these calls"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_timeout_only_call_stamps_what_is_left_of_its_deadline_or_is_refused_once_it_passed() {
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "2s"}]}"#,
    )
    .unwrap();
    let transport = Counted::new(0);
    let seen = Arc::clone(&transport.seen);
    let mut service = layer.layer(transport);
    let mut call = || {
        let request = Request::builder()
            .uri("/a.B/C")
            .body(Body::empty())
            .unwrap();
        let ready = std::future::poll_fn(|cx| service.poll_ready(cx));
        assert!(ready_at_once(ready), "the transport is always ready");
        service.call(request)
    };
    let stamps = || -> Vec<Option<String>> {
        let seen = seen.lock().unwrap();
        seen.iter().map(|seen| seen.timeout.clone()).collect()
    };
    // The config's timeout, stamped whole (the paused clock stands still).
    let answer = call().await.unwrap();
    assert!(answer.headers().get("grpc-status").is_none());
    // Inside a caller's deadline of 300 ms, shorter than the config's.
    let answer = crate::deadline::scope(Duration::from_millis(300), async { call().await })
        .await
        .unwrap()
        .unwrap();
    assert!(answer.headers().get("grpc-status").is_none());
    let sent = ["2000000u", "300000u"].map(|s| Some(s.to_owned()));
    assert_eq!(stamps(), sent);
    // A caller whose deadline has passed: refused before the transport.
    let late = crate::deadline::scope(Duration::from_millis(10), async {
        // The call is made when the propagating future is first polled.
        Some(crate::deadline::propagate(async { call().await }))
    })
    .await
    .unwrap()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let answer = late.await.unwrap();
    assert_eq!(answer.headers()["grpc-status"], "4", "DEADLINE_EXCEEDED");
    assert_eq!(stamps(), sent, "nothing more was sent");
}

/// Whether `future` is ready at its first poll.
fn ready_at_once<F: std::future::Future<Output = Result<(), BoxError>>>(future: F) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let future = std::pin::pin!(future);
    matches!(future.poll(&mut cx), Poll::Ready(Ok(())))
}

/// A request as tonic's client makes it: its method in the extensions,
/// and `marker` beside it if given; a header of two values.
fn tonic_request(marker: Option<Marker>) -> Request<Body> {
    let mut request = Request::builder()
        .uri("/a.B/C")
        .header("x-tag", "one")
        .header("x-tag", "two")
        .body(Body::empty())
        .unwrap();
    let extensions = request.extensions_mut();
    extensions.insert(tonic::GrpcMethod::new("a.B", "C"));
    if let Some(marker) = marker {
        extensions.insert(marker);
    }
    request
}

/// Calls `config`'s layer over a transport failing twice, with and
/// without an extension of the caller's own, and returns what each
/// call's attempts carried.
async fn requests_sent(config: &str) -> Vec<Vec<Seen>> {
    let layer = ServiceConfigLayer::from_json(config).unwrap();
    let mut seen = Vec::new();
    for marker in [None, Some(Marker(7))] {
        let transport = Counted::new(2);
        let record = Arc::clone(&transport.seen);
        let mut service = layer.layer(transport);
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        let response = service.call(tonic_request(marker)).await.unwrap();
        assert!(response.headers().get("grpc-status").is_none());
        seen.push(record.lock().unwrap().clone());
    }
    seen
}

/// The three attempts' requests: each numbered, the rest as the caller's.
fn expected(marker: Option<Marker>) -> Vec<Seen> {
    let attempt = |previous: Option<&str>| Seen {
        tags: vec!["one".to_owned(), "two".to_owned()],
        timeout: None,
        previous: previous.map(str::to_owned),
        method: Some(("a.B".to_owned(), "C".to_owned())),
        marker,
        len: 1 + usize::from(marker.is_some()),
    };
    vec![attempt(None), attempt(Some("1")), attempt(Some("2"))]
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_retry_carries_the_callers_headers_and_extensions() {
    let seen = requests_sent(RETRIED).await;
    assert_eq!(seen, [expected(None), expected(Some(Marker(7)))]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_hedge_carries_the_callers_headers_and_extensions() {
    let seen = requests_sent(
        r#"{"methodConfig": [{"name": [{"service": "a.B"}], "hedgingPolicy": {
            "maxAttempts": 3, "hedgingDelay": "0.01s",
            "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .await;
    assert_eq!(seen, [expected(None), expected(Some(Marker(7)))]);
}

#[test]
fn a_code_set_holds_the_codes_written() {
    let set = CodeSet::of(&["UNAVAILABLE".to_owned(), "4".to_owned()]);
    assert!(set.contains(Code::Unavailable));
    assert!(set.contains(Code::DeadlineExceeded));
    assert!(!set.contains(Code::Ok));
    assert!(!set.contains(Code::Internal));
    assert!(!CodeSet::default().contains(Code::Unavailable));
}

#[test]
fn a_retry_policy_is_read_with_its_timeout_and_codes() {
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "1s",
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s",
            "maxBackoff": "0.01s", "backoffMultiplier": 1,
            "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"]}}]}"#,
    )
    .unwrap();
    let policy = layer.config.policy("/a.B/C").unwrap();
    assert_eq!(policy.timeout, Some(Duration::from_secs(1)));
    let Some(AttemptPolicy::Retry(retry, codes)) = &policy.attempts else {
        panic!("a retry policy: {policy:?}");
    };
    assert_eq!(retry.attempt_limit(), 3);
    assert!(codes.contains(Code::Aborted) && codes.contains(Code::Unavailable));
}

/// A transport that never answers and enforces no timeout of its own.
#[derive(Debug, Clone)]
struct Hung;

impl Service<Request<Body>> for Hung {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = std::future::Pending<Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        std::future::pending()
    }
}

/// Over a service that does not enforce `grpc-timeout` itself, the layer
/// arms its own timer: a hung call ends `DEADLINE_EXCEEDED` at the
/// config's timeout, with and without retries.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_hung_transport_of_any_kind_is_ended_at_the_timeout_by_the_layers_timer() {
    let once = r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "0.25s"}]}"#;
    let retried = r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "0.25s",
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
        "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;
    for config in [once, retried] {
        let mut service = ServiceConfigLayer::from_json(config).unwrap().layer(Hung);
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        let start = tokio::time::Instant::now();
        let response = service.call(tonic_request(None)).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(250), "{config}");
        assert_eq!(
            response.headers().get("grpc-status"),
            Some(&HeaderValue::from(Code::DeadlineExceeded as i32)),
            "{config}"
        );
    }
}

/// Only tonic's `Channel` (bare, or sending the deadline as
/// `steadfast::tonic::Channel`) is trusted to enforce the `grpc-timeout`
/// it sends (its `GrpcTimeout`): under any other layer, or any other
/// service, the layer keeps a timer of its own.
#[test]
fn only_tonics_channel_is_trusted_with_the_timeout() {
    use crate::tonic::config::call::enforces_grpc_timeout;
    #[cfg(feature = "channel")]
    {
        assert!(enforces_grpc_timeout::<tonic::transport::Channel>());
        assert!(enforces_grpc_timeout::<crate::tonic::Channel>());
        assert!(!enforces_grpc_timeout::<
            crate::tonic::ServiceConfigService<tonic::transport::Channel>,
        >());
    }
    assert!(!enforces_grpc_timeout::<Hung>());
    assert!(!enforces_grpc_timeout::<Counted>());
}

/// A transport whose first call fails `UNAVAILABLE` after 100 ms and
/// whose later ones never answer; it enforces no timeout of its own.
#[derive(Debug, Clone, Default)]
struct FailsLateThenHangs {
    calls: Arc<AtomicUsize>,
}

impl Service<Request<Body>> for FailsLateThenHangs {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<Body>, BoxError>> + Send>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        if self.calls.fetch_add(1, SeqCst) > 0 {
            return Box::pin(std::future::pending());
        }
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut response = Response::new(Body::empty());
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/grpc"));
            headers.insert("grpc-status", HeaderValue::from_static("14"));
            Ok(response)
        })
    }
}

/// The attempts after a failed first one run under the deadline the call
/// began with: through the layer's own timer (a transport that enforces
/// no `grpc-timeout`), a retry that hangs is ended at the config's
/// timeout from the call's start, not from the failure.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_retries_after_a_failed_first_attempt_end_at_the_deadline_the_call_began_with() {
    let retried = r#"{"methodConfig": [{"name": [{"service": "a.B"}], "timeout": "0.25s",
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
        "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;
    let transport = FailsLateThenHangs::default();
    let calls = Arc::clone(&transport.calls);
    let mut service = ServiceConfigLayer::from_json(retried)
        .unwrap()
        .layer(transport);
    polled_ready(&mut service).await;
    let start = tokio::time::Instant::now();
    let response = service.call(empty_request("/a.B/C")).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(response.headers()["grpc-status"], "4", "DEADLINE_EXCEEDED");
    assert_eq!(calls.load(SeqCst), 2, "the failure, then the hung retry");
    let (deadline, late) = (Duration::from_millis(250), Duration::from_millis(252));
    assert!((deadline..late).contains(&elapsed), "{elapsed:?}");
}
