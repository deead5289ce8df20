//! [`RateLimiter`]: GCRA (the generic cell rate algorithm) on one atomic
//! word, the theoretical arrival time of the next call.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::limited::{LimitError, Limited, Which};
use super::warm_up::WarmUp;
use crate::{clock, deadline};

/// How many calls may start per unit of time: a steady rate, and a burst
/// admitted at once above it.
///
/// The rule (GCRA): calls are spaced one `period / count` apart on average;
/// up to `burst` may start at once when the limiter has been idle. Over any
/// window of time `w`, it admits at most `rate × w + burst` calls, and,
/// when calls keep coming, all but a rounding of that. The admit path
/// takes no lock and allocates nothing: one atomic read and one
/// compare-and-swap.
///
/// `const`, so that it can be a `static`; [`set_rate`](Self::set_rate)
/// changes it while running.
///
/// ```
/// use std::time::Duration;
/// use steadfast::RateLimiter;
///
/// static ORDERS: RateLimiter = RateLimiter::per_second(50)
///     .burst(10)
///     .queue(Duration::from_millis(500))
///     .named("orders");
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// for _ in 0..11 {
///     ORDERS.acquire().await.unwrap(); // ten at once, the eleventh waits its turn
/// }
/// assert_eq!(start.elapsed(), Duration::from_millis(20));
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    name: &'static str,
    /// Nanoseconds between two calls at the steady rate.
    interval: AtomicU64,
    /// The rate as it was set: calls per period (ns), for [`rate`](Self::rate).
    count: AtomicU32,
    period: AtomicU64,
    /// Calls admitted at once (at least 1).
    burst: AtomicU64,
    /// Whether `burst` was set, rather than following the count per period.
    burst_set: AtomicBool,
    /// The longest a call waits for its turn (zero: no queue).
    queue: Duration,
    /// When the next call would start at the steady rate, in nanoseconds
    /// on the crate's clock (0: no call yet). On a cache line of its own:
    /// every admitted call writes it, and the settings beside it are read by
    /// every call.
    tat: OwnLine,
    /// Sentinel's WARM_UP, when set.
    warm_up: Option<WarmUp>,
    /// Where the state is shared with other replicas (feature `redis`):
    /// kept for the life of the process (a `Box` would give the limiter
    /// drop glue, which its `const` builders cannot have).
    #[cfg(feature = "redis")]
    cluster: Option<&'static super::cluster::Remote>,
}

/// An atomic word alone on its cache line.
#[derive(Debug)]
#[repr(align(64))]
struct OwnLine(AtomicU64);

/// `count` calls per `period`, as nanoseconds between two (at least 1).
const fn interval(count: u32, period: Duration) -> u64 {
    let nanos = clock::nanos(period) / count as u64;
    if nanos == 0 {
        1
    } else {
        nanos
    }
}

impl RateLimiter {
    /// `count` calls a second, in bursts of up to `count`.
    ///
    /// # Panics
    ///
    /// When `count` is 0 (in a `static`, a compile error); see
    /// [`try_per_second`](Self::try_per_second).
    ///
    /// ```
    /// static API: steadfast::RateLimiter = steadfast::RateLimiter::per_second(100);
    /// assert_eq!(API.rate(), (100, std::time::Duration::from_secs(1)));
    /// ```
    pub const fn per_second(count: u32) -> Self {
        Self::per(count, Duration::from_secs(1))
    }

    /// `count` calls per `period`, in bursts of up to `count` (governor's
    /// default): `per(3000, Duration::from_secs(60))` is `3000/m`.
    ///
    /// # Panics
    ///
    /// When `count` is 0 or `period` is zero (in a `static`, a compile
    /// error); see [`try_per`](Self::try_per).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = steadfast::RateLimiter::per(3000, Duration::from_secs(60));
    /// assert_eq!(limiter.burst_size(), 3000);
    /// ```
    pub const fn per(count: u32, period: Duration) -> Self {
        assert!(
            count > 0,
            "a rate limit admits at least one call per period"
        );
        assert!(
            !period.is_zero(),
            "a rate limit's period is longer than zero"
        );
        Self {
            name: "",
            interval: AtomicU64::new(interval(count, period)),
            count: AtomicU32::new(count),
            period: AtomicU64::new(clock::nanos(period)),
            burst: AtomicU64::new(count as u64),
            burst_set: AtomicBool::new(false),
            queue: Duration::ZERO,
            tat: OwnLine(AtomicU64::new(0)),
            warm_up: None,
            #[cfg(feature = "redis")]
            cluster: None,
        }
    }

