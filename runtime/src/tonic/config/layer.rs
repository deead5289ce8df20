//! [`ServiceConfigLayer`] and the service it makes: each call looked up by
//! its path, and run under its method's timeout, retries or hedges. The
//! first attempt's request body is recorded as it is sent (up to a limit)
//! and replayed for the next; a call is committed when response headers
//! without `grpc-status` arrive, so trailers-only failures (and HTTP errors
//! without gRPC headers, mapped as the gRPC spec says) are retried.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version};
use tonic::body::Body;
use tonic::{Code, Status};

use super::body::{Collected, Recording};
use super::outcome::{code_of, judge, Outcome};
use super::spans;
use super::{AttemptPolicy, CodeSet, MethodPolicy, ServiceConfig, ServiceConfigError, Throttle};
use crate::hedge::HedgePolicy;
use crate::retry::{ByRetryable, Next, RetryState, Verdict};
use crate::tonic::client::{stamp, PREVIOUS_ATTEMPTS_NAME};
use crate::tonic::guard::{guard_response, GuardFuture, Guarded};
use crate::tonic::metrics::{AttemptStats, CallStats, Target};
use crate::tonic::rule;
use crate::tonic::timeout::TIMEOUT_NAME;
use crate::tonic::{effective_code, parse_timeout, Pushback};
use crate::{Backoff, RetryPolicy};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How much of a request body is kept for sending it again: 256 KiB, as
/// grpc-go's default retry buffer (and generated clients' for a streamed
/// request). A call that sent more is committed: no retry, no hedge.
pub(crate) use crate::tonic::streamed::DEFAULT_BUFFER_LIMIT;

/// A gRPC service config applied under a tonic client: per method
/// (`/package.Service/Method`, then the service's entry, then the global
/// one), its `timeout` bounds the call, its `retryPolicy` or
/// `hedgingPolicy` runs the attempts, and `retryThrottling` is one A6
/// budget for all of them (one per layer: make one per channel).
///
/// ```
/// use steadfast::tonic::ServiceConfigLayer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = ServiceConfigLayer::from_json(r#"{
///   "methodConfig": [{
///     "name": [{"service": "user.UserService"}],
///     "timeout": "2s",
///     "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
///                     "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
///   }]
/// }"#)?;
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
/// // let mut client = UserServiceClient::new(channel); // tonic's own generated client
/// # let _ = channel;
/// # Ok(())
/// # }
/// ```
///
/// The call's own timeout (`Request::set_timeout`) and any deadline scope
/// around it bound the call too; each attempt carries what is left as
/// `grpc-timeout`, and retries carry `grpc-previous-rpc-attempts`. The
/// timeout covers the call until its response headers arrive; a response
/// stream is bounded by the server, which got the deadline.
#[derive(Debug, Clone)]
pub struct ServiceConfigLayer {
    config: Arc<ServiceConfig>,
    buffer_limit: usize,
}

impl ServiceConfigLayer {
    /// The layer of a service config (JSON); a malformed config is an error
    /// that lists each problem and where it is.
    ///
    /// ```
    /// let error = steadfast::tonic::ServiceConfigLayer::from_json(
    ///     r#"{"methodConfig": [{"name": [{}], "timeout": "soon"}]}"#,
    /// )
    /// .unwrap_err();
    /// assert!(error.to_string().starts_with("service config: methodConfig[0].timeout:"));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ServiceConfigError> {
        Ok(Self::new(ServiceConfig::from_json(text)?))
    }

    /// The layer of `config`.
    ///
    /// ```
    /// use steadfast::tonic::{ServiceConfig, ServiceConfigLayer};
    /// let config = ServiceConfig::from_json(r#"{"methodConfig": []}"#).unwrap();
    /// let _layer = ServiceConfigLayer::new(config);
    /// ```
    pub fn new(config: ServiceConfig) -> Self {
        Self {
            config: Arc::new(config),
            buffer_limit: DEFAULT_BUFFER_LIMIT,
        }
    }

    /// Keeps up to `bytes` of each request body for retries and hedges
    /// (default 256 KiB, as grpc-go); a larger request is sent once.
    ///
    /// ```
    /// use steadfast::tonic::ServiceConfigLayer;
    /// let layer = ServiceConfigLayer::from_json("{}").unwrap().buffer_limit(1 << 20);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn buffer_limit(mut self, bytes: usize) -> Self {
        self.buffer_limit = bytes;
        self
    }
}

