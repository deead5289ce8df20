//! Circuit breaking: stop calling a service that keeps failing, and fail
//! fast instead, until a few probe calls show it has recovered.
//!
//! [`CircuitBreaker`] holds the state, shared by every call that names it;
//! `#[circuit_breaker]` drives it around a function, and generated clients
//! keep one per method. The state machine, the only place its rules live:
//!
//! - **Closed**: calls go through; their outcomes are counted in a sliding
//!   window of time slices. When the window holds at least `min_calls`
//!   calls and failures reach `failure_ratio` of them, or slow calls reach
//!   `slow_ratio` of them (with [`slow_calls`](CircuitBreaker::slow_calls)),
//!   or failures reach `failure_count` whatever the number of calls, it
//!   opens.
//! - **Open**: calls fail at once with [`CircuitOpen`] for `open_for`.
//! - **Half-open**: the next `half_open_calls` calls go through as probes,
//!   the rest fail at once. Every probe succeeds: closed, window cleared. One
//!   fails (or is slow): open again. A probe whose future is dropped gives its
//!   place to the next call.
//!
//! The closed path takes no lock and allocates nothing: a success is one
//! atomic add, and the clock is read only every few calls (see the window's
//! notes in [`CircuitBreaker::window`]), on failures, and with a slow-call
//! rule. Time is the CPU's time-stamp counter; with feature `test-util`,
//! tokio's clock, so that a paused clock drives it in tests.

#[cfg(feature = "opentelemetry")]
mod metrics;
mod open;
mod throttle;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use open::{CircuitOpen, CircuitState, Fault};
pub use throttle::AdaptiveThrottle;

use crate::clock;
use crate::window::Window;

// The state word: [epoch: 31][probes succeeded: 15][probes let through: 15][forced: 1][state: 2].
const STATE_MASK: u64 = 0b11;
const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const FORCED: u64 = 1 << 2;
const ISSUED_SHIFT: u32 = 3;
const OK_SHIFT: u32 = 18;
const EPOCH_SHIFT: u32 = 33;
const FIELD: u64 = (1 << 15) - 1;

const fn word(state: u64, epoch: u64) -> u64 {
    state | (epoch << EPOCH_SHIFT)
}

const fn epoch(word: u64) -> u64 {
    word >> EPOCH_SHIFT
}

const fn next_epoch(word: u64) -> u64 {
    (epoch(word) + 1) & ((1 << 31) - 1)
}

const fn issued(word: u64) -> u64 {
    (word >> ISSUED_SHIFT) & FIELD
}

const fn succeeded(word: u64) -> u64 {
    (word >> OK_SHIFT) & FIELD
}

/// The most probe calls a half-open breaker lets through.
pub(crate) const MAX_HALF_OPEN_CALLS: u32 = FIELD as u32;

/// A hook called on every change of state, with the breaker, the state it
/// left and the state it entered.
pub type OnChange = fn(&CircuitBreaker, CircuitState, CircuitState);

/// A circuit breaker: the failures of the calls that share it, and whether
/// calls may go through now. See the [module documentation](self) for the
/// rules.
///
/// `const`, so that it can be a `static` that many functions name, or the
/// field of a client that its clones share (in an `Arc`).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{CircuitBreaker, CircuitOpen, CircuitState};
///
/// static USERS: CircuitBreaker = CircuitBreaker::new()
///     .failure_ratio(0.5)
///     .min_calls(4)
///     .window(Duration::from_secs(10))
///     .open_for(Duration::from_secs(5))
///     .half_open_calls(1);
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// for _ in 0..4 {
///     USERS.acquire().unwrap().failure();
/// }
/// assert_eq!(USERS.state(), CircuitState::Open);
/// let refused: CircuitOpen = USERS.acquire().unwrap_err();
/// assert_eq!(refused.retry_after(), Duration::from_secs(5));
///
/// tokio::time::advance(Duration::from_secs(5)).await;
/// let probe = USERS.acquire().unwrap();
/// assert_eq!(USERS.state(), CircuitState::HalfOpen);
/// probe.success();
/// assert_eq!(USERS.state(), CircuitState::Closed);
/// # }
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    failure_ratio: f64,
    min_calls: u64,
    open_for: Duration,
    half_open_calls: u64,
    slow: Option<(Duration, f64)>,
    failure_count: Option<u64>,
    on_change: Option<OnChange>,
    state: AtomicU64,
    open_until: AtomicU64,
    /// Calls (a) and failures (b).
    calls: Window,
    /// Slow calls (a), with a slow-call rule.
    slow_calls: Window,
    /// An adaptive throttle's `K` ([`AdaptiveThrottle`]): then `calls`
    /// counts requests (a) and the ones the service accepted (b), and the
    /// breaker never opens.
    throttle: Option<f64>,
}