    /// [`per_second`](Self::per_second), checked.
    ///
    /// # Errors
    ///
    /// When `count` is 0.
    ///
    /// ```
    /// assert!(steadfast::RateLimiter::try_per_second(0).is_err());
    /// ```
    pub fn try_per_second(count: u32) -> Result<Self, LimitError> {
        Self::try_per(count, Duration::from_secs(1))
    }

    /// [`per`](Self::per), checked.
    ///
    /// # Errors
    ///
    /// When `count` is 0 or `period` is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// let error = steadfast::RateLimiter::try_per(5, Duration::ZERO).unwrap_err();
    /// assert_eq!(error.to_string(), "a rate limit's period is longer than zero, not 0ns");
    /// ```
    pub fn try_per(count: u32, period: Duration) -> Result<Self, LimitError> {
        check_rate(count, period)?;
        Ok(Self::per(count, period))
    }

    /// Admits up to `calls` at once above the steady rate (at least 1: one
    /// call at a time, evenly spaced). Over any window `w`, at most
    /// `rate × w + calls` start.
    ///
    /// # Panics
    ///
    /// When `calls` is 0 (in a `static`, a compile error); see
    /// [`try_burst`](Self::try_burst).
    ///
    /// ```
    /// let limiter = steadfast::RateLimiter::per_second(50).burst(10);
    /// assert_eq!(limiter.burst_size(), 10);
    /// ```
    #[must_use]
    pub const fn burst(self, calls: u32) -> Self {
        assert!(calls > 0, "a rate limit's burst admits at least one call");
        Self {
            burst: AtomicU64::new(calls as u64),
            burst_set: AtomicBool::new(true),
            ..self
        }
    }

    /// [`burst`](Self::burst), checked.
    ///
    /// # Errors
    ///
    /// When `calls` is 0.
    ///
    /// ```
    /// assert!(steadfast::RateLimiter::per_second(5).try_burst(0).is_err());
    /// ```
    pub fn try_burst(self, calls: u32) -> Result<Self, LimitError> {
        if calls == 0 {
            return Err(LimitError(
                "a rate limit's burst admits at least one call",
                ", not 0".to_owned(),
            ));
        }
        Ok(self.burst(calls))
    }

    /// Lets a call over the rate wait up to `max_wait` for its turn, the
    /// waiting calls evenly spaced (Sentinel's rate limiter, its
    /// `maxQueueingTimeMs`), instead of refusing it. A wait never goes past
    /// the current deadline: a call that could only start after it is
    /// refused at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = steadfast::RateLimiter::per_second(10).queue(Duration::from_millis(500));
    /// assert_eq!(limiter.max_wait(), Duration::from_millis(500));
    /// ```
    #[must_use]
    pub const fn queue(self, max_wait: Duration) -> Self {
        Self {
            queue: max_wait,
            ..self
        }
    }

    /// Warms up after a quiet spell (Sentinel's WARM_UP): a cold limiter
    /// admits a third of its rate, rising to all of it as calls keep coming,
    /// over about `period` (Sentinel's `WarmUpController`, cold factor 3);
    /// it cools down again when calls stay under a third of the rate. A new
    /// limiter starts cold.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::RateLimiter;
    ///
    /// static ORDERS: RateLimiter = RateLimiter::per_second(90).burst(1).warm_up(Duration::from_secs(10));
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// ORDERS.try_acquire().unwrap();
    /// // Cold: a third of 90 a second, one every 33 ms.
    /// let refused = ORDERS.try_acquire().unwrap_err();
    /// assert_eq!(refused.retry_after().unwrap().as_millis(), 33);
    /// # }
    /// ```
    #[must_use]
    pub const fn warm_up(self, period: Duration) -> Self {
        Self {
            warm_up: Some(WarmUp::new(clock::nanos(period))),
            ..self
        }
    }

