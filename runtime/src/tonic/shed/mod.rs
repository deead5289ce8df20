//! Server side: [`LimitLayer`], rate and concurrency limits per method, per
//! service and for the whole server, checked before the handler runs.

mod future;
mod limits;
mod queued;
mod service;

use std::sync::Arc;

pub use future::LimitFuture;
pub use limits::ServerLimit;
use limits::{Entry, Limits};
pub use service::LimitService;

/// A `tower::Layer` for tonic servers that protects them from overload: rate
/// and concurrency limits for one method, for one service, and for the
/// whole server, asked before the handler runs and before the request's body
/// is read.
///
/// - A request over a rate is answered `RESOURCE_EXHAUSTED`, one over a
///   concurrency limit `UNAVAILABLE` (overload); both carry
///   `grpc-retry-pushback-ms`, when the limit may admit it (a rate knows; a
///   concurrency limit says how long its calls have held a place, on average,
///   once one has), so that a client that honours pushback (gRPC A6, every
///   client here) comes back then rather than at its own backoff.
/// - A limit with a queue lets a request wait for its turn, never past the
///   request's deadline (its `grpc-timeout`, or the deadline
///   [`DeadlineLayer`](super::DeadlineLayer) set): one whose turn would come
///   after it is refused at once.
/// - A request passes its method's limits, then its service's, then the
///   server's; a concurrency place is held until the handler's response
///   (its headers) is ready. Methods without limits pass untouched.
/// - A request whose limits cannot make it wait (no queue, no cluster
///   limit) is admitted or refused in `call` itself, without an
///   allocation; one that may wait does so in a boxed future.
///
/// Beside [`DeadlineLayer`](super::DeadlineLayer) either order works: outside
/// it, a refusal costs the server nothing more (no span, no deadline scope);
/// inside it, the request's span records the refusal.
///
/// ```no_run
/// use std::time::Duration;
/// use steadfast::tonic::{DeadlineLayer, LimitLayer};
/// use steadfast::{AdaptiveLimit, ConcurrencyLimit, RateLimiter};
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// tonic::transport::Server::builder()
///     .layer(DeadlineLayer::new())
///     .layer(
///         LimitLayer::new()
///             .method("/shop.OrderService/CreateOrder", RateLimiter::per_second(1000))
///             .service("shop.OrderService", ConcurrencyLimit::new(256))
///             .global(AdaptiveLimit::gradient()),
///     )
///     // .add_service(OrderServiceServer::new(MyService))
///     # .add_routes(tonic::service::Routes::default())
///     .serve("127.0.0.1:50051".parse()?)
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct LimitLayer {
    limits: Limits,
}

/// A method path [`LimitLayer::try_method`] cannot match: not
/// `/package.Service/Method`.
///
/// ```
/// use steadfast::tonic::LimitLayer;
/// use steadfast::RateLimiter;
///
/// let error = LimitLayer::new().try_method("CreateOrder", RateLimiter::per_second(1)).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "`CreateOrder` is not a gRPC method path: write `/package.Service/Method`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodPathError(String);

impl std::fmt::Display for MethodPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a gRPC method path: write `/package.Service/Method`",
            self.0
        )
    }
}

impl std::error::Error for MethodPathError {}

impl LimitLayer {
    /// A layer without limits: every request passes.
    ///
    /// ```
    /// let _ = steadfast::tonic::LimitLayer::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the calls to one method, `/package.Service/Method` (the
    /// leading `/` may be left out).
    ///
    /// # Panics
    ///
    /// When `path` is not a method path; [`try_method`](Self::try_method)
    /// returns the error instead.
    ///
    /// ```
    /// use steadfast::{tonic::LimitLayer, RateLimiter};
    /// let _ = LimitLayer::new().method("/shop.OrderService/CreateOrder", RateLimiter::per_second(100));
    /// ```
    pub fn method(self, path: &str, limit: impl Into<ServerLimit>) -> Self {
        match self.try_method(path, limit) {
            Ok(layer) => layer,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`method`](Self::method), or an error for a path that is not
    /// `/package.Service/Method`.
    ///
    /// # Errors
    ///
    /// [`MethodPathError`].
    ///
    /// ```
    /// use steadfast::{tonic::LimitLayer, ConcurrencyLimit};
    /// assert!(LimitLayer::new().try_method("shop.OrderService/CreateOrder", ConcurrencyLimit::new(4)).is_ok());
    /// assert!(LimitLayer::new().try_method("/shop.OrderService/", ConcurrencyLimit::new(4)).is_err());
    /// ```
    pub fn try_method(
        mut self,
        path: &str,
        limit: impl Into<ServerLimit>,
    ) -> Result<Self, MethodPathError> {
        let bare = path.strip_prefix('/').unwrap_or(path);
        let valid = matches!(bare.split_once('/'),
            Some((service, method)) if !service.is_empty() && !method.is_empty() && !method.contains('/'));
        if !valid {
            return Err(MethodPathError(path.to_owned()));
        }
        self.limits
            .methods
            .entry(format!("/{bare}"))
            .or_default()
            .push(Entry::new(limit.into()));
        Ok(self)
    }

    /// Limits the calls to every method of one service,
    /// `package.Service`, together.
    ///
    /// ```
    /// use steadfast::{tonic::LimitLayer, ConcurrencyLimit};
    /// let _ = LimitLayer::new().service("shop.OrderService", ConcurrencyLimit::new(256));
    /// ```
    pub fn service(mut self, service: &str, limit: impl Into<ServerLimit>) -> Self {
        let service = service.trim_matches('/');
        self.limits
            .services
            .entry(service.to_owned())
            .or_default()
            .push(Entry::new(limit.into()));
        self
    }

    /// Limits every call to the server, together.
    ///
    /// ```
    /// use steadfast::{tonic::LimitLayer, ConcurrencyLimit};
    /// let _ = LimitLayer::new().global(ConcurrencyLimit::new(1024));
    /// ```
    pub fn global(mut self, limit: impl Into<ServerLimit>) -> Self {
        self.limits.global.push(Entry::new(limit.into()));
        self
    }
}

impl<S> tower_layer::Layer<S> for LimitLayer {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService::new(inner, Arc::new(self.limits.chains()))
    }
}