impl<S> tower_layer::Layer<S> for ServiceConfigLayer {
    type Service = ServiceConfigService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServiceConfigService {
            inner,
            config: Arc::clone(&self.config),
            buffer_limit: self.buffer_limit,
        }
    }
}

/// The service made by [`ServiceConfigLayer`]: clones share the config and
/// its retry budget.
///
/// ```
/// use steadfast::tonic::ServiceConfigLayer;
/// use tower_layer::Layer;
///
/// let layer = ServiceConfigLayer::from_json("{}").unwrap();
/// let service = layer.layer(());
/// assert_eq!(*service.get_ref(), ());
/// ```
#[derive(Debug, Clone)]
pub struct ServiceConfigService<S> {
    inner: S,
    config: Arc<ServiceConfig>,
    buffer_limit: usize,
}

impl<S> ServiceConfigService<S> {
    /// The wrapped service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// let service = steadfast::tonic::ServiceConfigLayer::from_json("{}").unwrap().layer(7);
    /// assert_eq!(*service.get_ref(), 7);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, RB> tower_service::Service<Request<Body>> for ServiceConfigService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    RB: Send + 'static,
{
    /// Guarded (see [`ResponseGuard`](crate::tonic::ResponseGuard)):
    /// what tonic would panic on is replaced by an `INTERNAL` status.
    type Response = Response<Guarded<RB>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Guarded<RB>>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The service polled ready takes this call; its clone stays for the next.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let limit = self.buffer_limit;
        match self.config.policy(request.uri().path()) {
            None => Box::pin(GuardFuture::new(ready.call(request))),
            Some(MethodPolicy {
                timeout,
                attempts: None,
            }) => Box::pin(run_once(ready, *timeout, request, limit)),
            Some(MethodPolicy {
                timeout,
                attempts: Some(attempts),
            }) => Box::pin(run(ready, *timeout, attempts.clone(), request, limit)),
        }
    }
}

/// One call under its method's policy. Every outcome is a response: a
/// failure the policy gives up on is the last attempt's (a transport error
/// as the status tonic would have made of it).
///
/// What needs no waiting is done here, before the call's future is made:
/// that future is boxed and moved, and an async layer stores what it
/// captures as well as the futures it awaits (BENCHMARKS.md, section 9).
fn run<S, RB>(
    mut ready: S,
    timeout: Option<Duration>,
    policy: AttemptPolicy,
    request: Request<Body>,
    limit: usize,
) -> impl Future<Output = Result<Response<Guarded<RB>>, S::Error>>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: Into<BoxError>,
{
    let timeout = call_timeout(timeout, &request);
    let (parts, body) = request.into_parts();
    let template = Template {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        extensions: KeptExtensions::of(&parts.extensions),
    };
    // The first attempt sends the caller's own, lent to it: moved through
    // the retry or hedge path, they would be stored at every step.
    let mut caller = Some(CallerParts {
        headers: parts.headers,
        extensions: parts.extensions,
    });
    let span = spans::call(template.uri.path());
    // gRPC A66/A96 metrics (feature `opentelemetry`); the channel's target
    // is not the layer's to see: "other".
    let hedged = matches!(policy, AttemptPolicy::Hedge(..));
    let method = template.uri.path().trim_start_matches('/');
    let stats = CallStats::start_owned(method, hedged, &Target::OTHER);
    async move {
        let attempts = Attempts {
            template: &template,
            span: &span,
            stats: &stats,
            limit,
        };
        // Made in place inside `Bounded`: a future held as a local, then
        // awaited, would be stored twice.
        let answer = Bounded::new(timeout, async {
            let answer = match &policy {
                AttemptPolicy::Retry(retry, codes) => {
                    attempts
                        .retried(&mut ready, body, &mut caller, retry, *codes)
                        .await
                }
                // Boxed: its five attempt slots would make every call's
                // future (moved as it is made) several times larger.
                AttemptPolicy::Hedge(hedge, codes) => {
                    Box::pin(attempts.hedged(&mut ready, body, &mut caller, hedge, *codes)).await
                }
            };
            spans::record(&span, &answer.response);
            answer
        })
        .await;
        // The call span is not entered around the call: its attempts name
        // it as their parent and its decisions enter it.
        stats.finish_code(answer.code);
        Ok(answer.response)
    }
}

