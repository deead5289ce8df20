//! Server side: run each call inside the deadline its client sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::Status;
use pin_project_lite::pin_project;

use super::client::ResponseFuture;
use super::headers::find;
use super::timeout::{parse_timeout, TIMEOUT_NAME};
use crate::deadline::{self, Scope};

/// Default cap on a client's deadline: 5 minutes. [`DeadlineLayer`] also
/// gives this much time to calls that send no `grpc-timeout`.
pub(crate) const DEFAULT_MAX_DEADLINE: Duration = Duration::from_secs(300);

/// A `tower::Layer` for tonic servers that reads the client's
/// `grpc-timeout`, caps it at a maximum, and runs the handler inside that
/// deadline scope, as Go's `ctx` and Java's `Context` do.
///
/// - The handler's own outgoing calls (through [`PropagateDeadline`](super::PropagateDeadline))
///   inherit what is left, and [`deadline::remaining`] tells it how long it has.
/// - When the deadline passes, the handler is dropped and the client gets
///   `DEADLINE_EXCEEDED`.
/// - A client cannot pin the server for hours: its timeout is capped at the
///   maximum (5 minutes unless [`with_max`](Self::with_max)),
///   and a call without `grpc-timeout` gets the maximum.
/// - A malformed `grpc-timeout` is answered with `INTERNAL` without calling
///   the handler, as grpc-go does; never a panic.
///
/// Applies to unary and server-streaming handlers up to their response
/// headers; a streaming body is not cut.
///
/// ```no_run
/// use std::time::Duration;
/// use steadfast::tonic::DeadlineLayer;
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// tonic::transport::Server::builder()
///     .layer(DeadlineLayer::new().with_max(Duration::from_secs(30)))
///     // .add_service(UserServiceServer::new(MyService))
///     # .add_routes(tonic::service::Routes::default())
///     .serve("127.0.0.1:50051".parse()?)
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    max: Duration,
}

impl Default for DeadlineLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl DeadlineLayer {
    /// Caps deadlines at 5 minutes.
    ///
    /// ```
    /// let layer = steadfast::tonic::DeadlineLayer::new();
    /// assert_eq!(layer.max(), std::time::Duration::from_secs(300));
    /// ```
    pub const fn new() -> Self {
        Self {
            max: DEFAULT_MAX_DEADLINE,
        }
    }

    /// Caps deadlines at `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = steadfast::tonic::DeadlineLayer::new().with_max(Duration::from_secs(10));
    /// assert_eq!(layer.max(), Duration::from_secs(10));
    /// ```
    pub const fn with_max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// The cap.
    ///
    /// ```
    /// # let layer = steadfast::tonic::DeadlineLayer::new();
    /// let _ = layer.max();
    /// ```
    pub const fn max(&self) -> Duration {
        self.max
    }
}

impl<S> tower_layer::Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService {
            inner,
            max: self.max,
        }
    }
}

/// The service made by [`DeadlineLayer`].
///
/// ```
/// use tower_layer::Layer;
/// let svc = steadfast::tonic::DeadlineLayer::new().layer(());
/// assert_eq!(svc.into_inner(), ());
/// ```
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
    max: Duration,
}

impl<S> DeadlineService<S> {
    /// The wrapped service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// assert_eq!(*steadfast::tonic::DeadlineLayer::new().layer(1).get_ref(), 1);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// let mut svc = steadfast::tonic::DeadlineLayer::new().layer(1);
    /// *svc.get_mut() = 2;
    /// assert_eq!(svc.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// assert_eq!(steadfast::tonic::DeadlineLayer::new().layer(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for DeadlineService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = ResponseFuture<ScopedResponse<S::Future>, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = match find(request.headers(), &TIMEOUT_NAME) {
            None => self.max,
            Some(value) => match parse_timeout(value.as_bytes()) {
                Ok(timeout) => timeout.min(self.max),
                Err(invalid) => {
                    return ResponseFuture::ready(Status::internal(invalid.to_string()).into_http())
                }
            },
        };
        let span = recv_span(request.uri().path(), timeout);
        #[cfg(feature = "opentelemetry")]
        super::context::adopt(&span, request.headers());
        let future = deadline::scope(timeout, self.inner.call(request));
        ResponseFuture::inner(ScopedResponse { future, span })
    }
}

pin_project! {
    /// A handler's response future inside its deadline scope: a handler
    /// still running at the deadline is dropped and the call answered
    /// `DEADLINE_EXCEEDED`.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    /// use steadfast::tonic::{DeadlineLayer, ResponseFuture, ScopedResponse};
    /// use tower::{service_fn, Layer, Service};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let layer = DeadlineLayer::new().with_max(Duration::from_secs(1));
    /// let mut svc = layer.layer(service_fn(|_: http::Request<()>| async {
    ///     tokio::time::sleep(Duration::from_secs(5)).await; // too slow
    ///     Ok::<_, Infallible>(http::Response::new(()))
    /// }));
    /// let future: ResponseFuture<ScopedResponse<_>, ()> = svc.call(http::Request::new(()));
    /// let response = future.await.unwrap();
    /// assert_eq!(response.headers()["grpc-status"], "4"); // DEADLINE_EXCEEDED
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct ScopedResponse<F> {
        #[pin]
        future: Scope<F>,
        span: crate::trace::Span,
    }
}

/// The server span of a call to `path` (`/user.UserService/GetUser`):
/// `Recv.user.UserService.GetUser` (gRPC A72), as `otel.name` since a
/// tracing span's name is fixed where it is written; with the deadline the
/// handler got. Nothing is formatted unless a subscriber wants the span.
fn recv_span(path: &str, deadline: std::time::Duration) -> crate::trace::Span {
    #[cfg(feature = "tracing")]
    {
        if !crate::trace::traced() {
            return crate::trace::no_span();
        }
        let (service, method) = super::service_and_method(path);
        tracing::info_span!(
            "Recv",
            "otel.name" = %format_args!("Recv.{service}.{method}"),
            "otel.kind" = "server",
            "rpc.system" = "grpc",
            "rpc.service" = service,
            "rpc.method" = method,
            "grpc.deadline_ms" = deadline.as_millis() as u64,
        )
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (path, deadline);
        crate::trace::Span
    }
}

impl<F, RB, E> Future for ScopedResponse<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    RB: Default,
{
    type Output = Result<http::Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        #[cfg(feature = "tracing")]
        let _entered = this.span.enter();
        match this.future.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(elapsed)) => Poll::Ready(Ok(Status::deadline_exceeded(
                elapsed.to_string(),
            )
            .into_http())),
        }
    }
}
