//! The policy model: what a method's deadline and retries are, wherever
//! they were declared.

use std::fmt::Write as _;

use std::time::Duration;
use steadfast_grammar::policy::Growth;

use crate::limits::{Concurrency, RateLimit};

/// A call policy: a deadline for the whole call and how to retry it.
///
/// Builder defaults use it ([`Builder::default_policy`](crate::Builder::default_policy),
/// [`Builder::method`](crate::Builder::method)); proto options and service
/// config files are read into it.
///
/// ```
/// use std::time::Duration;
/// use steadfast_build::{Backoff, Policy, Retry};
///
/// let policy = Policy::new()
///     .deadline(Duration::from_secs(2))
///     .retry(Retry::new(3).backoff(Backoff::Exponential).initial(Duration::from_millis(100)));
/// assert_eq!(policy.get_deadline(), Some(Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub(crate) deadline: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) unsafe_retry: bool,
    pub(crate) breaker: Option<Breaker>,
    pub(crate) hedge: Option<Hedge>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) concurrency: Option<Concurrency>,
}

impl Policy {
    /// No deadline, no retries.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new(), steadfast_build::Policy::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The deadline of the whole call, all attempts included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = steadfast_build::Policy::new().deadline(Duration::from_secs(1));
    /// assert_eq!(p.get_deadline(), Some(Duration::from_secs(1)));
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How to retry.
    ///
    /// ```
    /// let p = steadfast_build::Policy::new().retry(steadfast_build::Retry::new(3));
    /// assert!(p.get_retry().is_some());
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Allows retries on methods not marked `IDEMPOTENT` or `NO_SIDE_EFFECTS`.
    /// A retried call that is not idempotent may run twice.
    ///
    /// ```
    /// let p = steadfast_build::Policy::new().unsafe_retry(true);
    /// # let _ = p;
    /// ```
    pub fn unsafe_retry(mut self, allow: bool) -> Self {
        self.unsafe_retry = allow;
        self
    }

    /// A circuit breaker for the method (one per generated client, shared
    /// by its clones); retries ask it before each attempt.
    ///
    /// ```
    /// let p = steadfast_build::Policy::new().breaker(steadfast_build::Breaker::new().failures(5));
    /// assert!(p.get_breaker().is_some());
    /// ```
    pub fn breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// A rate limit for the method (one per generated client, shared by its
    /// clones); every attempt asks it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_build::{Policy, RateLimit};
    /// let p = Policy::new().rate_limit(RateLimit::new(50, Duration::from_secs(1)));
    /// assert!(p.get_rate_limit().is_some());
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// A concurrency limit (bulkhead) for the method (one per generated
    /// client, shared by its clones); every attempt takes a place.
    ///
    /// ```
    /// use steadfast_build::{Concurrency, Policy};
    /// let p = Policy::new().concurrency(Concurrency::new(32));
    /// assert!(p.get_concurrency().is_some());
    /// ```
    pub fn concurrency(mut self, limit: Concurrency) -> Self {
        self.concurrency = Some(limit);
        self
    }

    /// The rate limit, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_rate_limit(), None);
    /// ```
    pub fn get_rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }

    /// The concurrency limit, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_concurrency(), None);
    /// ```
    pub fn get_concurrency(&self) -> Option<&Concurrency> {
        self.concurrency.as_ref()
    }

    /// Hedging: after a delay without an answer, another attempt beside
    /// the first (gRPC A6 `hedgingPolicy`). A method is retried or hedged,
    /// not both.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_build::{Hedge, Policy};
    /// let p = Policy::new().hedge(Hedge::new(3, Duration::from_millis(10)));
    /// assert!(p.get_hedge().is_some());
    /// ```
    pub fn hedge(mut self, hedge: Hedge) -> Self {
        self.hedge = Some(hedge);
        self
    }

    /// The hedging settings, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_hedge(), None);
    /// ```
    pub fn get_hedge(&self) -> Option<&Hedge> {
        self.hedge.as_ref()
    }

    /// The circuit breaker settings, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_breaker(), None);
    /// ```
    pub fn get_breaker(&self) -> Option<&Breaker> {
        self.breaker.as_ref()
    }

    /// The deadline, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_deadline(), None);
    /// ```
    pub fn get_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The retry settings, if set.
    ///
    /// ```
    /// assert_eq!(steadfast_build::Policy::new().get_retry(), None);
    /// ```
    pub fn get_retry(&self) -> Option<&Retry> {
        self.retry.as_ref()
    }
}

