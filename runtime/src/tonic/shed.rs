//! Server side: [`LimitLayer`], rate and concurrency limits per method, per
//! service and for the whole server, checked before the handler runs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::Status;
use pin_project_lite::pin_project;

use super::headers::find;
use super::timeout::{parse_timeout, TIMEOUT_NAME};
use crate::limit::{ConcurrencyPermit, Which};
use crate::{ConcurrencyLimit, Limited, RateLimiter};

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

/// The limits, by where they apply.
#[derive(Debug, Clone, Default)]
struct Limits {
    /// By path: `/shop.OrderService/CreateOrder`.
    methods: HashMap<String, Vec<Arc<Entry>>>,
    /// By service: `shop.OrderService`.
    services: HashMap<String, Vec<Arc<Entry>>>,
    global: Vec<Arc<Entry>>,
}

impl Limits {
    /// Every chain a request can meet, each in the order it is asked: a
    /// method's limits, then its service's, then the server's.
    fn chains(&self) -> Chains {
        let service_chain = |service: &str| -> Chain {
            let own = self.services.get(service).map(Vec::as_slice).unwrap_or(&[]);
            own.iter().chain(&self.global).cloned().collect()
        };
        Chains {
            methods: self
                .methods
                .iter()
                .map(|(path, own)| {
                    let (service, _) = super::service_and_method(path);
                    let chain = own
                        .iter()
                        .chain(service_chain(service).iter())
                        .cloned()
                        .collect();
                    (path.clone(), chain)
                })
                .collect(),
            services: self
                .services
                .keys()
                .map(|service| (service.clone(), service_chain(service)))
                .collect(),
            global: self.global.iter().cloned().collect(),
        }
    }
}

/// The limits a request meets, in order, shared by the requests that meet
/// them.
type Chain = Arc<[Arc<Entry>]>;

/// The chains, looked up once a request: by its path, else by its
/// service, else the server's own.
#[derive(Debug)]
struct Chains {
    methods: HashMap<String, Chain>,
    services: HashMap<String, Chain>,
    global: Chain,
}

impl Chains {
    fn of(&self, path: &str) -> Option<&Chain> {
        let by_method = if self.methods.is_empty() {
            None
        } else {
            self.methods.get(path)
        };
        let chain = by_method
            .or_else(|| {
                if self.services.is_empty() {
                    return None;
                }
                self.services.get(super::service_and_method(path).0)
            })
            .unwrap_or(&self.global);
        (!chain.is_empty()).then_some(chain)
    }
}

/// One limit of the layer, shared by the services it makes.
#[derive(Debug)]
struct Entry {
    limit: ServerLimit,
    /// How long the calls it admitted held their place, on average (ns,
    /// an exponentially weighted mean; 0: none finished yet).
    held: AtomicU64,
}

impl Entry {
    /// A finished call held its place for `held`: weighs it in (1/8).
    fn record(&self, held: Duration) {
        let held = crate::clock::nanos(held).max(1);
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(match mean {
                    0 => held,
                    mean => mean - mean / 8 + held / 8,
                })
            });
    }

    /// Whether a request may wait in this limit's queue.
    fn queues(&self) -> bool {
        match &self.limit.0 {
            Kind::Rate(limit) => !limit.max_wait().is_zero(),
            Kind::Concurrency(limit) => !limit.max_wait().is_zero(),
        }
    }

    /// When a place may free: the mean time a call holds one, once known.
    fn pushback(&self) -> Option<Duration> {
        match self.held.load(Ordering::Relaxed) {
            0 => None,
            mean => Some(Duration::from_nanos(mean)),
        }
    }
}

/// A limit [`LimitLayer`] asks: a [`RateLimiter`], a [`ConcurrencyLimit`] or
/// an [`AdaptiveLimit`](crate::AdaptiveLimit), owned, in an `Arc`, or a
/// `static`.
///
/// ```
/// use std::sync::Arc;
/// use steadfast::tonic::ServerLimit;
/// use steadfast::{ConcurrencyLimit, RateLimiter};
///
/// static ORDERS: RateLimiter = RateLimiter::per_second(100);
/// let _: ServerLimit = (&ORDERS).into();
/// let _: ServerLimit = ConcurrencyLimit::new(8).into();
/// let _: ServerLimit = Arc::new(RateLimiter::per_second(5)).into();
/// ```
#[derive(Debug, Clone)]
pub struct ServerLimit(Kind);

