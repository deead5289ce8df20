//! Cluster-wide rate limits (feature `redis`): one [`RateLimiter`]'s GCRA
//! state kept in Redis, shared by every replica that names it, one atomic
//! round trip a call; and what a call gets when Redis does not answer.

mod reach;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::rate::{Cell, RateLimiter};
use crate::deadline;
use reach::Reach;

/// How long a call waits for Redis by default before the limiter decides
/// without it.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5);

/// The GCRA step, run in Redis by `EVALSHA` (loaded again after a
/// `NOSCRIPT`, as when Redis restarted).
static SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("gcra.lua")));

/// Where a cluster limit keeps its state, and what it does when that place
/// does not answer: the Redis connection, the bound on a call's wait for
/// it, and the [`Unreachable`] policy with the replicas it shares among.
///
/// A `ConnectionManager` is a [`Cluster`] with the defaults: answers within
/// 5 ms, one replica, [`Unreachable::LocalShare`].
///
/// ```no_run
/// use std::time::Duration;
/// use steadfast::limit::{Cluster, Unreachable};
/// use steadfast::RateLimiter;
///
/// # async fn run() -> redis::RedisResult<()> {
/// let redis = redis::Client::open("redis://127.0.0.1:6379")?;
/// let redis = redis::aio::ConnectionManager::new(redis).await?;
/// let orders = RateLimiter::cluster(
///     Cluster::new(redis)
///         .replicas(32) // without Redis, each replica admits 1/32 of the rate
///         .timeout(Duration::from_millis(5))
///         .when_unreachable(Unreachable::LocalShare),
///     "orders",
///     RateLimiter::per_second(1000).burst(50),
/// );
/// orders.acquire().await.ok();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cluster {
    redis: ConnectionManager,
    timeout: Duration,
    replicas: u32,
    unreachable: Unreachable,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("timeout", &self.timeout)
            .field("replicas", &self.replicas)
            .field("unreachable", &self.unreachable)
            .finish_non_exhaustive()
    }
}

/// What a cluster limit does with a call when Redis has not answered within
/// [`Cluster::timeout`] (or is known to be down: after one miss, calls do
/// not wait for Redis until a background probe reaches it again).
///
/// ```
/// use steadfast::limit::Unreachable;
/// assert_eq!(Unreachable::default(), Unreachable::LocalShare);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Unreachable {
    /// Each replica limits itself to its share of the rate: the rate and
    /// the burst divided by [`Cluster::replicas`] (Sentinel's cluster flow
    /// control falling back to local rules). The default.
    #[default]
    LocalShare,
    /// Admit every call: the limit is off while Redis is.
    Admit,
    /// Refuse every call with [`Limited`](super::Limited): nothing gets
    /// through while Redis is down.
    Refuse,
}

impl Cluster {
    /// The limit's state in `redis`, with the defaults: a call waits at
    /// most 5 ms for Redis, then the limiter admits it within a local
    /// share of the rate as if this were the only replica (set
    /// [`replicas`](Self::replicas) to how many you run).
    ///
    /// ```no_run
    /// # async fn run() -> redis::RedisResult<()> {
    /// let redis = redis::aio::ConnectionManager::new(redis::Client::open("redis://127.0.0.1/")?).await?;
    /// let cluster = steadfast::limit::Cluster::new(redis);
    /// assert_eq!(cluster.get_replicas(), 1);
    /// # Ok(()) }
    /// ```
    pub fn new(redis: ConnectionManager) -> Self {
        Self {
            redis,
            timeout: DEFAULT_TIMEOUT,
            replicas: 1,
            unreachable: Unreachable::LocalShare,
        }
    }