/// Delay schedules, as `#[retry(backoff = ..)]` names them.
///
/// ```
/// assert_eq!(steadfast_build::Backoff::default(), steadfast_build::Backoff::Exponential);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backoff {
    /// `initial * multiplier^(n-1)`.
    #[default]
    Exponential,
    /// `initial` every time.
    Constant,
    /// `initial * n`.
    Linear,
    /// `initial * fib(n)`.
    Fibonacci,
    /// No delay.
    None,
}

impl Backoff {
    /// The shape in the shared vocabulary.
    pub(crate) const fn growth(self) -> Growth {
        match self {
            Self::Exponential => Growth::Exponential,
            Self::Constant => Growth::Constant,
            Self::Linear => Growth::Linear,
            Self::Fibonacci => Growth::Fibonacci,
            Self::None => Growth::None,
        }
    }
}

/// Retry settings: the keys of `#[retry(...)]`.
///
/// ```
/// use std::time::Duration;
/// use steadfast_build::Retry;
///
/// let retry = Retry::new(4)
///     .initial(Duration::from_millis(50))
///     .max_delay(Duration::from_secs(2))
///     .on(["UNAVAILABLE", "RESOURCE_EXHAUSTED"]);
/// # let _ = retry;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub(crate) max_attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) initial: Option<Duration>,
    pub(crate) multiplier: Option<f64>,
    pub(crate) max_delay: Option<Duration>,
    pub(crate) jitter: Option<String>,
    pub(crate) per_attempt: Option<Duration>,
    pub(crate) on: Vec<String>,
}

impl Retry {
    /// `max_attempts` attempts in total, the first included.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3);
    /// ```
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            backoff: Backoff::Exponential,
            initial: None,
            multiplier: None,
            max_delay: None,
            jitter: None,
            per_attempt: None,
            on: Vec::new(),
        }
    }

    /// The delay schedule.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).backoff(steadfast_build::Backoff::Constant);
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The first delay.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).initial(std::time::Duration::from_millis(10));
    /// ```
    pub fn initial(mut self, initial: std::time::Duration) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Growth of an exponential schedule.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).multiplier(1.5);
    /// ```
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = Some(multiplier);
        self
    }

    /// Cap on one delay.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).max_delay(std::time::Duration::from_secs(5));
    /// ```
    pub fn max_delay(mut self, max_delay: std::time::Duration) -> Self {
        self.max_delay = Some(max_delay);
        self
    }

    /// Jitter: `"full"`, `"equal"`, `"decorrelated"`, `"none"` or a fraction such as `"0.2"`.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).jitter("full");
    /// ```
    pub fn jitter(mut self, jitter: impl Into<String>) -> Self {
        self.jitter = Some(jitter.into());
        self
    }

    /// Timeout of one attempt.
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).per_attempt(std::time::Duration::from_millis(500));
    /// ```
    pub fn per_attempt(mut self, per_attempt: std::time::Duration) -> Self {
        self.per_attempt = Some(per_attempt);
        self
    }

    /// Status codes to retry, as gRPC names them (`"UNAVAILABLE"`) or numbers (`"14"`).
    ///
    /// ```
    /// let _ = steadfast_build::Retry::new(3).on(["UNAVAILABLE", "8"]);
    /// ```
    pub fn on<I, S>(mut self, codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.on = codes.into_iter().map(Into::into).collect();
        self
    }
}

/// Hedging settings: the keys of `#[hedge(..)]`.
///
/// ```
/// use std::time::Duration;
/// use steadfast_build::Hedge;
///
/// let fixed = Hedge::new(3, Duration::from_millis(10)).on(["UNAVAILABLE"]);
/// let adaptive = Hedge::percentile(2, 95.0);
/// # let _ = (fixed, adaptive);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Hedge {
    pub(crate) max_attempts: u32,
    pub(crate) delay: HedgeDelay,
    pub(crate) on: Option<Vec<String>>,
}

/// When a hedged call starts its next attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum HedgeDelay {
    Fixed(Duration),
    Percentile(f64),
}