/// A call to a method whose policy is a timeout only: one attempt, the
/// caller's request itself, stamped as it goes (nothing is kept for an
/// attempt that will never be made). A body ready whole within `limit` (a
/// unary request) goes as one chunk that ends the stream, as a retried
/// call's does: tonic's own body sends a second, empty DATA frame to end it.
fn run_once<S, RB>(
    mut ready: S,
    timeout: Option<Duration>,
    request: Request<Body>,
    limit: usize,
) -> impl Future<Output = Result<Response<Guarded<RB>>, S::Error>>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
{
    let timeout = call_timeout(timeout, &request);
    let path = request.uri().path();
    let span = spans::call(path);
    let stats = CallStats::start_owned(path.trim_start_matches('/'), false, &Target::OTHER);
    let attempt_span = spans::attempt(&span, path, 0);
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, Collected::ready(body, limit).into_body());
    // Lent to the attempt, which takes it when the service is ready: moved
    // into it, the request would be stored twice in the call's future.
    let mut request = Some(request);
    async move {
        let answer = Bounded::new(timeout, async {
            let whole = Whole(&mut request);
            let answer = Answer::of(attempt(attempt_span, &stats, &mut ready, whole).await);
            spans::record(&span, &answer.response);
            answer
        })
        .await;
        stats.finish_code(answer.code);
        Ok(answer.response)
    }
}

/// The call's own timeout (`Request::set_timeout`, sent down as
/// `grpc-timeout`) and the config's: the shorter bounds the whole call,
/// retries included.
fn call_timeout(config: Option<Duration>, request: &Request<Body>) -> Option<Duration> {
    let own = request
        .headers()
        .get(&TIMEOUT_NAME)
        .and_then(|value| parse_timeout(value.as_bytes()).ok());
    match (config, own) {
        (Some(config), Some(own)) => Some(config.min(own)),
        (config, own) => config.or(own),
    }
}

