//! The limits a [`LimitLayer`](super::LimitLayer) asks, by where they
//! apply, and the chain each request meets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::tonic::Status;

use crate::limit::{Limited, Which};
use crate::{clock, ConcurrencyLimit, RateLimiter};

/// A limit [`LimitLayer`](super::LimitLayer) asks: a [`RateLimiter`], a
/// [`ConcurrencyLimit`] or an [`AdaptiveLimit`](crate::AdaptiveLimit),
/// owned, in an `Arc`, or a `static`.
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

/// The limits of a layer, by where they apply.
#[derive(Debug, Clone, Default)]
pub(super) struct Limits {
    /// By path: `/shop.OrderService/CreateOrder`.
    pub(super) methods: HashMap<String, Vec<Arc<Entry>>>,
    /// By service: `shop.OrderService`.
    pub(super) services: HashMap<String, Vec<Arc<Entry>>>,
    pub(super) global: Vec<Arc<Entry>>,
}

impl Limits {
    /// Every chain a request can meet, each in the order it is asked: a
    /// method's limits, then its service's, then the server's.
    pub(super) fn chains(&self) -> Chains {
        let service_entries = |service: &str| -> Vec<Arc<Entry>> {
            let own = self.services.get(service).map(Vec::as_slice).unwrap_or(&[]);
            own.iter().chain(&self.global).cloned().collect()
        };
        Chains {
            methods: self
                .methods
                .iter()
                .map(|(path, own)| {
                    let (service, _) = crate::tonic::service_and_method(path);
                    let entries = own.iter().cloned().chain(service_entries(service));
                    (path.clone(), Chain::new(entries.collect()))
                })
                .collect(),
            services: self
                .services
                .keys()
                .map(|service| (service.clone(), Chain::new(service_entries(service))))
                .collect(),
            global: Chain::new(self.global.clone()),
        }
    }
}

/// The chains, looked up once a request: by its path, else by its
/// service, else the server's own.
#[derive(Debug)]
pub(super) struct Chains {
    methods: HashMap<String, Arc<Chain>>,
    services: HashMap<String, Arc<Chain>>,
    global: Arc<Chain>,
}

impl Chains {
    /// The limits a request to `path` meets; `None`: none.
    pub(super) fn of(&self, path: &str) -> Option<&Arc<Chain>> {
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
                self.services.get(crate::tonic::service_and_method(path).0)
            })
            .unwrap_or(&self.global);
        (!chain.entries.is_empty()).then_some(chain)
    }
}

/// The limits a request meets, in order, shared by the requests that meet
/// them; what asking them takes, known once.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) entries: Box<[Arc<Entry>]>,
    /// Whether a request may have to wait: a limit with a queue, or a
    /// cluster rate limit (a round trip to Redis).
    pub(super) may_wait: bool,
    /// Whether it holds places (a concurrency limit): the holding time is
    /// measured.
    holds_places: bool,
}

impl Chain {
    fn new(entries: Vec<Arc<Entry>>) -> Arc<Self> {
        let may_wait = entries.iter().any(|entry| match &entry.limit.0 {
            Kind::Rate(limit) => !limit.max_wait().is_zero() || limit.is_cluster(),
            Kind::Concurrency(limit) => !limit.max_wait().is_zero(),
        });
        let holds_places = entries
            .iter()
            .any(|entry| matches!(entry.limit.0, Kind::Concurrency(_)));
        Arc::new(Self {
            entries: entries.into_boxed_slice(),
            may_wait,
            holds_places,
        })
    }

    /// Asks every limit at once (a chain that never waits): the places it
    /// holds, or the status of the first that refused, the places taken
    /// before it given back unused.
    pub(super) fn admit_now(self: &Arc<Self>) -> Result<Option<Held>, Status> {
        let since = if self.holds_places { clock::now() } else { 0 };
        for (asked, entry) in self.entries.iter().enumerate() {
            let refused = match &entry.limit.0 {
                Kind::Rate(limit) => limit.try_acquire().err().map(Status::from),
                Kind::Concurrency(limit) => limit
                    .take_place()
                    .err()
                    .map(|limited| overloaded(limited, entry.pushback())),
            };
            if let Some(status) = refused {
                for taken in &self.entries[..asked] {
                    if let Kind::Concurrency(limit) = &taken.limit.0 {
                        limit.give_back(None);
                    }
                }
                return Err(status);
            }
        }
        Ok(self.holds_places.then(|| Held {
            chain: Arc::clone(self),
            since,
        }))
    }
}

/// The concurrency places an admitted request holds: one in each
/// concurrency limit of its chain, since `since` (the crate's clock).
/// Dropped (the handler's response ready, or the call given up), it gives
/// them back, each limit told how long it was held.
#[derive(Debug)]
pub(super) struct Held {
    chain: Arc<Chain>,
    since: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        let held = Duration::from_nanos(clock::now().saturating_sub(self.since));
        for entry in self.chain.entries.iter() {
            if let Kind::Concurrency(limit) = &entry.limit.0 {
                entry.record(held);
                limit.give_back(Some(held));
            }
        }
    }
}

/// One limit of the layer, shared by the services it makes.
#[derive(Debug)]
pub(super) struct Entry {
    limit: ServerLimit,
    /// How long the calls it admitted held their place, on average (ns,
    /// an exponentially weighted mean; 0: none finished yet).
    held: AtomicU64,
}

impl Entry {
    pub(super) fn new(limit: ServerLimit) -> Arc<Self> {
        Arc::new(Entry {
            limit,
            held: AtomicU64::new(0),
        })
    }

    /// A finished call held its place for `held`: weighs it in (1/8).
    fn record(&self, held: Duration) {
        let held = clock::nanos(held).max(1);
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(match mean {
                    0 => held,
                    mean => mean - mean / 8 + held / 8,
                })
            });
    }

    /// When a place may free: the mean time a call holds one, once known.
    fn pushback(&self) -> Option<Duration> {
        match self.held.load(Ordering::Relaxed) {
            0 => None,
            mean => Some(Duration::from_nanos(mean)),
        }
    }

    /// Waits for this limit's admission (its queue, or Redis): for a
    /// concurrency limit the place, taken at the time returned.
    pub(super) async fn admit(
        &self,
    ) -> Result<Option<(crate::limit::ConcurrencyPermit<'_>, u64)>, Status> {
        match &self.limit.0 {
            Kind::Rate(limit) => match limit.acquire().await {
                Ok(()) => Ok(None),
                Err(limited) => Err(Status::from(limited)),
            },
            Kind::Concurrency(limit) => match limit.acquire().await {
                Ok(permit) => Ok(Some((permit, clock::now()))),
                Err(limited) => Err(overloaded(limited, self.pushback())),
            },
        }
    }

    /// A place of this limit's, taken at `since`, held until now.
    pub(super) fn held_since(&self, since: u64) {
        self.record(Duration::from_nanos(clock::now().saturating_sub(since)));
    }
}

/// `UNAVAILABLE`: the server is overloaded; with `grpc-retry-pushback-ms`
/// when it knows how long a place is held.
fn overloaded(limited: Limited, pushback: Option<Duration>) -> Status {
    debug_assert_eq!(limited.which(), Which::Concurrency);
    let mut status = Status::unavailable(format!("overloaded: {limited}"));
    if let Some(after) = pushback {
        // At least 1 ns (`Entry::record`), so at least 1 ms.
        crate::tonic::pushback::set_pushback(&mut status, after);
    }
    status
}