impl Hedge {
    /// `max_attempts` in all (2 to 5), the next after `delay` without an answer.
    ///
    /// ```
    /// let _ = steadfast_build::Hedge::new(2, std::time::Duration::from_millis(20));
    /// ```
    pub fn new(max_attempts: u32, delay: Duration) -> Self {
        Self {
            max_attempts,
            delay: HedgeDelay::Fixed(delay),
            on: None,
        }
    }

    /// The next attempt after the method's own running latency percentile
    /// (`95.0` for `delay = "p95"`).
    ///
    /// ```
    /// let _ = steadfast_build::Hedge::percentile(2, 99.0);
    /// ```
    pub fn percentile(max_attempts: u32, percentile: f64) -> Self {
        Self {
            max_attempts,
            delay: HedgeDelay::Percentile(percentile),
            on: None,
        }
    }

    /// Status codes that are not fatal (the next attempt starts at once),
    /// as gRPC names them; an empty list makes every error fatal. Unset:
    /// `UNAVAILABLE`.
    ///
    /// ```
    /// let _ = steadfast_build::Hedge::new(2, std::time::Duration::ZERO).on(["UNAVAILABLE"]);
    /// ```
    pub fn on<I, S>(mut self, codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.on = Some(codes.into_iter().map(Into::into).collect());
        self
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=5).contains(&self.max_attempts) {
            problems.push(format!(
                "max_attempts counts every attempt, 1 to 5 (gRPC A6 caps hedging at 5), not {}",
                self.max_attempts
            ));
        }
        if let HedgeDelay::Percentile(p) = self.delay {
            if !(p > 0.0 && p < 100.0) {
                problems.push(format!("delay: a percentile is between 0 and 100, not {p}"));
            }
        }
        for code in self.on.iter().flatten() {
            if code_variant(code).is_none() {
                problems.push(format!("unknown status code \"{code}\" in `on`"));
            }
        }
        problems
    }

    /// The arguments of `#[steadfast::hedge(..)]`.
    pub(crate) fn attribute_args(&self) -> String {
        let mut args = format!("max = {}", self.max_attempts);
        match self.delay {
            HedgeDelay::Fixed(d) => {
                let _ = write!(args, ", delay = {}", duration_literal(d));
            }
            HedgeDelay::Percentile(p) => {
                let _ = write!(args, ", delay = \"p{p}\"");
            }
        }
        if let Some(codes) = &self.on {
            let codes: Vec<&str> = codes.iter().filter_map(|c| code_variant(c)).collect();
            let _ = write!(args, ", on = [{}]", codes.join(", "));
        }
        args
    }
}

/// Circuit breaker settings: the keys of `#[circuit_breaker(..)]`; unset
/// ones take the attribute's defaults.
///
/// ```
/// use std::time::Duration;
/// use steadfast_build::Breaker;
///
/// let breaker = Breaker::new()
///     .failure_ratio(0.5)
///     .min_calls(20)
///     .open_for(Duration::from_secs(5))
///     .slow(Duration::from_secs(1), 0.8);
/// # let _ = breaker;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breaker {
    pub(crate) failure_ratio: Option<f64>,
    pub(crate) min_calls: Option<u32>,
    pub(crate) window: Option<Duration>,
    pub(crate) open_for: Option<Duration>,
    pub(crate) half_open: Option<u32>,
    pub(crate) slow: Option<(Duration, f64)>,
    pub(crate) failures: Option<u32>,
    pub(crate) throttle: Option<f64>,
}

impl Breaker {
    /// Every default: 50% failures over 10 s once 20 calls were seen, open 5 s, 3 probes.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Open when failures reach this fraction of the window's calls, in `(0, 1]`.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().failure_ratio(0.25);
    /// ```
    pub fn failure_ratio(mut self, ratio: f64) -> Self {
        self.failure_ratio = Some(ratio);
        self
    }

    /// Client-side adaptive throttling instead of the breaker's rules
    /// (`steadfast::AdaptiveThrottle`, the Google SRE book's): calls refused
    /// with probability `max(0, (requests − k·accepts) / (requests + 1))`
    /// over `window` (2 minutes unless set); `k` is at least 1. Only
    /// `window` goes beside it.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().throttle(2.0);
    /// ```
    pub fn throttle(mut self, k: f64) -> Self {
        self.throttle = Some(k);
        self
    }