    /// Names the limiter in its refusals ([`Limited::name`]) and events.
    ///
    /// ```
    /// static ORDERS: steadfast::RateLimiter = steadfast::RateLimiter::per_second(1).named("orders");
    /// assert_eq!(ORDERS.name(), "orders");
    /// ```
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Self { name, ..self }
    }

    /// The limiter's name, `""` when it has none.
    ///
    /// ```
    /// assert_eq!(steadfast::RateLimiter::per_second(1).name(), "");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The longest a call waits for its turn.
    ///
    /// ```
    /// assert!(steadfast::RateLimiter::per_second(1).max_wait().is_zero());
    /// ```
    pub const fn max_wait(&self) -> Duration {
        self.queue
    }

    /// The calls admitted at once.
    ///
    /// ```
    /// assert_eq!(steadfast::RateLimiter::per_second(7).burst_size(), 7);
    /// ```
    pub fn burst_size(&self) -> u32 {
        u32::try_from(self.burst.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// The steady rate, as it was set: calls per period.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = steadfast::RateLimiter::per(3000, Duration::from_secs(60));
    /// assert_eq!(limiter.rate(), (3000, Duration::from_secs(60)));
    /// ```
    pub fn rate(&self) -> (u32, Duration) {
        (
            self.count.load(Ordering::Relaxed),
            Duration::from_nanos(self.period.load(Ordering::Relaxed)),
        )
    }

    /// Changes the rate to `count` per `period`, from the next call on (a
    /// burst left to follow the count follows it). Sentinel's rules pushed
    /// at run time; resilience4j's `changeLimitForPeriod`.
    ///
    /// # Errors
    ///
    /// When `count` is 0 or `period` is zero; the rate is unchanged.
    ///
    /// ```
    /// static API: steadfast::RateLimiter = steadfast::RateLimiter::per_second(100);
    /// API.set_rate(200, std::time::Duration::from_secs(1)).unwrap();
    /// assert_eq!(API.rate().0, 200);
    /// assert_eq!(API.burst_size(), 200);
    /// ```
    pub fn set_rate(&self, count: u32, period: Duration) -> Result<(), LimitError> {
        check_rate(count, period)?;
        self.interval
            .store(interval(count, period), Ordering::Relaxed);
        self.count.store(count, Ordering::Relaxed);
        self.period.store(clock::nanos(period), Ordering::Relaxed);
        if !self.burst_set.load(Ordering::Relaxed) {
            self.burst.store(u64::from(count), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Changes the burst to `calls`, from the next call on; `None` lets it
    /// follow the rate's count again, as when no burst was set.
    ///
    /// # Errors
    ///
    /// When `calls` is `Some(0)`; the burst is unchanged.
    ///
    /// ```
    /// static API: steadfast::RateLimiter = steadfast::RateLimiter::per_second(100);
    /// API.set_burst(Some(5)).unwrap();
    /// assert_eq!(API.burst_size(), 5);
    /// API.set_burst(None).unwrap();
    /// assert_eq!(API.burst_size(), 100);
    /// ```
    pub fn set_burst(&self, calls: Option<u32>) -> Result<(), LimitError> {
        match calls {
            Some(0) => Err(LimitError(
                "a rate limit's burst admits at least one call",
                ", not 0".to_owned(),
            )),
            Some(calls) => {
                self.burst_set.store(true, Ordering::Relaxed);
                self.burst.store(u64::from(calls), Ordering::Relaxed);
                Ok(())
            }
            None => {
                self.burst_set.store(false, Ordering::Relaxed);
                let count = self.count.load(Ordering::Relaxed);
                self.burst.store(u64::from(count), Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Admits a call now, or refuses it at once (whatever the queue).
    ///
    /// # Errors
    ///
    /// [`Limited`], with the time until the limiter would admit a call.
    ///
    /// ```
    /// use std::time::Duration;
    /// static ONE: steadfast::RateLimiter = steadfast::RateLimiter::per_second(1);
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// ONE.try_acquire().unwrap();
    /// let refused = ONE.try_acquire().unwrap_err();
    /// assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    /// # }
    /// ```
    pub fn try_acquire(&self) -> Result<(), Limited> {
        #[cfg(feature = "redis")]
        if let Some(remote) = self.cluster {
            let now = clock::now();
            let turn = remote.without_redis(self.steady_cell(), |share| {
                self.reserve_in(share, now, |wait| wait == 0).map_err(Some)
            });
            return turn.map(drop).map_err(|wait| self.refused_after(wait));
        }
        match self.reserve(clock::now(), |wait| wait == 0) {
            Ok(_) => Ok(()),
            Err(wait) => Err(self.refused(wait)),
        }
    }

    /// Admits a call, after waiting for its turn when the limiter has a
    /// [`queue`](Self::queue) and the turn comes within it and before the
    /// current deadline; refuses it at once otherwise. A call whose future
    /// is dropped while it waits leaves its turn unused: the limiter admits
    /// less, never more.
    ///
    /// # Errors
    ///
    /// [`Limited`], with the time until the limiter would admit a call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{deadline, RateLimiter};
    ///
    /// static PACED: RateLimiter = RateLimiter::per_second(10).burst(1).queue(Duration::from_secs(1));
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// PACED.acquire().await.unwrap(); // at once
    /// PACED.acquire().await.unwrap(); // 100 ms later
    /// // Its turn would come 100 ms from now, after a 50 ms deadline: refused at once.
    /// let refused = deadline::scope(Duration::from_millis(50), PACED.acquire()).await.unwrap();
    /// assert!(refused.is_err());
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<(), Limited> {
        #[cfg(feature = "redis")]
        if let Some(remote) = self.cluster {
            // Boxed: a local limiter's future stays as small as it was.
            return Box::pin(self.acquire_in_cluster(remote)).await;
        }
        match self.reserve(clock::now(), self.fits()) {
            Ok(0) => Ok(()),
            Ok(wait) => self.take_turn(wait).await,
            Err(wait) => Err(self.refused(wait)),
        }
    }

    /// A cluster limiter's turn: from Redis, or decided here without it.
    #[cfg(feature = "redis")]
    async fn acquire_in_cluster(&self, remote: &super::cluster::Remote) -> Result<(), Limited> {
        let turn = remote
            .turn(
                remote.key_of(None),
                self.steady_cell(),
                self.queue,
                |share| {
                    self.reserve_in(share, clock::now(), self.fits())
                        .map_err(Some)
                },
            )
            .await;
        match turn {
            Ok(wait) => self.take_turn(wait).await,
            Err(wait) => Err(self.refused_after(wait)),
        }
    }

    /// Shares this limiter's state with other replicas through `remote`.
    #[cfg(feature = "redis")]
    pub(super) fn in_cluster(self, remote: super::cluster::Remote) -> Self {
        Self {
            cluster: Some(Box::leak(Box::new(remote))),
            ..self
        }
    }

    /// The limiter's side of Redis, when it is a cluster limit.
    #[cfg(feature = "redis")]
    pub(super) fn remote(&self) -> Option<&'static super::cluster::Remote> {
        self.cluster
    }

    /// Whether this is a cluster limit (its turns are a round trip to
    /// Redis).
    #[cfg(any(feature = "config", feature = "tonic"))]
    pub(crate) fn is_cluster(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.cluster.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// Whether this is a cluster limit whose Redis answers now (`None`: a
    /// local limit). After a miss, `Some(false)` until a background probe
    /// reaches Redis again.
    ///
    /// ```
    /// assert_eq!(steadfast::RateLimiter::per_second(1).redis_reachable(), None);
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_reachable(&self) -> Option<bool> {
        self.cluster.map(super::cluster::Remote::reachable)
    }

    /// Waits `wait` (ns) for an admitted call's turn.
    pub(super) async fn take_turn(&self, wait: u64) -> Result<(), Limited> {
        if wait == 0 {
            return Ok(());
        }
        crate::trace::event!(
            limit = self.name,
            wait_ms = wait / 1_000_000,
            "waiting for the rate limit"
        );
        let wait = Duration::from_nanos(wait);
        tokio::time::sleep(wait).await;
        super::waited(Which::Rate, self.name, wait);
        Ok(())
    }

    /// Takes the next turn if `fits` its wait (nanoseconds from `now`):
    /// the wait, or the wait refused.
    fn reserve(&self, now: u64, fits: impl Fn(u64) -> bool) -> Result<u64, u64> {
        self.reserve_in(self.cell(now), now, fits)
    }

    /// [`reserve`](Self::reserve) under `cell`.
    fn reserve_in(&self, cell: Cell, now: u64, fits: impl Fn(u64) -> bool) -> Result<u64, u64> {
        let mut current = self.tat.0.load(Ordering::Acquire);
        loop {
            let (next, wait) = cell.admit(current, now, &fits)?;
            match self.tat.0.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if let Some(warm_up) = &self.warm_up {
                        warm_up.passed();
                    }
                    return Ok(wait);
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether the limiter warms up.
    pub(super) const fn warms_up(&self) -> bool {
        self.warm_up.is_some()
    }

    /// The GCRA settings of a call at `now` (the interval warmed up).
    fn cell(&self, now: u64) -> Cell {
        let interval = self.interval.load(Ordering::Relaxed);
        match &self.warm_up {
            Some(warm_up) => self.cell_of(warm_up.interval(now, interval)),
            None => self.cell_of(interval),
        }
    }

    /// The GCRA settings at the steady rate, whatever the warm-up: a keyed
    /// limiter's (one warm-up state could not stand for every key).
    pub(super) fn steady_cell(&self) -> Cell {
        self.cell_of(self.interval.load(Ordering::Relaxed))
    }

    fn cell_of(&self, interval: u64) -> Cell {
        let burst = self.burst.load(Ordering::Relaxed).max(1);
        Cell {
            interval,
            tolerance: interval.saturating_mul(burst - 1),
        }
    }

    /// A call's wait (ns) fits: none, or within the queue and before the
    /// current deadline. Reads the clock again only to weigh a wait.
    pub(super) fn fits(&self) -> impl Fn(u64) -> bool {
        let queue = clock::nanos(self.queue);
        move |wait: u64| {
            wait == 0
                || (wait <= queue
                    && deadline::starts_in_time(
                        tokio::time::Instant::now().checked_add(Duration::from_nanos(wait)),
                    ))
        }
    }

    pub(super) fn refused(&self, wait: u64) -> Limited {
        self.refused_after(Some(wait))
    }

    /// A refusal that may name the wait (ns) that would have admitted it.
    pub(super) fn refused_after(&self, wait: Option<u64>) -> Limited {
        super::refused(Which::Rate, self.name);
        Limited::new(Which::Rate, self.name, wait.map(Duration::from_nanos))
    }
}

/// One GCRA step's settings: the interval between calls and the tolerance
/// (`interval × (burst − 1)`), in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cell {
    interval: u64,
    tolerance: u64,
}

impl Cell {
    /// A call at `now` against the theoretical arrival time `tat`: the new
    /// `tat` and the call's wait, when `fits` takes the wait; the wait
    /// refused otherwise. The one rule of every rate limit here.
    pub(super) fn admit(
        self,
        tat: u64,
        now: u64,
        fits: impl Fn(u64) -> bool,
    ) -> Result<(u64, u64), u64> {
        let tat = tat.max(now);
        let wait = tat.saturating_sub(self.tolerance).saturating_sub(now);
        if !fits(wait) {
            return Err(wait);
        }
        Ok((tat.saturating_add(self.interval), wait))
    }

    /// The interval and the tolerance in whole microseconds (the interval at
    /// least 1), as Redis's clock counts them.
    #[cfg(feature = "redis")]
    pub(super) fn micros(self) -> (u64, u64) {
        ((self.interval / 1000).max(1), self.tolerance / 1000)
    }

    /// The cell of one of `replicas` equal shares: the interval times
    /// `replicas`, the burst divided by it (at least one call).
    #[cfg(feature = "redis")]
    pub(super) fn share(self, replicas: u32) -> Self {
        let burst = self.tolerance / self.interval.max(1) + 1;
        let burst = (burst / u64::from(replicas.max(1))).max(1);
        let interval = self.interval.saturating_mul(u64::from(replicas.max(1)));
        Self {
            interval,
            tolerance: interval.saturating_mul(burst - 1),
        }
    }

    /// Whether a key whose next call was due at `tat` is, at `now`, as a
    /// key never seen: its record can go.
    pub(super) fn idle(tat: u64, now: u64) -> bool {
        tat <= now
    }
}

fn check_rate(count: u32, period: Duration) -> Result<(), LimitError> {
    if count == 0 {
        return Err(LimitError(
            "a rate limit admits at least one call per period",
            ", not 0".to_owned(),
        ));
    }
    if period.is_zero() {
        return Err(LimitError(
            "a rate limit's period is longer than zero",
            format!(", not {period:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