    /// The longest a call waits for Redis's answer (5 ms by default; never
    /// past the call's deadline) before the limiter decides without it, as
    /// [`when_unreachable`](Self::when_unreachable) says.
    ///
    /// ```no_run
    /// # async fn run(redis: redis::aio::ConnectionManager) {
    /// let cluster = steadfast::limit::Cluster::new(redis).timeout(std::time::Duration::from_millis(2));
    /// # }
    /// ```
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// How many replicas share the limit: without Redis, with
    /// [`Unreachable::LocalShare`], each admits `1 / replicas` of the rate
    /// and of the burst (at least one call). At least 1.
    ///
    /// ```no_run
    /// # async fn run(redis: redis::aio::ConnectionManager) {
    /// let cluster = steadfast::limit::Cluster::new(redis).replicas(32);
    /// assert_eq!(cluster.get_replicas(), 32);
    /// # }
    /// ```
    #[must_use]
    pub fn replicas(self, replicas: u32) -> Self {
        Self {
            replicas: replicas.max(1),
            ..self
        }
    }

    /// What a call gets when Redis does not answer in time.
    ///
    /// ```no_run
    /// # async fn run(redis: redis::aio::ConnectionManager) {
    /// use steadfast::limit::{Cluster, Unreachable};
    /// let closed = Cluster::new(redis).when_unreachable(Unreachable::Refuse);
    /// # }
    /// ```
    #[must_use]
    pub fn when_unreachable(self, unreachable: Unreachable) -> Self {
        Self {
            unreachable,
            ..self
        }
    }

    /// The replicas the limit is shared among.
    ///
    /// ```no_run
    /// # async fn run(redis: redis::aio::ConnectionManager) {
    /// assert_eq!(steadfast::limit::Cluster::new(redis).get_replicas(), 1);
    /// # }
    /// ```
    pub fn get_replicas(&self) -> u32 {
        self.replicas
    }
}

impl From<ConnectionManager> for Cluster {
    fn from(redis: ConnectionManager) -> Self {
        Self::new(redis)
    }
}

/// A cluster limiter's side of Redis: the connection, its key, its policy
/// and whether Redis is reachable now.
#[derive(Debug)]
pub(crate) struct Remote {
    cluster: Cluster,
    /// `steadfast:rate:<name>`; a keyed limit's keys follow it.
    key: String,
    reach: Arc<Reach>,
}

/// A call's turn as decided: admitted after a wait (ns), or refused with
/// the wait that would have admitted it (`None`: no turn to name).
pub(crate) type Turn = Result<u64, Option<u64>>;

impl Remote {
    pub(crate) fn new(cluster: Cluster, name: &'static str) -> Self {
        Self {
            key: format!("steadfast:rate:{name}"),
            reach: Arc::new(Reach::new(name)),
            cluster,
        }
    }

    /// The Redis key of the limit (`key: None`) or of one of its keys.
    pub(crate) fn key_of(&self, key: Option<&dyn fmt::Debug>) -> String {
        match key {
            None => self.key.clone(),
            Some(key) => format!("{}:{key:?}", self.key),
        }
    }

    /// Whether Redis answered the last call (or the background probe since).
    pub(crate) fn reachable(&self) -> bool {
        self.reach.is_up()
    }

    /// A call's turn under `cell`, waiting at most `queue` for it (never past
    /// the current deadline): from Redis when it answers within the bound;
    /// otherwise by the [`Unreachable`] policy, `local` deciding the local
    /// share under the share's cell.
    pub(crate) async fn turn(
        &self,
        redis_key: String,
        cell: Cell,
        queue: Duration,
        local: impl FnOnce(Cell) -> Turn,
    ) -> Turn {
        if self.reach.is_up() {
            let remaining = deadline::remaining();
            let longest = remaining.map_or(queue, |left| left.min(queue));
            let bound =
                remaining.map_or(self.cluster.timeout, |left| left.min(self.cluster.timeout));
            let mut redis = self.cluster.redis.clone();
            let (interval, tolerance) = cell.micros();
            let mut invocation = SCRIPT.key(redis_key);
            invocation
                .arg(interval)
                .arg(tolerance)
                .arg(u64::try_from(longest.as_micros()).unwrap_or(u64::MAX));
            let asked = invocation.invoke_async::<(u8, u64)>(&mut redis);
            match tokio::time::timeout(bound, asked).await {
                Ok(Ok((1, wait))) => return Ok(wait.saturating_mul(1000)),
                Ok(Ok((_, wait))) => return Err(Some(wait.saturating_mul(1000))),
                Ok(Err(error)) => self.reach.lost(&self.cluster.redis, &error),
                // The call's deadline came before Redis's bound: this call
                // is decided here, and Redis is not blamed.
                Err(_) if bound < self.cluster.timeout => {}
                Err(_) => self.reach.lost(
                    &self.cluster.redis,
                    &format_args!("no answer within {bound:?}"),
                ),
            }
        }
        self.without_redis(cell, local)
    }