/// The defaults of [`CircuitBreaker::new`], as DESIGN.md and the attribute
/// state them.
impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new()
    }
}

impl CircuitBreaker {
    /// The default window: 10 s.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);
    /// The default open period: 5 s.
    pub const DEFAULT_OPEN_FOR: Duration = Duration::from_secs(5);
    /// The default number of slices in the window: 10.
    pub const DEFAULT_BUCKETS: usize = 10;

    /// A closed breaker that opens at 50% failures over 10 s once 20 calls
    /// were seen, stays open 5 s, then lets 3 probes through.
    ///
    /// ```
    /// static BREAKER: steadfast::CircuitBreaker = steadfast::CircuitBreaker::new();
    /// assert_eq!(BREAKER.state(), steadfast::CircuitState::Closed);
    /// ```
    pub const fn new() -> Self {
        Self {
            name: "",
            failure_ratio: 0.5,
            min_calls: 20,
            open_for: Self::DEFAULT_OPEN_FOR,
            half_open_calls: 3,
            slow: None,
            failure_count: None,
            on_change: None,
            state: AtomicU64::new(word(CLOSED, 0)),
            open_until: AtomicU64::new(0),
            calls: Window::new(Self::DEFAULT_WINDOW, Self::DEFAULT_BUCKETS),
            slow_calls: Window::new(Self::DEFAULT_WINDOW, Self::DEFAULT_BUCKETS),
            throttle: None,
        }
    }

