//! [`AdaptiveThrottle`]: client-side adaptive throttling, as the Google SRE
//! book's "Handling Overload" describes it and Kratos and go-zero use it in
//! place of a breaker. It is a [`CircuitBreaker`] in another mode: the
//! breaker's window counts requests and the ones the service accepted, and
//! each call is refused with the odds those give, instead of the breaker
//! opening.

use std::cell::Cell;
use std::time::Duration;

use super::CircuitBreaker;
use crate::backoff::rng::Rng;
use crate::window::{Window, MAX_BUCKETS};

/// Client-side adaptive throttling: each call is refused here, at once,
/// with probability `max(0, (requests − K·accepts) / (requests + 1))` over
/// a sliding window (2 minutes, K = 2 by default), where `requests` counts
/// every call made (refused here or not) and `accepts` the ones the service
/// answered without a fault. While the service accepts more than 1/K of
/// the calls nothing is refused; as it accepts fewer, more are refused
/// here, and a few still go through to see whether it recovered.
///
/// It is a [`CircuitBreaker`] (it dereferences to one), so that it goes
/// wherever one does: `#[circuit_breaker(THROTTLE)]`, or `acquire` by hand.
/// A refusal is a [`CircuitOpen`](crate::CircuitOpen) whose
/// [`is_throttled`](crate::CircuitOpen::is_throttled) is true (for tonic,
/// `UNAVAILABLE`), with the window's slice as `retry_after`: a retry that
/// honours it does not come back at once to roll the dice again. What
/// counts as a fault is the breaker's rule ([`Fault`](crate::breaker::Fault)).
///
/// ```
/// use std::io;
/// use steadfast::AdaptiveThrottle;
///
/// static USERS: AdaptiveThrottle = AdaptiveThrottle::new();
///
/// #[steadfast::circuit_breaker(USERS)]
/// async fn get_user(down: bool) -> io::Result<&'static str> {
///     if down { Err(io::Error::other("down")) } else { Ok("ada") }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// for _ in 0..100 {
///     get_user(false).await.unwrap();
/// }
/// assert_eq!(USERS.rejection_probability(), 0.0);
/// // The service goes down: as its failures pile up, more calls are refused here.
/// let mut refused_here = 0;
/// for _ in 0..1000 {
///     let error = get_user(true).await.unwrap_err();
///     if error.to_string().starts_with("throttled") {
///         refused_here += 1;
///     }
/// }
/// assert!(refused_here > 300, "{refused_here}");
/// assert!(USERS.rejection_probability() > 0.7);
/// # }
/// ```
#[derive(Debug)]
pub struct AdaptiveThrottle {
    breaker: CircuitBreaker,
}

impl std::ops::Deref for AdaptiveThrottle {
    type Target = CircuitBreaker;

    fn deref(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl Default for AdaptiveThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl AdaptiveThrottle {
    /// The SRE book's defaults: K = 2, over 2 minutes.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(120);

    /// K = 2 over 2 minutes (12 slices of 10 s).
    ///
    /// ```
    /// let throttle = steadfast::AdaptiveThrottle::new();
    /// assert_eq!(throttle.rejection_probability(), 0.0);
    /// ```
    pub const fn new() -> Self {
        Self {
            breaker: CircuitBreaker::new().throttling(2.0, Self::DEFAULT_WINDOW, 12),
        }
    }

    /// `K`: refusals start once the service accepts fewer than 1/K of the
    /// calls. Lower is more aggressive (1 refuses as soon as any call
    /// fails); the SRE book's is 2.
    ///
    /// # Panics
    ///
    /// When `k` is below 1 (in a `static`, a compile error).
    ///
    /// ```
    /// let throttle = steadfast::AdaptiveThrottle::new().k(1.5);
    /// # let _ = throttle;
    /// ```
    #[must_use]
    pub const fn k(self, k: f64) -> Self {
        assert!(k >= 1.0, "an adaptive throttle's K is at least 1");
        let window = self.breaker.window_length();
        Self {
            breaker: self.breaker.throttling(k, window, 12),
        }
    }

    /// The window `requests` and `accepts` are counted over, in 12 slices.
    ///
    /// # Panics
    ///
    /// When `length` is shorter than 12 ns (in a `static`, a compile error).
    ///
    /// ```
    /// use std::time::Duration;
    /// let throttle = steadfast::AdaptiveThrottle::new().window(Duration::from_secs(30));
    /// assert_eq!(throttle.window_length(), Duration::from_secs(30));
    /// ```
    #[must_use]
    pub const fn window(self, length: Duration) -> Self {
        let k = match self.breaker.throttle {
            Some(k) => k,
            None => 2.0,
        };
        Self {
            breaker: self.breaker.throttling(k, length, 12),
        }
    }

    /// A name, for events.
    ///
    /// ```
    /// assert_eq!(steadfast::AdaptiveThrottle::new().named("users").label(), "users");
    /// ```
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Self {
            breaker: self.breaker.name(name),
        }
    }

    /// The throttle as the [`CircuitBreaker`] it is, to own where one is
    /// expected (a breaker of a function's own: `#[circuit_breaker(throttle
    /// = 2.0)]`).
    ///
    /// ```
    /// let breaker: steadfast::CircuitBreaker = steadfast::AdaptiveThrottle::new().into_breaker();
    /// assert_eq!(breaker.state(), steadfast::CircuitState::Closed);
    /// ```
    pub const fn into_breaker(self) -> CircuitBreaker {
        self.breaker
    }

    /// The odds that a call made now is refused.
    ///
    /// ```
    /// assert_eq!(steadfast::AdaptiveThrottle::new().rejection_probability(), 0.0);
    /// ```
    pub fn rejection_probability(&self) -> f64 {
        let k = self.breaker.throttle.unwrap_or(2.0);
        self.breaker.rejection_odds(crate::clock::now(), k)
    }
}

impl CircuitBreaker {
    /// This breaker as an adaptive throttle of `k` over `length` in
    /// `buckets` slices.
    const fn throttling(mut self, k: f64, length: Duration, buckets: usize) -> Self {
        let buckets = if buckets > MAX_BUCKETS {
            MAX_BUCKETS
        } else {
            buckets
        };
        self.calls = Window::new(length, buckets);
        self.throttle = Some(k);
        self
    }
}

/// A draw against `odds`: whether to refuse.
pub(super) fn refuse(odds: f64) -> bool {
    if odds <= 0.0 {
        return false;
    }
    thread_local! {
        static RNG: Cell<Option<Rng>> = const { Cell::new(None) };
    }
    RNG.with(|cell| {
        let mut rng = cell.take().unwrap_or_else(Rng::from_entropy);
        let refused = rng.unit() < odds;
        cell.set(Some(rng));
        refused
    })
}