    /// A call's turn decided here, by the [`Unreachable`] policy.
    pub(crate) fn without_redis(&self, cell: Cell, local: impl FnOnce(Cell) -> Turn) -> Turn {
        self.reach.decided_locally();
        match self.cluster.unreachable {
            Unreachable::LocalShare => local(cell.share(self.cluster.replicas)),
            Unreachable::Admit => Ok(0),
            Unreachable::Refuse => Err(None),
        }
    }
}

impl RateLimiter {
    /// A rate limit shared by every replica that names it: `limit`'s rate,
    /// burst and queue, its GCRA state kept in Redis under
    /// `steadfast:rate:<name>`, one atomic round trip a call (a Lua script
    /// by `EVALSHA`, timed by Redis's own clock, so that replicas whose
    /// clocks disagree share one timeline). Used as a local limiter is:
    /// attributes, [`KeyedRateLimiter`](super::KeyedRateLimiter) (one Redis
    /// key per key, gone when the key is idle), `LimitLayer`, generated
    /// clients through [`register`](super::register).
    ///
    /// When Redis does not answer within [`Cluster::timeout`] the call is
    /// decided by [`Cluster::when_unreachable`] (a local share of the rate
    /// by default) and the limiter stops asking Redis until a background
    /// probe reaches it again; both changes are events (`WARN`, `INFO`)
    /// and, with feature `opentelemetry`, the gauge
    /// `steadfast.limit.cluster.reachable`. [`try_acquire`](Self::try_acquire)
    /// cannot wait for a round trip: it always decides as if Redis were
    /// unreachable.
    ///
    /// `set_rate` changes this replica's rate from its next call; every
    /// replica should be told.
    ///
    /// # Panics
    ///
    /// When `limit` warms up: one warm-up could not stand for every replica
    /// (see [`try_cluster`](Self::try_cluster)).
    ///
    /// ```no_run
    /// use steadfast::RateLimiter;
    ///
    /// # async fn run() -> redis::RedisResult<()> {
    /// let redis = redis::aio::ConnectionManager::new(redis::Client::open("redis://127.0.0.1/")?).await?;
    /// let orders = RateLimiter::cluster(redis, "orders", RateLimiter::per_second(1000));
    /// if orders.acquire().await.is_ok() {
    ///     // one of at most 1,000 calls a second, all replicas together
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cluster(redis: impl Into<Cluster>, name: &'static str, limit: RateLimiter) -> Self {
        match Self::try_cluster(redis, name, limit) {
            Ok(limiter) => limiter,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`cluster`](Self::cluster), checked.
    ///
    /// # Errors
    ///
    /// When `limit` warms up.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use steadfast::RateLimiter;
    ///
    /// # async fn run(redis: redis::aio::ConnectionManager) {
    /// let warming = RateLimiter::per_second(10).warm_up(Duration::from_secs(10));
    /// assert!(RateLimiter::try_cluster(redis, "orders", warming).is_err());
    /// # }
    /// ```
    pub fn try_cluster(
        redis: impl Into<Cluster>,
        name: &'static str,
        limit: RateLimiter,
    ) -> Result<Self, super::LimitError> {
        if limit.warms_up() {
            return Err(super::LimitError(
                "a cluster rate limit does not warm up",
                ": make it from a RateLimiter without warm_up".to_owned(),
            ));
        }
        Ok(limit
            .named(name)
            .in_cluster(Remote::new(redis.into(), name)))
    }
}