    /// A name, for hooks and logs.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().name("users");
    /// assert_eq!(b.label(), "users");
    /// ```
    pub const fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The breaker's name (`""` unless [`name`](Self::name) set one).
    ///
    /// ```
    /// assert_eq!(steadfast::CircuitBreaker::new().label(), "");
    /// ```
    pub const fn label(&self) -> &'static str {
        self.name
    }

    /// Open when failures reach this fraction of the calls in the window
    /// (clamped to `0.0..=1.0`; Sentinel's error ratio). Default 0.5.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().failure_ratio(0.25);
    /// # let _ = b;
    /// ```
    pub const fn failure_ratio(mut self, ratio: f64) -> Self {
        self.failure_ratio = clamp_ratio(ratio);
        self
    }

    /// The ratio rules wait until the window holds this many calls
    /// (Sentinel's `minRequestAmount`, resilience4j's
    /// `minimumNumberOfCalls`). Default 20; 0 counts as 1.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().min_calls(100);
    /// # let _ = b;
    /// ```
    pub const fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = if calls == 0 { 1 } else { calls as u64 };
        self
    }

    /// The length of the sliding window (Sentinel's `statIntervalMs`).
    /// Default 10 s, cut into 10 slices.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().window(std::time::Duration::from_secs(60));
    /// assert_eq!(b.window_length(), std::time::Duration::from_secs(60));
    /// ```
    pub const fn window(mut self, length: Duration) -> Self {
        let buckets = self.calls.buckets();
        self.calls = Window::new(length, buckets);
        self.slow_calls = Window::new(length, buckets);
        self
    }

    /// How many slices the window is cut into (1 to 20; default 10): a
    /// slice's outcomes leave the window together.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().buckets(5);
    /// # let _ = b;
    /// ```
    pub const fn buckets(mut self, buckets: usize) -> Self {
        let length = self.calls.length();
        self.calls = Window::new(length, buckets);
        self.slow_calls = Window::new(length, buckets);
        self
    }

    /// The window's length.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// assert_eq!(b.window_length(), steadfast::CircuitBreaker::DEFAULT_WINDOW);
    /// ```
    pub const fn window_length(&self) -> Duration {
        self.calls.length()
    }

    /// How long calls fail fast once open (Sentinel's `retryTimeoutMs`).
    /// Default 5 s.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().open_for(std::time::Duration::from_secs(30));
    /// # let _ = b;
    /// ```
    pub const fn open_for(mut self, duration: Duration) -> Self {
        self.open_for = duration;
        self
    }

    /// How many probe calls a half-open breaker lets through (1 to
    /// 32,767; more is taken as that). Default 3.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().half_open_calls(1);
    /// # let _ = b;
    /// ```
    pub const fn half_open_calls(mut self, calls: u32) -> Self {
        self.half_open_calls = if calls == 0 {
            1
        } else if calls > MAX_HALF_OPEN_CALLS {
            MAX_HALF_OPEN_CALLS as u64
        } else {
            calls as u64
        };
        self
    }

    /// Also open when calls slower than `threshold` reach `ratio` of the
    /// calls in the window (Sentinel's slow request ratio). A slow probe
    /// fails the half-open state. With this rule, each call reads the clock
    /// twice.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = steadfast::CircuitBreaker::new().slow_calls(Duration::from_secs(1), 0.8);
    /// # let _ = b;
    /// ```
    pub const fn slow_calls(mut self, threshold: Duration, ratio: f64) -> Self {
        self.slow = Some((threshold, clamp_ratio(ratio)));
        self
    }

    /// Also open when the window holds this many failures, however many
    /// calls it holds (Sentinel's error count; `min_calls` does not apply).
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new().failure_count(5);
    /// # let _ = b;
    /// ```
    pub const fn failure_count(mut self, failures: u32) -> Self {
        self.failure_count = Some(if failures == 0 { 1 } else { failures as u64 });
        self
    }

    /// Calls `hook` on every change of state (from the thread that made
    /// it): for logs and metrics. With feature `tracing`, every change is
    /// also an `INFO` event (`breaker`, `from`, `to`); with feature
    /// `opentelemetry`, a count on `steadfast.circuit_breaker.transitions`.
    ///
    /// ```
    /// use steadfast::{CircuitBreaker, CircuitState};
    ///
    /// fn log(b: &CircuitBreaker, from: CircuitState, to: CircuitState) {
    ///     eprintln!("breaker {}: {from} -> {to}", b.label());
    /// }
    /// static B: CircuitBreaker = CircuitBreaker::new().name("users").on_change(log);
    /// B.force_open();
    /// ```
    pub const fn on_change(mut self, hook: OnChange) -> Self {
        self.on_change = Some(hook);
        self
    }

    /// Where the breaker stands now. An open breaker whose open period is
    /// over reads `Open` until the next call makes it half-open.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// assert_eq!(b.state(), steadfast::CircuitState::Closed);
    /// ```
    pub fn state(&self) -> CircuitState {
        state_of(self.state.load(Ordering::Acquire))
    }

    /// Opens the breaker until [`reset`](Self::reset): for operators taking
    /// a dependency out of service.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// b.force_open();
    /// assert!(b.acquire().is_err());
    /// b.reset();
    /// assert!(b.acquire().is_ok());
    /// ```
    pub fn force_open(&self) {
        self.transition(|w| Some(word(OPEN | FORCED, next_epoch(w))));
    }

    /// Closes the breaker and forgets the window.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// b.reset();
    /// assert_eq!(b.state(), steadfast::CircuitState::Closed);
    /// ```
    pub fn reset(&self) {
        self.transition(|w| Some(word(CLOSED, next_epoch(w))));
    }

    /// Asks to make a call: a [`Permit`] to report its outcome with, or
    /// [`CircuitOpen`] when the call must fail fast.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// let permit = b.acquire().expect("closed");
    /// permit.success();
    /// ```
    #[inline]
    pub fn acquire(&self) -> Result<Permit<'_>, CircuitOpen> {
        let w = self.state.load(Ordering::Acquire);
        if w & STATE_MASK == CLOSED {
            if let Some(k) = self.throttle {
                return self.acquire_throttled(w, k);
            }
            return Ok(self.permit(w, false));
        }
        self.acquire_slow(w)
    }

    /// An adaptive throttle's admission (Google SRE, "Handling Overload"):
    /// refused with probability `max(0, (requests − K·accepts) /
    /// (requests + 1))` over the window; every request counts, refused or
    /// not.
    fn acquire_throttled(&self, w: u64, k: f64) -> Result<Permit<'_>, CircuitOpen> {
        let now = clock::now();
        let refused = throttle::refuse(self.rejection_odds(now, k));
        self.calls.add(now, 1, 0);
        if refused {
            crate::trace::event!(breaker = self.name, "throttled");
            let slice = self.calls.length() / self.calls.buckets() as u32;
            return Err(CircuitOpen::throttled(slice));
        }
        Ok(self.permit(w, false))
    }

    /// An adaptive throttle's odds of refusing a call at `now`.
    fn rejection_odds(&self, now: u64, k: f64) -> f64 {
        let counts = self.calls.counts(now);
        let (requests, accepts) = (counts.a as f64, counts.b as f64);
        ((requests - k * accepts) / (requests + 1.0)).max(0.0)
    }

    #[inline]
    fn permit(&self, w: u64, probe: bool) -> Permit<'_> {
        Permit {
            breaker: self,
            epoch: epoch(w),
            probe,
            started: if self.slow.is_some() { clock::now() } else { 0 },
            deadline: crate::deadline::current(),
            done: false,
        }
    }

    #[cold]
    fn acquire_slow(&self, mut w: u64) -> Result<Permit<'_>, CircuitOpen> {
        loop {
            let next = match w & STATE_MASK {
                CLOSED => return Ok(self.permit(w, false)),
                OPEN if w & FORCED != 0 => return Err(CircuitOpen::new(self.open_for)),
                OPEN => {
                    let now = clock::now();
                    let until = self.open_until.load(Ordering::Acquire);
                    if now < until {
                        return Err(CircuitOpen::new(Duration::from_nanos(until - now)));
                    }
                    word(HALF_OPEN | (1 << ISSUED_SHIFT), next_epoch(w))
                }
                _ => {
                    if issued(w) >= self.half_open_calls {
                        return Err(CircuitOpen::new(self.open_for));
                    }
                    w + (1 << ISSUED_SHIFT)
                }
            };
            match self
                .state
                .compare_exchange_weak(w, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if w & STATE_MASK == OPEN {
                        self.changed(w, next);
                    }
                    return Ok(self.permit(next, true));
                }
                Err(actual) => w = actual,
            }
        }
    }

    /// Moves to the state `to` computes from the current word (if it
    /// returns `Some`), running the side effects of the new state.
    fn transition(&self, to: impl Fn(u64) -> Option<u64>) -> bool {
        let mut w = self.state.load(Ordering::Acquire);
        loop {
            let Some(next) = to(w) else { return false };
            if next & STATE_MASK == OPEN {
                // Before the state, so that whoever sees `Open` sees its end.
                let until = clock::now().saturating_add(clock::nanos(self.open_for));
                self.open_until.store(until, Ordering::Release);
            }
            match self
                .state
                .compare_exchange(w, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if next & STATE_MASK == CLOSED {
                        self.calls.clear();
                        self.slow_calls.clear();
                    }
                    self.changed(w, next);
                    return true;
                }
                Err(actual) => w = actual,
            }
        }
    }

    /// Takes over from `old`, as the breaker that replaces it under new
    /// settings: open stays open as long as it was to (forced: until
    /// reset); half-open starts its probes again on this breaker; closed
    /// stays closed, its window empty. Only on a fresh breaker, before any
    /// call asks it.
    #[cfg(feature = "config")]
    pub(crate) fn take_over(&self, old: &CircuitBreaker) {
        let w = old.state.load(Ordering::Acquire);
        let next = match w & STATE_MASK {
            CLOSED => return,
            OPEN if w & FORCED != 0 => OPEN | FORCED,
            OPEN => {
                let until = old.open_until.load(Ordering::Acquire);
                self.open_until.store(until, Ordering::Release);
                OPEN
            }
            _ => {
                self.open_until.store(clock::now(), Ordering::Release);
                OPEN
            }
        };
        let mine = self.state.load(Ordering::Acquire);
        self.state
            .store(word(next, next_epoch(mine)), Ordering::Release);
    }

    fn changed(&self, from: u64, to: u64) {
        let (from, to) = (state_of(from), state_of(to));
        if from != to {
            crate::trace::event!(breaker = self.name, %from, %to, "circuit breaker changed state");
            #[cfg(feature = "opentelemetry")]
            metrics::changed(self.name, from.as_str(), to.as_str());
            if let Some(hook) = self.on_change {
                hook(self, from, to);
            }
        }
    }

    /// A closed-state outcome.
    #[inline]
    fn record_closed(&self, epoch_seen: u64, failed: bool, slow: bool) {
        if !failed && !slow && self.slow.is_none() && self.throttle.is_none() {
            self.calls.add_pending();
            return;
        }
        self.record_counted(epoch_seen, failed, slow);
    }

    #[cold]
    fn record_counted(&self, epoch_seen: u64, failed: bool, slow: bool) {
        let now = clock::now();
        if self.throttle.is_some() {
            // Accepted by the service: not a fault. A throttle never opens.
            if !failed {
                self.calls.add(now, 0, 1);
            }
            return;
        }
        self.calls.flush(now);
        self.calls.add(now, 1, u64::from(failed));
        if slow {
            self.slow_calls.add(now, 1, 0);
        }
        if !failed && !slow {
            return;
        }
        let counts = self.calls.counts(now);
        let (calls, failures) = (counts.a, counts.b);
        let mut trip = self.failure_count.is_some_and(|n| failures >= n);
        if calls >= self.min_calls {
            trip |= failures as f64 >= self.failure_ratio * calls as f64;
            if let Some((_, ratio)) = self.slow {
                let slow = self.slow_calls.counts(now).a;
                trip |= slow as f64 >= ratio * calls as f64;
            }
        }
        if trip {
            self.transition(|w| {
                (w & STATE_MASK == CLOSED && epoch(w) == epoch_seen)
                    .then(|| word(OPEN, next_epoch(w)))
            });
        }
    }

    /// A probe's outcome.
    #[cold]
    fn record_probe(&self, epoch_seen: u64, failed: bool) {
        let needed = self.half_open_calls;
        self.transition(|w| {
            if w & STATE_MASK != HALF_OPEN || epoch(w) != epoch_seen {
                return None;
            }
            Some(if failed {
                word(OPEN, next_epoch(w))
            } else if succeeded(w) + 1 >= needed {
                word(CLOSED, next_epoch(w))
            } else {
                w + (1 << OK_SHIFT)
            })
        });
    }

    /// A probe that ended without an outcome gives its place back.
    #[cold]
    fn release_probe(&self, epoch_seen: u64) {
        self.transition(|w| {
            (w & STATE_MASK == HALF_OPEN && epoch(w) == epoch_seen && issued(w) > 0)
                .then(|| w - (1 << ISSUED_SHIFT))
        });
    }

    #[inline]
    fn is_slow(&self, started: u64) -> bool {
        match self.slow {
            Some((threshold, _)) => clock::now().saturating_sub(started) > clock::nanos(threshold),
            None => false,
        }
    }
}