pin_project_lite::pin_project! {
    /// A call bounded by its timeout, when it has one: `DEADLINE_EXCEEDED`
    /// when the timeout runs out, or when the call failed at or after it
    /// with a code that reports a timeout (`rule::reports_timeout`: the
    /// server's copy of the deadline may run out first), as for every
    /// other client.
    #[project = BoundedProj]
    enum Bounded<F> {
        Free { #[pin] call: F },
        Timed { #[pin] call: crate::deadline::Timed<F> },
    }
}

impl<F: Future> Bounded<F> {
    fn new(timeout: Option<std::time::Duration>, call: F) -> Self {
        match timeout {
            None => Bounded::Free { call },
            Some(timeout) => Bounded::Timed {
                call: crate::deadline::timed(timeout, call),
            },
        }
    }
}

impl<F, RB> Future for Bounded<F>
where
    F: Future<Output = Answer<RB>>,
{
    type Output = Answer<RB>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (result, until) = match self.project() {
            BoundedProj::Free { call } => return call.poll(cx),
            BoundedProj::Timed { call } => std::task::ready!(call.poll(cx)),
        };
        let expired = || {
            let status = Status::deadline_exceeded("deadline exceeded before a response");
            Answer::failed(status)
        };
        Poll::Ready(match result {
            Ok(answer) if crate::deadline::ran_out(until, rule::reports_timeout(answer.code)) => {
                expired()
            }
            Ok(answer) => answer,
            Err(_) => expired(),
        })
    }
}

/// A call's response and the status its headers say: `OK` for one
/// committed (its own status comes in its trailers). Carried with the
/// response so that nothing after the attempt reads its headers again.
struct Answer<RB> {
    response: Response<Guarded<RB>>,
    code: Code,
}

impl<RB> Answer<RB> {
    /// What the caller gets of an attempt's result.
    fn of(result: Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>) -> Self {
        let code = result_code(&result);
        let response = result.unwrap_or_else(|failure| failure.response);
        Self { response, code }
    }

    /// A call that ends with `status`, made here.
    fn failed(status: Status) -> Self {
        Self {
            code: status.code(),
            response: status.into_http(),
        }
    }
}

/// The parts of the call's request, for making each attempt's.
struct Template {
    method: Method,
    uri: Uri,
    version: Version,
    /// A copy of the caller's headers, kept as a list: the first attempt
    /// sends the caller's own map, and a map is made again only for an
    /// attempt after it (a copied map costs every call two allocations and
    /// a hash of each name).
    headers: Vec<(HeaderName, HeaderValue)>,
    extensions: KeptExtensions,
}

/// What of the caller's request its call's first attempt sends as it is.
struct CallerParts {
    headers: HeaderMap,
    extensions: http::Extensions,
}

/// The call's request extensions, as kept for its later attempts (the
/// first sends the caller's own). Most hold only tonic's `GrpcMethod`, kept
/// as itself: a copy of the map would cost every call three allocations
/// for attempts that are seldom made.
enum KeptExtensions {
    Method(tonic::GrpcMethod<'static>),
    Copied(http::Extensions),
}

impl KeptExtensions {
    fn of(extensions: &http::Extensions) -> Self {
        match extensions.get::<tonic::GrpcMethod<'static>>() {
            Some(method) if extensions.len() == 1 => Self::Method(method.clone()),
            _ => Self::Copied(extensions.clone()),
        }
    }

    /// The extensions again, for a later attempt.
    fn extensions(&self) -> http::Extensions {
        match self {
            Self::Method(method) => {
                let mut extensions = http::Extensions::new();
                extensions.insert(method.clone());
                extensions
            }
            Self::Copied(extensions) => extensions.clone(),
        }
    }
}

impl Template {
    /// The request of the attempt that `previous` attempts came before,
    /// stamped with what is left of the deadline (or the status that stops
    /// it: the deadline has passed); with the `caller`'s own headers and
    /// extensions (the first attempt), or copies of them.
    fn request(
        &self,
        body: Body,
        previous: u32,
        caller: Option<CallerParts>,
    ) -> Result<Request<Body>, Status> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        match caller {
            Some(CallerParts {
                headers,
                extensions,
            }) => {
                *request.headers_mut() = headers;
                *request.extensions_mut() = extensions;
            }
            None => {
                // With room for what the stamp adds.
                let headers = request.headers_mut();
                headers.reserve(self.headers.len() + 2);
                for (name, value) in &self.headers {
                    headers.append(name, value.clone());
                }
                *request.extensions_mut() = self.extensions.extensions();
            }
        }
        stamp(request.headers_mut())?;
        if previous > 0 {
            let headers = request.headers_mut();
            headers.insert(&PREVIOUS_ATTEMPTS_NAME, HeaderValue::from(previous));
        }
        Ok(request)
    }
}

/// Where an attempt's request comes from, made once the service is ready:
/// inside the attempt's span (traceparent) and scope, as it goes out.
trait MakeRequest {
    fn make(&mut self) -> Result<Request<Body>, Status>;
}

/// The request of the attempt that `previous` attempts came before, remade
/// from the call's template.
struct FromTemplate<'a> {
    template: &'a Template,
    body: Option<Body>,
    previous: u32,
    /// The caller's own headers and extensions until the first attempt
    /// made takes them.
    caller: &'a mut Option<CallerParts>,
}

