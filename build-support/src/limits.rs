//! Flow-control settings of a method's policy: the keys of
//! `#[rate_limit(..)]` and `#[concurrency_limit(..)]`.

use std::time::Duration;

use crate::policy::duration_literal;

/// A rate limit: `count` calls per `period`, a burst above it, a queue.
///
/// ```
/// use std::time::Duration;
/// use steadfast_build::RateLimit;
///
/// let orders = RateLimit::new(50, Duration::from_secs(1))
///     .burst(10)
///     .queue(Duration::from_millis(500));
/// # let _ = orders;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub(crate) count: u32,
    pub(crate) period: Duration,
    pub(crate) burst: Option<u32>,
    pub(crate) queue: Option<Duration>,
    pub(crate) warm_up: Option<Duration>,
}

impl RateLimit {
    /// `count` calls per `period`, in bursts of up to `count`.
    ///
    /// ```
    /// let _ = steadfast_build::RateLimit::new(3000, std::time::Duration::from_secs(60));
    /// ```
    pub fn new(count: u32, period: Duration) -> Self {
        Self {
            count,
            period,
            burst: None,
            queue: None,
            warm_up: None,
        }
    }

    /// Calls admitted at once above the rate (at least 1).
    ///
    /// ```
    /// let _ = steadfast_build::RateLimit::new(50, std::time::Duration::from_secs(1)).burst(10);
    /// ```
    pub fn burst(mut self, calls: u32) -> Self {
        self.burst = Some(calls);
        self
    }

    /// The longest a call waits for its turn (never past its deadline).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = steadfast_build::RateLimit::new(50, Duration::from_secs(1)).queue(Duration::from_millis(500));
    /// ```
    pub fn queue(mut self, max_wait: Duration) -> Self {
        self.queue = Some(max_wait);
        self
    }

    /// Warms up after a quiet spell, from a third of the rate to all of it
    /// over about `period` (Sentinel's WARM_UP).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = steadfast_build::RateLimit::new(50, Duration::from_secs(1)).warm_up(Duration::from_secs(10));
    /// ```
    pub fn warm_up(mut self, period: Duration) -> Self {
        self.warm_up = Some(period);
        self
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.warm_up.is_some_and(|d| d.is_zero()) {
            problems.push("warm_up must be longer than zero".to_owned());
        }
        if self.count == 0 {
            problems.push("rate admits at least one call per period".to_owned());
        }
        if self.period.is_zero() {
            problems.push("rate's period must be longer than zero".to_owned());
        }
        if self.burst == Some(0) {
            problems.push("burst must be at least 1".to_owned());
        }
        problems
    }

    /// The arguments of `#[steadfast::rate_limit(..)]`, for docs.
    pub(crate) fn attribute_args(&self) -> String {
        let mut args = format!("rate = {}/{}", self.count, duration_literal(self.period));
        if let Some(burst) = self.burst {
            args.push_str(&format!(", burst = {burst}"));
        }
        if let Some(queue) = self.queue {
            args.push_str(&format!(", queue = {}", duration_literal(queue)));
        }
        if let Some(warm_up) = self.warm_up {
            args.push_str(&format!(", warm_up = {}", duration_literal(warm_up)));
        }
        args
    }
}

/// A concurrency limit (bulkhead): `max` calls in flight, a queue.
///
/// ```
/// use std::time::Duration;
/// let db = steadfast_build::Concurrency::new(32).queue(Duration::from_millis(100));
/// # let _ = db;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    pub(crate) max: u32,
    pub(crate) queue: Option<Duration>,
}

impl Concurrency {
    /// At most `max` calls in flight.
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::new(8);
    /// ```
    pub fn new(max: u32) -> Self {
        Self { max, queue: None }
    }

    /// The longest a call waits for a place (never past its deadline).
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::new(8).queue(std::time::Duration::from_millis(100));
    /// ```
    pub fn queue(mut self, max_wait: Duration) -> Self {
        self.queue = Some(max_wait);
        self
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn problems(&self) -> Vec<String> {
        if self.max == 0 {
            vec!["max must be at least 1".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// The arguments of `#[steadfast::concurrency_limit(..)]`, for docs.
    pub(crate) fn attribute_args(&self) -> String {
        match self.queue {
            Some(queue) => format!("max = {}, queue = {}", self.max, duration_literal(queue)),
            None => format!("max = {}", self.max),
        }
    }
}