const fn clamp_ratio(ratio: f64) -> f64 {
    if ratio.is_nan() || ratio < 0.0 {
        0.0
    } else if ratio > 1.0 {
        1.0
    } else {
        ratio
    }
}

const fn state_of(w: u64) -> CircuitState {
    match w & STATE_MASK {
        CLOSED => CircuitState::Closed,
        OPEN => CircuitState::Open,
        _ => CircuitState::HalfOpen,
    }
}

/// Leave to make one call through a [`CircuitBreaker`]: report how it
/// ended with [`success`](Self::success), [`failure`](Self::failure) or
/// [`record`](Self::record). A permit dropped without an outcome counts as
/// a failure when the deadline the call ran under ([`deadline::current`](crate::deadline::current)
/// when it was acquired) has passed: its timer dropped the call. Otherwise
/// (the caller gave up) it counts as nothing, and a probe gives its place to
/// the next call.
///
/// ```
/// let b = steadfast::CircuitBreaker::new();
/// let permit = b.acquire().unwrap();
/// permit.record(false);
/// ```
#[derive(Debug)]
#[must_use = "report the call's outcome with `success()`, `failure()` or `record(..)`"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    epoch: u64,
    probe: bool,
    started: u64,
    deadline: Option<tokio::time::Instant>,
    done: bool,
}