impl MakeRequest for FromTemplate<'_> {
    fn make(&mut self) -> Result<Request<Body>, Status> {
        let Some(body) = self.body.take() else {
            // Unreachable: an attempt makes its request once.
            return Err(Status::internal("attempt polled after it was sent"));
        };
        self.template
            .request(body, self.previous, self.caller.take())
    }
}

/// The caller's request itself, for a call's only attempt.
struct Whole<'a>(&'a mut Option<Request<Body>>);

impl MakeRequest for Whole<'_> {
    fn make(&mut self) -> Result<Request<Body>, Status> {
        let Some(mut request) = self.0.take() else {
            // Unreachable: an attempt makes its request once.
            return Err(Status::internal("attempt polled after it was sent"));
        };
        stamp(request.headers_mut())?;
        Ok(request)
    }
}

/// An attempt that failed before its response was committed.
struct Failure<RB> {
    code: Code,
    pushback: Pushback,
    /// What the caller gets if this is the last attempt.
    response: Response<RB>,
}

impl<RB> Failure<Guarded<RB>> {
    fn status(status: Status) -> Self {
        Self {
            code: effective_code(&status),
            pushback: Pushback::Absent,
            response: status.into_http(),
        }
    }

    /// The transport failed: the status tonic would make of the error.
    fn transport(error: impl Into<BoxError>) -> Self {
        Self::status(Status::from_error(error.into()))
    }

    /// The one rule's verdict (`tonic::rule`): retried (or, for a hedge,
    /// not fatal) when its code is one of `codes` and no pushback said stop.
    fn verdict(&self, codes: CodeSet) -> Verdict {
        rule::verdict(self.code, self.pushback, codes.contains(self.code))
    }
}

/// One attempt, in its `span`: sent on `service` once it is ready, with
/// the request `make` gives then, and judged by its response headers. The
/// service is lent, not given: the call's next attempt uses it again
/// (polled ready again), where a clone per attempt would cost a `Channel`
/// an allocation or two.
fn attempt<'a, S, RB, M>(
    span: crate::trace::Span,
    stats: &'a CallStats,
    service: &'a mut S,
    make: M,
) -> Attempt<'a, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    let sending = crate::trace::in_span(Clone::clone(&span), Sending::Ready { service, make });
    Attempt {
        span,
        stats: Some(stats.attempt()),
        sending,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`attempt`], by hand: an `async fn` would keep its
    /// arguments beside the send it moves them into.
    struct Attempt<'a, S, M, F> {
        span: crate::trace::Span,
        stats: Option<AttemptStats<'a>>,
        #[pin]
        sending: crate::trace::InSpan<Sending<'a, S, M, F>>,
    }
}

impl<S, RB, M> Future for Attempt<'_, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    type Output = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.sending.poll(cx));
        let response = match &result {
            Ok(response) => response,
            Err(failure) => &failure.response,
        };
        spans::record(this.span, response);
        if let Some(stats) = this.stats.take() {
            stats.end_code(result_code(&result));
        }
        Poll::Ready(result)
    }
}

