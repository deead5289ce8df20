//! Client side: outgoing calls carry what is left of the deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::metadata::MetadataMap;
use ::tonic::Status;
use http::{HeaderMap, HeaderValue};
use pin_project_lite::pin_project;

use super::guard::{GuardFuture, Guarded};
use super::timeout::{encode_timeout_value, parse_timeout, TIMEOUT_NAME};
use crate::{deadline, retry};

/// The header that numbers a retried gRPC call (gRPC A6). Sent by
/// [`PropagateDeadline`] from the second attempt on.
///
/// ```
/// use steadfast::__private::PREVIOUS_ATTEMPTS_HEADER;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(PREVIOUS_ATTEMPTS_HEADER, http::HeaderValue::from(2u32));
/// assert_eq!(headers["grpc-previous-rpc-attempts"], "2");
/// ```
pub const PREVIOUS_ATTEMPTS_HEADER: &str = "grpc-previous-rpc-attempts";

/// [`PREVIOUS_ATTEMPTS_HEADER`] as a parsed header name.
pub(in crate::tonic) static PREVIOUS_ATTEMPTS_NAME: http::HeaderName =
    http::HeaderName::from_static(PREVIOUS_ATTEMPTS_HEADER);

/// What to change in an outgoing request's headers, or the status to fail
/// it with before it touches the network.
pub(in crate::tonic) fn stamp(headers: &mut HeaderMap) -> Result<(), Status> {
    #[cfg(feature = "opentelemetry")]
    super::context::inject(headers);
    let previous = retry::previous_attempts();
    if previous > 0 {
        headers.insert(&PREVIOUS_ATTEMPTS_NAME, HeaderValue::from(previous));
    }
    let Some(remaining) = deadline::remaining() else {
        return Ok(());
    };
    if remaining.is_zero() {
        let mut status = Status::deadline_exceeded("deadline exceeded before the call was sent");
        // A refusal of this process's, for `LocalRefusal`.
        status.set_source(std::sync::Arc::new(crate::Elapsed::new()));
        return Err(status);
    }
    // The method's own timeout (`Request::set_timeout`), if shorter, stays.
    let own = headers
        .get(&TIMEOUT_NAME)
        .and_then(|v| parse_timeout(v.as_bytes()).ok())
        .unwrap_or(Duration::MAX);
    let timeout = remaining.min(own);
    if let Some(value) = encode_timeout_value(timeout) {
        headers.insert(&TIMEOUT_NAME, value);
    }
    Ok(())
}

/// A tonic interceptor that sends the current deadline as `grpc-timeout`,
/// fails calls whose deadline has passed with `DEADLINE_EXCEEDED` without
/// sending them, and numbers retried attempts with
/// `grpc-previous-rpc-attempts`.
///
/// For any generated client: `MyClient::with_interceptor(channel, PropagateDeadline)`.
/// [`PropagateDeadlineLayer`] does the same as a `tower::Layer`, and guards
/// the responses too; an interceptor sees no responses, so under one, guard
/// the channel yourself against what tonic would panic on (see
/// [`ResponseGuard`](super::ResponseGuard)):
/// `MyClient::with_interceptor(ResponseGuard::new(channel), PropagateDeadline)`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{deadline, tonic::PropagateDeadline};
/// use tonic::service::Interceptor;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let request = deadline::scope(Duration::from_millis(250), async {
///     PropagateDeadline.call(tonic::Request::new(())).unwrap()
/// })
/// .await
/// .unwrap();
/// assert_eq!(request.metadata().get("grpc-timeout").unwrap(), "250000u");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateDeadline;

impl ::tonic::service::Interceptor for PropagateDeadline {
    fn call(&mut self, mut request: ::tonic::Request<()>) -> Result<::tonic::Request<()>, Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        stamp(&mut headers)?;
        *request.metadata_mut() = MetadataMap::from_headers(headers);
        Ok(request)
    }
}

/// [`PropagateDeadline`] as a `tower::Layer`, for wrapping a `Channel`
/// under any generated client.
///
/// ```
/// use steadfast::tonic::PropagateDeadlineLayer;
///
/// # async fn connect() -> Result<(), Box<dyn std::error::Error>> {
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let channel = tower::ServiceBuilder::new().layer(PropagateDeadlineLayer).service(channel);
/// // let client = UserServiceClient::new(channel);
/// # let _ = channel;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateDeadlineLayer;

impl<S> tower_layer::Layer<S> for PropagateDeadlineLayer {
    type Service = PropagateDeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateDeadlineService { inner }
    }
}

/// The service made by [`PropagateDeadlineLayer`].
///
/// ```
/// use steadfast::tonic::PropagateDeadlineService;
/// let svc = PropagateDeadlineService::new(());
/// assert_eq!(svc.into_inner(), ());
/// ```
#[derive(Debug, Clone)]
pub struct PropagateDeadlineService<S> {
    inner: S,
}

impl<S> PropagateDeadlineService<S> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let _ = steadfast::tonic::PropagateDeadlineService::new(());
    /// ```
    pub const fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    ///
    /// ```
    /// assert_eq!(*steadfast::tonic::PropagateDeadlineService::new(3).get_ref(), 3);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// let mut svc = steadfast::tonic::PropagateDeadlineService::new(3);
    /// *svc.get_mut() += 1;
    /// assert_eq!(svc.into_inner(), 4);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    ///
    /// ```
    /// assert_eq!(steadfast::tonic::PropagateDeadlineService::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for PropagateDeadlineService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    /// Guarded (see [`ResponseGuard`](super::ResponseGuard)):
    /// what tonic would panic on is replaced by an `INTERNAL` status.
    type Response = http::Response<Guarded<RB>>;
    type Error = S::Error;
    type Future = GuardFuture<ResponseFuture<S::Future, RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        GuardFuture::new(match stamp(request.headers_mut()) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(status) => ResponseFuture::ready(status.into_http()),
        })
    }
}

pin_project! {
    /// The response future of the deadline services: the inner service's,
    /// or a gRPC error answered without calling it (on the client side
    /// inside a [`GuardFuture`]).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use steadfast::tonic::{GuardFuture, PropagateDeadlineLayer, ResponseFuture};
    /// use tower::{service_fn, Layer, Service};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut svc = PropagateDeadlineLayer.layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, Infallible>(http::Response::new(()))
    /// }));
    /// let future: GuardFuture<ResponseFuture<_, ()>> = svc.call(http::Request::new(()));
    /// assert!(future.await.is_ok());
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct ResponseFuture<F, RB> {
        #[pin]
        state: State<F, RB>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F, RB> {
        Inner { #[pin] future: F },
        Ready { response: Option<http::Response<RB>> },
    }
}

impl<F, RB> ResponseFuture<F, RB> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(super) fn ready(response: http::Response<RB>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }
}

impl<F, RB, E> Future for ResponseFuture<F, RB>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = Result<http::Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("`ResponseFuture` polled after completion"),
            },
        }
    }
}