    /// The ratio rules wait for this many calls in the window.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().min_calls(100);
    /// ```
    pub fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = Some(calls);
        self
    }

    /// The sliding window.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().window(std::time::Duration::from_secs(30));
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window);
        self
    }

    /// How long calls fail fast before probes.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().open_for(std::time::Duration::from_secs(30));
    /// ```
    pub fn open_for(mut self, open_for: Duration) -> Self {
        self.open_for = Some(open_for);
        self
    }

    /// Probes let through when half-open, 1 to 32767.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().half_open(1);
    /// ```
    pub fn half_open(mut self, probes: u32) -> Self {
        self.half_open = Some(probes);
        self
    }

    /// Open when calls longer than `threshold` reach `ratio` of the window's calls.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().slow(std::time::Duration::from_secs(1), 0.8);
    /// ```
    pub fn slow(mut self, threshold: Duration, ratio: f64) -> Self {
        self.slow = Some((threshold, ratio));
        self
    }

    /// Open at this many failures in the window, whatever `min_calls`.
    ///
    /// ```
    /// let _ = steadfast_build::Breaker::new().failures(5);
    /// ```
    pub fn failures(mut self, failures: u32) -> Self {
        self.failures = Some(failures);
        self
    }

    /// The breaker in a settings file's words (`circuitBreaker: { .. }`),
    /// for `from_config`.
    pub(crate) fn settings_entry(&self) -> String {
        let mut keys = Vec::new();
        if let Some(r) = self.failure_ratio {
            keys.push(format!("failureRatio: {r:?}"));
        }
        if let Some(n) = self.min_calls {
            keys.push(format!("minCalls: {n}"));
        }
        if let Some(d) = self.window {
            keys.push(format!("window: {}", duration_literal(d)));
        }
        if let Some(d) = self.open_for {
            keys.push(format!("openFor: {}", duration_literal(d)));
        }
        if let Some(n) = self.half_open {
            keys.push(format!("halfOpen: {n}"));
        }
        if let Some((d, r)) = self.slow {
            keys.push(format!("slow: {}", duration_literal(d)));
            keys.push(format!("slowRatio: {r:?}"));
        }
        if let Some(n) = self.failures {
            keys.push(format!("failures: {n}"));
        }
        if let Some(k) = self.throttle {
            keys.push(format!("throttle: {k:?}"));
        }
        format!("circuitBreaker: {{ {} }}", keys.join(", "))
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(k) = self.throttle {
            if !(k >= 1.0 && k.is_finite()) {
                problems.push(format!("throttle is the SRE book's K, at least 1, not {k}"));
            }
            let rules = [
                ("failure_ratio", self.failure_ratio.is_some()),
                ("min_calls", self.min_calls.is_some()),
                ("open_for", self.open_for.is_some()),
                ("half_open", self.half_open.is_some()),
                ("slow", self.slow.is_some()),
                ("failures", self.failures.is_some()),
            ];
            for (name, _) in rules.iter().filter(|(_, set)| *set) {
                problems.push(format!(
                    "{name} is a breaker's rule; an adaptive throttle (throttle) takes only window beside it"
                ));
            }
        }
        let ratio_ok = |r: f64| r > 0.0 && r <= 1.0;
        if let Some(r) = self.failure_ratio.filter(|r| !ratio_ok(*r)) {
            problems.push(format!("failure_ratio is a fraction in (0, 1], not {r}"));
        }
        if let Some((_, r)) = self.slow.filter(|(_, r)| !ratio_ok(*r)) {
            problems.push(format!("slow_ratio is a fraction in (0, 1], not {r}"));
        }
        if self.min_calls == Some(0) {
            problems.push("min_calls must be at least 1".to_owned());
        }
        if self.failures == Some(0) {
            problems.push("failures must be at least 1".to_owned());
        }
        if let Some(n) = self.half_open.filter(|n| !(1..=32767).contains(n)) {
            problems.push(format!("half_open is from 1 to 32767, not {n}"));
        }
        for (name, d) in [
            ("window", self.window),
            ("open_for", self.open_for),
            ("slow", self.slow.map(|s| s.0)),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                problems.push(format!("{name} must be longer than zero"));
            }
        }
        problems
    }

    /// The arguments of `#[steadfast::circuit_breaker(..)]`, for docs.
    pub(crate) fn attribute_args(&self) -> String {
        let mut args = Vec::new();
        if let Some(k) = self.throttle {
            args.push(format!("throttle = {k:?}"));
        }
        if let Some(r) = self.failure_ratio {
            args.push(format!("failure_ratio = {r:?}"));
        }
        if let Some(n) = self.min_calls {
            args.push(format!("min_calls = {n}"));
        }
        if let Some(d) = self.window {
            args.push(format!("window = {}", duration_literal(d)));
        }
        if let Some(d) = self.open_for {
            args.push(format!("open_for = {}", duration_literal(d)));
        }
        if let Some(n) = self.half_open {
            args.push(format!("half_open = {n}"));
        }
        if let Some((d, r)) = self.slow {
            args.push(format!(
                "slow = {}, slow_ratio = {r:?}",
                duration_literal(d)
            ));
        }
        if let Some(n) = self.failures {
            args.push(format!("failures = {n}"));
        }
        args.join(", ")
    }
}