pin_project_lite::pin_project! {
    /// An attempt's send, by hand: an `async fn` would store the service
    /// and the request twice, and every attempt's future is moved and lives
    /// in the call's boxed future (kept small: BENCHMARKS.md, section 9).
    #[project = SendingProj]
    enum Sending<'a, S, M, F> {
        /// Waiting for the service to be ready.
        Ready { service: &'a mut S, make: M },
        /// Waiting for the response headers.
        Called { #[pin] future: F },
    }
}

impl<S, RB, M> Future for Sending<'_, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    type Output = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                SendingProj::Ready { service, make } => {
                    if let Err(error) = std::task::ready!(service.poll_ready(cx)) {
                        return Poll::Ready(Err(Failure::transport(error)));
                    }
                    let request = match make.make() {
                        Ok(request) => request,
                        Err(status) => return Poll::Ready(Err(Failure::status(status))),
                    };
                    let future = service.call(request);
                    self.set(Sending::Called { future });
                }
                SendingProj::Called { future } => {
                    let response =
                        std::task::ready!(future.poll(cx)).map_err(Failure::transport)?;
                    // Guarded first: a status tonic would panic on is
                    // judged as the `INTERNAL` it becomes.
                    let response = guard_response(response);
                    return Poll::Ready(match judge(response.status(), response.headers()) {
                        Outcome::Committed => Ok(response),
                        Outcome::Failed { code, pushback } => Err(Failure {
                            code,
                            pushback,
                            response,
                        }),
                    });
                }
            }
        }
    }
}

/// What each attempt of a call needs: the request to remake, the call's
/// span (the attempts' parent), the body limit.
struct Attempts<'a> {
    template: &'a Template,
    span: &'a crate::trace::Span,
    stats: &'a CallStats,
    limit: usize,
}

/// The status the caller reads of an attempt's result: `OK` for one
/// committed (its own status comes in its trailers), what a failed one's
/// response says otherwise (for a transport error that may differ from the
/// code retries go by, `Failure::code`: see `effective_code`).
fn result_code<RB>(result: &Result<Response<RB>, Failure<RB>>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(failure) => code_of(&failure.response),
    }
}