#[derive(Debug, Clone)]
enum Kind {
    Rate(Shared<RateLimiter>),
    Concurrency(Shared<ConcurrencyLimit>),
}

/// A limit the layer owns a share of, or a `static` one.
#[derive(Debug)]
enum Shared<T: 'static> {
    Static(&'static T),
    Owned(Arc<T>),
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        match self {
            Shared::Static(limit) => Shared::Static(limit),
            Shared::Owned(limit) => Shared::Owned(Arc::clone(limit)),
        }
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Shared::Static(limit) => limit,
            Shared::Owned(limit) => limit,
        }
    }
}

macro_rules! server_limit_from {
    ($limit:ty, $kind:ident) => {
        impl From<$limit> for ServerLimit {
            fn from(limit: $limit) -> Self {
                ServerLimit(Kind::$kind(Shared::Owned(Arc::new(limit))))
            }
        }

        impl From<Arc<$limit>> for ServerLimit {
            fn from(limit: Arc<$limit>) -> Self {
                ServerLimit(Kind::$kind(Shared::Owned(limit)))
            }
        }

        impl From<&'static $limit> for ServerLimit {
            fn from(limit: &'static $limit) -> Self {
                ServerLimit(Kind::$kind(Shared::Static(limit)))
            }
        }
    };
}

server_limit_from!(RateLimiter, Rate);
server_limit_from!(ConcurrencyLimit, Concurrency);

/// An adaptive limit serves as the concurrency limit it is.
impl From<crate::AdaptiveLimit> for ServerLimit {
    fn from(limit: crate::AdaptiveLimit) -> Self {
        limit.into_limit().into()
    }
}

impl From<&'static crate::AdaptiveLimit> for ServerLimit {
    fn from(limit: &'static crate::AdaptiveLimit) -> Self {
        let limit: &'static ConcurrencyLimit = limit;
        limit.into()
    }
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
            .push(entry(limit.into()));
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
            .push(entry(limit.into()));
        self
    }

    /// Limits every call to the server, together.
    ///
    /// ```
    /// use steadfast::{tonic::LimitLayer, ConcurrencyLimit};
    /// let _ = LimitLayer::new().global(ConcurrencyLimit::new(1024));
    /// ```
    pub fn global(mut self, limit: impl Into<ServerLimit>) -> Self {
        self.limits.global.push(entry(limit.into()));
        self
    }
}

fn entry(limit: ServerLimit) -> Arc<Entry> {
    Arc::new(Entry {
        limit,
        held: AtomicU64::new(0),
    })
}

impl<S> tower_layer::Layer<S> for LimitLayer {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            chains: Arc::new(self.limits.chains()),
        }
    }
}

/// The service made by [`LimitLayer`].
///
/// ```
/// use tower_layer::Layer;
/// let svc = steadfast::tonic::LimitLayer::new().layer(7);
/// assert_eq!(*svc.get_ref(), 7);
/// ```
#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    chains: Arc<Chains>,
}

impl<S> LimitService<S> {
    /// The wrapped service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// assert_eq!(*steadfast::tonic::LimitLayer::new().layer(1).get_ref(), 1);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for LimitService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = LimitFuture<S::Future, RB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(chain) = self.chains.of(request.uri().path()) else {
            return LimitFuture::passed(self.inner.call(request));
        };
        let chain = Arc::clone(chain);
        // The service polled ready takes this call; its clone stays for the next.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        LimitFuture::limited(Box::pin(admit_then_call(chain, ready, request)))
    }
}

/// The request's own deadline, from its `grpc-timeout` (a malformed one is
/// left to `DeadlineLayer` or tonic to answer).
fn requested_timeout<B>(request: &http::Request<B>) -> Option<Duration> {
    find(request.headers(), &TIMEOUT_NAME).and_then(|value| parse_timeout(value.as_bytes()).ok())
}

