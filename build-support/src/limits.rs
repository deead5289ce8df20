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
    pub(crate) shared: Option<String>,
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
            shared: None,
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

    /// Asks the limiter registered at run time under `name`
    /// (`steadfast::limit::register`), such as a `RateLimiter::cluster`
    /// shared by every replica; until one is registered, a client uses a
    /// limiter of its own with these settings (and a `WARN` event says so).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = steadfast_build::RateLimit::new(1000, Duration::from_secs(1)).shared("orders");
    /// ```
    pub fn shared(mut self, name: impl Into<String>) -> Self {
        self.shared = Some(name.into());
        self
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self
            .shared
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            problems.push("shared names a registered limiter: it cannot be blank".to_owned());
        }

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

    /// The limit in a settings file's words (`rateLimit: { .. }`), for
    /// `from_config`.
    pub(crate) fn settings_entry(&self) -> String {
        if let Some(name) = &self.shared {
            return format!("rateLimit: {{ shared: {name:?} }}");
        }
        let mut keys = vec![format!(
            "rate: {}/{}",
            self.count,
            duration_literal(self.period)
        )];
        if let Some(burst) = self.burst {
            keys.push(format!("burst: {burst}"));
        }
        if let Some(queue) = self.queue {
            keys.push(format!("queue: {}", duration_literal(queue)));
        }
        if let Some(warm_up) = self.warm_up {
            keys.push(format!("warmUp: {}", duration_literal(warm_up)));
        }
        format!("rateLimit: {{ {} }}", keys.join(", "))
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
    pub(crate) adaptive: Option<Adaptive>,
}

/// How an adaptive concurrency limit adapts (`steadfast::AdaptiveLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adaptive {
    Gradient,
    Vegas,
    Aimd(Duration),
}

impl Adaptive {
    /// `gradient`, `vegas` or `aimd` (which needs its timeout).
    pub(crate) fn parse(name: &str, aimd_timeout: Option<Duration>) -> Result<Self, String> {
        match (name, aimd_timeout) {
            ("gradient", _) => Ok(Self::Gradient),
            ("vegas", _) => Ok(Self::Vegas),
            ("aimd", Some(timeout)) if !timeout.is_zero() => Ok(Self::Aimd(timeout)),
            ("aimd", _) => Err(
                "adaptive: \"aimd\" needs `aimd_timeout`, as in `aimd_timeout: \"200ms\"`"
                    .to_owned(),
            ),
            (other, _) => Err(format!(
                "adaptive: expected \"gradient\", \"vegas\" or \"aimd\", not {other:?}"
            )),
        }
    }
}

impl Concurrency {
    /// At most `max` calls in flight.
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::new(8);
    /// ```
    pub fn new(max: u32) -> Self {
        Self {
            max,
            queue: None,
            adaptive: None,
        }
    }

    /// A limit that follows the latency of the calls, as
    /// `steadfast::AdaptiveLimit::gradient()` does: it starts at 20 places
    /// (or `max`, when lower) and stays between 1 and `max`.
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::gradient(100);
    /// ```
    pub fn gradient(max: u32) -> Self {
        Self {
            adaptive: Some(Adaptive::Gradient),
            ..Self::new(max)
        }
    }

    /// As [`gradient`](Self::gradient), with `AdaptiveLimit::vegas()`.
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::vegas(100);
    /// ```
    pub fn vegas(max: u32) -> Self {
        Self {
            adaptive: Some(Adaptive::Vegas),
            ..Self::new(max)
        }
    }

    /// As [`gradient`](Self::gradient), with `AdaptiveLimit::aimd(timeout)`.
    ///
    /// ```
    /// let _ = steadfast_build::Concurrency::aimd(100, std::time::Duration::from_millis(200));
    /// ```
    pub fn aimd(max: u32, timeout: Duration) -> Self {
        Self {
            adaptive: Some(Adaptive::Aimd(timeout)),
            ..Self::new(max)
        }
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
        let mut problems = Vec::new();

        if self.max == 0 {
            problems.push("max must be at least 1".to_owned());
        }
        if matches!(self.adaptive, Some(Adaptive::Aimd(timeout)) if timeout.is_zero()) {
            problems.push("aimd_timeout must be longer than zero".to_owned());
        }
        problems
    }

    /// The limit in a settings file's words (`concurrency: { .. }`), for
    /// `from_config`.
    pub(crate) fn settings_entry(&self) -> String {
        let mut keys = vec![format!("max: {}", self.max)];
        if let Some(queue) = self.queue {
            keys.push(format!("queue: {}", duration_literal(queue)));
        }
        match self.adaptive {
            Some(Adaptive::Gradient) => keys.push("adaptive: gradient".to_owned()),
            Some(Adaptive::Vegas) => keys.push("adaptive: vegas".to_owned()),
            Some(Adaptive::Aimd(timeout)) => {
                keys.push("adaptive: aimd".to_owned());
                keys.push(format!("aimdTimeout: {}", duration_literal(timeout)));
            }
            None => {}
        }
        format!("concurrency: {{ {} }}", keys.join(", "))
    }

    /// The arguments of `#[steadfast::concurrency_limit(..)]`, for docs.
    pub(crate) fn attribute_args(&self) -> String {
        let mut args = format!("max = {}", self.max);
        if let Some(queue) = self.queue {
            args.push_str(&format!(", queue = {}", duration_literal(queue)));
        }
        match self.adaptive {
            Some(Adaptive::Gradient) => args.push_str(", adaptive: gradient"),
            Some(Adaptive::Vegas) => args.push_str(", adaptive: vegas"),
            Some(Adaptive::Aimd(timeout)) => {
                args.push_str(&format!(
                    ", adaptive: aimd within {}",
                    duration_literal(timeout)
                ));
            }
            None => {}
        }
        args
    }
}