impl<'a> Attempts<'a> {
    /// The attempt that `previous` attempts came before, in its span (with
    /// the `caller`'s own headers and extensions if it is the first sent).
    fn send<'s, S, RB>(
        &self,
        service: &'s mut S,
        body: Body,
        previous: u32,
        caller: &'s mut Option<CallerParts>,
    ) -> Attempt<'s, S, FromTemplate<'s>, S::Future>
    where
        'a: 's,
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        let span = spans::attempt(self.span, self.template.uri.path(), previous);
        let make = FromTemplate {
            template: self.template,
            body: Some(body),
            previous,
            caller,
        };
        attempt(span, self.stats, service, make)
    }

    /// A call of one attempt: a hedged request too large to keep.
    async fn once<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        caller: &mut Option<CallerParts>,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        Answer::of(self.send(service, body, 0, caller).await)
    }

    /// gRPC A6 retries: the runtime's `RetryState` decides; the body is
    /// replayed from its record (then sent on as it comes), and a failure
    /// whose body cannot be replayed (more was sent than the limit keeps) is
    /// the call's.
    async fn retried<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        caller: &mut Option<CallerParts>,
        policy: &RetryPolicy<Backoff, ByRetryable, Throttle>,
        codes: CodeSet,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
        S::Error: Into<BoxError>,
    {
        // A request already whole (a unary call's) is kept before it is
        // sent, so that an attempt whose connection broke before sending it
        // can be made again (a small one as a copy, and each attempt sends a
        // copy of its own); a streamed one is recorded as the first attempt
        // sends it.
        let (recording, mut body) = match Collected::ready(body, self.limit) {
            Collected::Whole(chunks) => (Recording::whole(chunks), None),
            Collected::TooLarge(body) => {
                let (recording, body) = Recording::tee(body, self.limit);
                (recording, Some(body))
            }
        };
        let mut state = RetryState::new(policy);
        loop {
            let Some(attempt_body) = body.take().or_else(|| recording.replay()) else {
                // Unreachable: a retry is only made with a replayable body.
                return Answer::failed(Status::internal("request body not replayable"));
            };
            // The attempt's outcome is scoped to this block: a local of the
            // loop's body would keep its (response-sized) place in the
            // call's future through the backoff sleep, even once moved.
            let delay = {
                let previous = state.previous_attempts();
                let result = state
                    .begin_as(false, self.send(service, attempt_body, previous, caller))
                    .await;
                if result.is_err() && !recording.replayable() {
                    return Answer::of(result);
                }
                // Decided inside the call's span: its events are the call's.
                let _decided = crate::trace::enter(self.span);
                match state.end(result, |failure| failure.verdict(codes)) {
                    Next::Return(result) => {
                        // Committed: a stream's record is kept no longer
                        // (the rest of the stream goes as it comes).
                        recording.commit();
                        return Answer::of(result);
                    }
                    Next::Retry { delay, .. } => delay,
                }
            };
            self.stats.delayed(delay);
            tokio::time::sleep(delay).await;
        }
    }

    /// gRPC A6 hedging: the runtime's `hedge` runs the attempts; each sends the
    /// whole request body. Only a body ready whole when the call is made (a
    /// unary request, a stream whose messages are all there) is hedged: one
    /// that must be waited for may be a bidi call whose requests depend on
    /// its responses, and would wait on itself. It is sent once, as is a
    /// body over the limit.
    async fn hedged<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        caller: &mut Option<CallerParts>,
        policy: &HedgePolicy<Throttle>,
        codes: CodeSet,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
        S::Error: Into<BoxError>,
    {
        let chunks = match Collected::ready(body, self.limit) {
            Collected::Whole(chunks) => chunks,
            Collected::TooLarge(body) => return self.once(service, body, caller).await,
        };
        // The service polled ready goes with the first hedge; the others
        // clone the one left in its place.
        let spare = service.clone();
        let mut first = Some(std::mem::replace(service, spare));
        // Lent as `&mut`: a shared `&S` would ask `S: Sync` of the future.
        let spare = service;
        let chunks = &chunks;
        let mut first_caller = caller.take();
        let make = move |number: u32| {
            // Hedges run at once: each has a service of its own.
            let mut service = first.take().unwrap_or_else(|| spare.clone());
            let mut caller = first_caller.take();
            async move {
                self.send(&mut service, Collected::body(chunks), number, &mut caller)
                    .await
            }
        };
        let verdict = |failure: &Failure<Guarded<RB>>| failure.verdict(codes);
        Answer::of(crate::hedge::hedge(policy, make, verdict).await)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use tower_layer::Layer;
    use tower_service::Service;

    use super::*;

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

    /// What a call's request held: the values of its `x-tag` header, and
    /// in its extensions tonic's method, the marker, how many.
    #[derive(Debug, Clone, PartialEq)]
    struct Seen {
        tags: Vec<String>,
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
            self.seen.lock().unwrap().push(Seen {
                tags: tags.map(|v| v.to_str().unwrap().to_owned()).collect(),
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

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn retries_reuse_the_calls_service_polled_ready_again() {
        let layer = ServiceConfigLayer::from_json(
            r#"{"methodConfig": [{"name": [{"service": "a.B"}], "retryPolicy": {
                "maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        )
        .unwrap();
        let transport = Counted::new(2);
        let (clones, calls) = (Arc::clone(&transport.clones), Arc::clone(&transport.calls));
        let mut service = layer.layer(transport);
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        let request = Request::builder()
            .uri("/a.B/C")
            .body(Body::empty())
            .unwrap();
        let response = service.call(request).await.unwrap();
        assert!(
            response.headers().get("grpc-status").is_none(),
            "{response:?}"
        );
        assert_eq!(calls.load(SeqCst), 3, "two failures, then the success");
        // One clone for the call (tower's idiom: the service polled ready
        // goes with it); its retries reuse it.
        assert_eq!(clones.load(SeqCst), 1);
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

    fn expected(marker: Option<Marker>) -> Vec<Seen> {
        let one = Seen {
            tags: vec!["one".to_owned(), "two".to_owned()],
            method: Some(("a.B".to_owned(), "C".to_owned())),
            marker,
            len: 1 + usize::from(marker.is_some()),
        };
        vec![one; 3]
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn every_retry_carries_the_callers_headers_and_extensions() {
        let seen = requests_sent(
            r#"{"methodConfig": [{"name": [{"service": "a.B"}], "retryPolicy": {
                "maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        )
        .await;
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
}