impl Permit<'_> {
    /// Whether this call is a probe of a half-open breaker.
    ///
    /// ```
    /// let b = steadfast::CircuitBreaker::new();
    /// assert!(!b.acquire().unwrap().is_probe());
    /// ```
    pub const fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded.
    ///
    /// ```
    /// steadfast::CircuitBreaker::new().acquire().unwrap().success();
    /// ```
    #[inline]
    pub fn success(self) {
        self.record(false);
    }

    /// The call failed in a way that counts against the service.
    ///
    /// ```
    /// steadfast::CircuitBreaker::new().acquire().unwrap().failure();
    /// ```
    #[inline]
    pub fn failure(self) {
        self.record(true);
    }

    /// The call ended, failed or not.
    ///
    /// ```
    /// steadfast::CircuitBreaker::new().acquire().unwrap().record(true);
    /// ```
    #[inline]
    pub fn record(mut self, failed: bool) {
        self.finish(failed);
        // Reported: nothing left for `Drop` to do, so skip its call.
        std::mem::forget(self);
    }

    #[inline]
    fn finish(&mut self, failed: bool) {
        self.done = true;
        let breaker = self.breaker;
        let slow = breaker.slow.is_some() && breaker.is_slow(self.started);
        if self.probe {
            breaker.record_probe(self.epoch, failed || slow);
        } else {
            breaker.record_closed(self.epoch, failed, slow);
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self
            .deadline
            .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
        {
            self.finish(true);
        } else if self.probe {
            self.breaker.release_probe(self.epoch);
        }
    }
}

#[cfg(test)]
mod tests;
