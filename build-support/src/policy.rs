//! The policy model: what a method's deadline and retries are, wherever
//! they were declared.

use std::fmt::Write as _;

use resilient_grammar::policy::Growth;
use std::time::Duration;

/// A call policy: a deadline for the whole call and how to retry it.
///
/// Builder defaults use it ([`Builder::default_policy`](crate::Builder::default_policy),
/// [`Builder::method`](crate::Builder::method)); proto options and service
/// config files are read into it.
///
/// ```
/// use std::time::Duration;
/// use resilient_build::{Backoff, Policy, Retry};
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
}

impl Policy {
    /// No deadline, no retries.
    ///
    /// ```
    /// assert_eq!(resilient_build::Policy::new(), resilient_build::Policy::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The deadline of the whole call, all attempts included.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = resilient_build::Policy::new().deadline(Duration::from_secs(1));
    /// assert_eq!(p.get_deadline(), Some(Duration::from_secs(1)));
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How to retry.
    ///
    /// ```
    /// let p = resilient_build::Policy::new().retry(resilient_build::Retry::new(3));
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
    /// let p = resilient_build::Policy::new().unsafe_retry(true);
    /// # let _ = p;
    /// ```
    pub fn unsafe_retry(mut self, allow: bool) -> Self {
        self.unsafe_retry = allow;
        self
    }

    /// The deadline, if set.
    ///
    /// ```
    /// assert_eq!(resilient_build::Policy::new().get_deadline(), None);
    /// ```
    pub fn get_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The retry settings, if set.
    ///
    /// ```
    /// assert_eq!(resilient_build::Policy::new().get_retry(), None);
    /// ```
    pub fn get_retry(&self) -> Option<&Retry> {
        self.retry.as_ref()
    }
}

/// Delay schedules, as `#[retry(backoff = ..)]` names them.
///
/// ```
/// assert_eq!(resilient_build::Backoff::default(), resilient_build::Backoff::Exponential);
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
/// use resilient_build::Retry;
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
    /// let _ = resilient_build::Retry::new(3);
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
    /// let _ = resilient_build::Retry::new(3).backoff(resilient_build::Backoff::Constant);
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The first delay.
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).initial(std::time::Duration::from_millis(10));
    /// ```
    pub fn initial(mut self, initial: std::time::Duration) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Growth of an exponential schedule.
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).multiplier(1.5);
    /// ```
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = Some(multiplier);
        self
    }

    /// Cap on one delay.
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).max_delay(std::time::Duration::from_secs(5));
    /// ```
    pub fn max_delay(mut self, max_delay: std::time::Duration) -> Self {
        self.max_delay = Some(max_delay);
        self
    }

    /// Jitter: `"full"`, `"equal"`, `"decorrelated"`, `"none"` or a fraction such as `"0.2"`.
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).jitter("full");
    /// ```
    pub fn jitter(mut self, jitter: impl Into<String>) -> Self {
        self.jitter = Some(jitter.into());
        self
    }

    /// Timeout of one attempt.
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).per_attempt(std::time::Duration::from_millis(500));
    /// ```
    pub fn per_attempt(mut self, per_attempt: std::time::Duration) -> Self {
        self.per_attempt = Some(per_attempt);
        self
    }

    /// Status codes to retry, as gRPC names them (`"UNAVAILABLE"`) or numbers (`"14"`).
    ///
    /// ```
    /// let _ = resilient_build::Retry::new(3).on(["UNAVAILABLE", "8"]);
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

pub(crate) use resilient_grammar::policy::code_variant;

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
    /// The arguments of `#[resilient::retry(..)]`.
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