/// Asks each limit of the request in turn, then calls the handler holding
/// the concurrency places until its response is ready; or answers the
/// refusal.
async fn admit_then_call<S, B, RB>(
    chain: Chain,
    mut ready: S,
    request: http::Request<B>,
) -> Result<http::Response<RB>, S::Error>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    // Only a wait in a queue needs the request's deadline.
    let admitted = if chain.iter().any(|entry| entry.queues()) {
        let timeout = requested_timeout(&request).unwrap_or(Duration::MAX);
        match crate::deadline::emitted::carried(timeout, admit(&chain)).await {
            (Ok(admitted), _) => admitted,
            (Err(elapsed), _) => Err(Status::deadline_exceeded(elapsed.to_string())),
        }
    } else {
        admit(&chain).await
    };
    let places = match admitted {
        Ok(places) => places,
        Err(refusal) => return Ok(refusal.into_http()),
    };
    let response = ready.call(request).await;
    places.release();
    response
}

/// A concurrency place held by a call: its limit, the place, since when
/// (the crate's clock).
type Place<'a> = (&'a Arc<Entry>, ConcurrencyPermit<'a>, u64);

/// The places a call holds.
#[derive(Default)]
struct Places<'a>(Vec<Place<'a>>);

impl<'a> Places<'a> {
    fn push(&mut self, place: Place<'a>) {
        self.0.push(place);
    }

    /// Gives the places back, each limit told how long it was held.
    fn release(self) {
        if self.0.is_empty() {
            return;
        }
        let now = crate::clock::now();
        for (entry, permit, since) in self.0 {
            entry.record(Duration::from_nanos(now.saturating_sub(since)));
            drop(permit);
        }
    }
}

/// Every limit's admission, or the status of the first that refused.
async fn admit(chain: &[Arc<Entry>]) -> Result<Places<'_>, Status> {
    let mut places = Places::default();
    for entry in chain {
        match &entry.limit.0 {
            Kind::Rate(limit) => {
                if let Err(limited) = limit.acquire().await {
                    return Err(Status::from(limited));
                }
            }
            Kind::Concurrency(limit) => match limit.acquire().await {
                Ok(permit) => places.push((entry, permit, crate::clock::now())),
                Err(limited) => return Err(overloaded(limited, entry.pushback())),
            },
        }
    }
    Ok(places)
}

/// `UNAVAILABLE`: the server is overloaded; with `grpc-retry-pushback-ms`
/// when it knows how long a place is held.
fn overloaded(limited: Limited, pushback: Option<Duration>) -> Status {
    debug_assert_eq!(limited.which(), Which::Concurrency);
    let mut status = Status::unavailable(format!("overloaded: {limited}"));
    if let Some(after) = pushback {
        // At least 1 ns (`Entry::record`), so at least 1 ms.
        super::pushback::set_pushback(&mut status, after);
    }
    status
}

pin_project! {
    /// The future of [`LimitService`]: the handler's, untouched, for a
    /// method without limits; the admission and then the handler's
    /// otherwise.
    pub struct LimitFuture<F, RB, E> {
        #[pin]
        state: State<F, RB, E>,
    }
}

/// An admission and then the handler's response.
type Admitted<RB, E> = Pin<Box<dyn Future<Output = Result<http::Response<RB>, E>> + Send>>;

pin_project! {
    #[project = StateProj]
    enum State<F, RB, E> {
        Passed { #[pin] future: F },
        Limited { future: Admitted<RB, E> },
    }
}

impl<F, RB, E> LimitFuture<F, RB, E> {
    fn passed(future: F) -> Self {
        Self {
            state: State::Passed { future },
        }
    }

    fn limited(future: Admitted<RB, E>) -> Self {
        Self {
            state: State::Limited { future },
        }
    }
}

impl<F, RB, E> std::fmt::Debug for LimitFuture<F, RB, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Passed { .. } => "LimitFuture::Passed",
            State::Limited { .. } => "LimitFuture::Limited",
        })
    }
}

impl<F, RB, E> Future for LimitFuture<F, RB, E>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = Result<http::Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Passed { future } => future.poll(cx),
            StateProj::Limited { future } => future.as_mut().poll(cx),
        }
    }
}