pub(crate) use steadfast_grammar::policy::code_variant;

/// A duration as the attribute grammar writes it, exactly: `2s`, `150ms`.
pub(crate) fn duration_literal(d: Duration) -> String {
    let nanos = d.as_nanos();
    for (per, unit) in [(1_000_000_000u128, "s"), (1_000_000, "ms"), (1_000, "us")] {
        if nanos.is_multiple_of(per) {
            return format!("{}{unit}", nanos / per);
        }
    }
    format!("{nanos}ns")
}

impl Retry {
    /// The same policy in the settings file's words (`maxRetryAttempts: 2,
    /// backoff: exp, ..`): what a client made `from_config` merges the
    /// file's settings over.
    pub(crate) fn settings_entries(&self) -> Vec<String> {
        let mut entries = vec![
            format!("maxRetryAttempts: {}", self.max_attempts.saturating_sub(1)),
            format!("backoff: {}", self.backoff.growth().name()),
        ];
        if let Some(d) = self.initial {
            entries.push(format!("initialBackoff: {}", duration_literal(d)));
        }
        if let Some(m) = self.multiplier {
            entries.push(format!("backoffMultiplier: {m:?}"));
        }
        if let Some(d) = self.max_delay {
            entries.push(format!("maxBackoff: {}", duration_literal(d)));
        }
        if let Some(j) = &self.jitter {
            entries.push(format!("jitter: {j}"));
        }
        if let Some(d) = self.per_attempt {
            entries.push(format!("perTryTimeout: {}", duration_literal(d)));
        }
        if !self.on.is_empty() {
            let codes: Vec<&str> = self.on.iter().filter_map(|c| code_variant(c)).collect();
            entries.push(format!("retryOn: [{}]", codes.join(", ")));
        }
        entries
    }

    /// The arguments of `#[steadfast::retry(..)]`.
    pub(crate) fn attribute_args(&self) -> String {
        let mut args = format!("max = {}", self.max_attempts);
        let _ = write!(args, ", backoff = \"{}\"", self.backoff.growth().name());
        if let Some(d) = self.initial {
            let _ = write!(args, ", initial = {}", duration_literal(d));
        }
        if let Some(m) = self.multiplier {
            let _ = write!(args, ", multiplier = {m:?}");
        }
        if let Some(d) = self.max_delay {
            let _ = write!(args, ", max_delay = {}", duration_literal(d));
        }
        if let Some(j) = &self.jitter {
            match j.parse::<f64>() {
                Ok(f) => {
                    let _ = write!(args, ", jitter = {f:?}");
                }
                Err(_) => {
                    let _ = write!(args, ", jitter = \"{j}\"");
                }
            }
        }
        if let Some(d) = self.per_attempt {
            let _ = write!(args, ", per_attempt = {}", duration_literal(d));
        }
        if !self.on.is_empty() {
            let codes: Vec<&str> = self.on.iter().filter_map(|c| code_variant(c)).collect();
            let _ = write!(args, ", on = [{}]", codes.join(", "));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_exactly() {
        assert_eq!(duration_literal(Duration::from_secs(2)), "2s");
        assert_eq!(duration_literal(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration_literal(Duration::from_micros(7)), "7us");
        assert_eq!(duration_literal(Duration::from_nanos(3)), "3ns");
        assert_eq!(duration_literal(Duration::ZERO), "0s");
    }
}
