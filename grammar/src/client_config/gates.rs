//! The sections of a call's settings that gate its attempts and bound its
//! retries: `circuitBreaker`, `rateLimit`, `concurrency` and `budget`, in
//! the words of `#[circuit_breaker]`, `#[rate_limit]`,
//! `#[concurrency_limit]` and gRPC A6's `retryThrottling`, each key
//! camel-cased as the file's others are.
//!
//! ```yaml
//! circuitBreaker: { failureRatio: 0.5, minCalls: 20, window: 10s, openFor: 5s }
//! rateLimit: { rate: 50/s, burst: 10, queue: 500ms }   # or `rateLimit: 50/s`
//! concurrency: { max: 32, queue: 100ms }                # or `concurrency: 32`
//! budget: { maxTokens: 10, tokenRatio: 0.1 }            # a client's, not a method's
//! ```
//!
//! `off` for a gate (`circuitBreaker: off`) removes the one the layers
//! below would give (the client's, the proto options').

use std::time::Duration;

use super::read::{duration, expected, map, number, positive, string, whole, Problems};
use super::tree::{At, Node, Value};
use crate::rate::{parse_rate, Rate};
use crate::suggest::{closest, list};

/// A gate's settings, or `off`.
///
/// ```
/// use steadfast_grammar::client_config::{BreakerSettings, Switch};
/// let on = Switch::On(BreakerSettings::default());
/// assert!(on.settings().is_some());
/// assert!(Switch::<BreakerSettings>::Off.settings().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Switch<T> {
    /// `off`: no such gate, whatever the layers below say.
    Off,
    /// The gate, with the settings this layer gives.
    On(T),
}

impl<T> Switch<T> {
    /// The settings, when on.
    pub fn settings(&self) -> Option<&T> {
        match self {
            Switch::Off => None,
            Switch::On(settings) => Some(settings),
        }
    }
}

/// `circuitBreaker`: the keys of `#[circuit_breaker(..)]`, each unset
/// unless written (then the breaker's default applies).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct BreakerSettings {
    /// `failureRatio`: open at this fraction of failures, in (0, 1].
    pub failure_ratio: Option<f64>,
    /// `minCalls`: the ratio rules wait for this many calls in the window.
    pub min_calls: Option<u32>,
    /// `window`: the sliding window's length.
    pub window: Option<Duration>,
    /// `openFor`: how long the breaker fails fast once open.
    pub open_for: Option<Duration>,
    /// `halfOpen`: the probes let through after that.
    pub half_open: Option<u32>,
    /// `slow`: a call slower than this is slow (with `slowRatio`).
    pub slow: Option<Duration>,
    /// `slowRatio`: open at this fraction of slow calls.
    pub slow_ratio: Option<f64>,
    /// `failures`: open at this many failures in the window.
    pub failures: Option<u32>,
    /// `throttle`: an adaptive throttle with this K instead of a breaker.
    pub throttle: Option<f64>,
}

/// `rateLimit`: the keys of `#[rate_limit(..)]`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RateSettings {
    /// `rate`: calls per period, as in `50/s`.
    pub rate: Option<Rate>,
    /// `burst`: calls admitted at once above the rate.
    pub burst: Option<u32>,
    /// `queue`: the longest a call waits for its turn.
    pub queue: Option<Duration>,
    /// `warmUp`: from a third of the rate to all of it over this long.
    pub warm_up: Option<Duration>,
    /// `shared`: the limiter registered under this name
    /// (`steadfast::limit::register`), such as a cluster-wide one.
    pub shared: Option<String>,
}

/// `concurrency`: the keys of `#[concurrency_limit(..)]`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ConcurrencySettings {
    /// `max`: calls in flight at most (an adaptive limit's upper bound).
    pub max: Option<u32>,
    /// `queue`: the longest a call waits for a place.
    pub queue: Option<Duration>,
    /// `adaptive`: a limit that follows the calls' latency.
    pub adaptive: Option<Adaptive>,
}

/// How an adaptive concurrency limit adapts: `gradient`, `vegas`, or
/// `aimd` with its timeout (`aimdTimeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adaptive {
    /// Netflix's Gradient2.
    Gradient,
    /// TCP Vegas.
    Vegas,
    /// Additive increase, multiplicative decrease on calls slower than this.
    Aimd(Duration),
}

/// `hedge`: gRPC A6's `hedgingPolicy`, the keys of `#[hedge(..)]`: up to
/// `maxAttempts` attempts, the next started after `delay` without an
/// answer; `nonFatalCodes` start the next one at once (by default, as any
/// `tonic::Status` is classified), any other error ends the call.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct HedgeSettings {
    /// `maxAttempts`: every attempt, the first included (2 to 5).
    pub max_attempts: Option<u32>,
    /// `delay`: how long an attempt goes unanswered before the next starts.
    pub delay: Option<Duration>,
    /// `nonFatalCodes`: the codes after which the next attempt starts.
    pub non_fatal: Option<Vec<&'static str>>,
}

/// `budget`: gRPC A6's `retryThrottling`, a token bucket shared by a
/// client's calls.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BudgetSettings {
    /// `maxTokens`: the bucket's size (1 to 1000).
    pub max_tokens: u32,
    /// `tokenRatio`: tokens a success gives back (above 0).
    pub token_ratio: f64,
}

impl BudgetSettings {
    /// A bucket of `max_tokens`, refilled by `token_ratio` a success.
    ///
    /// ```
    /// let budget = steadfast_grammar::client_config::BudgetSettings::new(10, 0.1);
    /// assert_eq!(budget.max_tokens, 10);
    /// ```
    pub fn new(max_tokens: u32, token_ratio: f64) -> Self {
        Self {
            max_tokens,
            token_ratio,
        }
    }
}

const BREAKER_KEYS: &[&str] = &[
    "failureRatio",
    "minCalls",
    "window",
    "openFor",
    "halfOpen",
    "slow",
    "slowRatio",
    "failures",
    "throttle",
];
const RATE_KEYS: &[&str] = &["rate", "burst", "queue", "warmUp", "shared"];
const CONCURRENCY_KEYS: &[&str] = &["max", "queue", "adaptive", "aimdTimeout"];
const BUDGET_KEYS: &[&str] = &["maxTokens", "tokenRatio"];
const HEDGE_KEYS: &[&str] = &["maxAttempts", "delay", "nonFatalCodes"];

/// `off`, or the section's map read by `read`.
fn switch<T>(
    value: &Node,
    key: &str,
    problems: &mut Problems<'_>,
    read: impl FnOnce(&[(String, At, Node)], &mut Problems<'_>) -> T,
) -> Option<Switch<T>> {
    if let Value::Str(word) = &value.value {
        if word == "off" {
            return Some(Switch::Off);
        }
    }
    let entries = map(value, &format!("{key} (its settings, or `off`)"), problems)?;
    Some(Switch::On(read(entries, problems)))
}

/// An unknown key in `section`, with a did-you-mean among `keys`.
fn unknown(section: &str, key: &str, at: At, keys: &[&str], problems: &mut Problems<'_>) {
    let hint = closest(key, keys, &[])
        .map(|s| format!(": did you mean `{s}`?"))
        .unwrap_or_else(|| format!(": expected one of {}", list(keys)));
    problems.at(at, format!("{section}: unknown key `{key}`{hint}"));
}

/// A fraction in (0, 1].
fn ratio(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<f64> {
    match number(value) {
        Some(r) if r > 0.0 && r <= 1.0 => Some(r),
        Some(r) => {
            problems.at(value.at, format!("{key}: a fraction in (0, 1], not {r}"));
            None
        }
        None => {
            expected(value, key, "a fraction, as in `0.5`", problems);
            None
        }
    }
}

/// A whole number at least 1 (at most `max`).
fn count(value: &Node, key: &str, max: u32, problems: &mut Problems<'_>) -> Option<u32> {
    let n = whole(value, key, problems)?;
    if n == 0 || n > max {
        problems.at(value.at, format!("{key}: from 1 to {max}, not {n}"));
        return None;
    }
    Some(n)
}

/// A rate as `50/s`.
fn rate(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<Rate> {
    let text = string(value, key, problems)?;
    match parse_rate(&text) {
        Ok(rate) => Some(rate),
        Err(e) => {
            problems.at(value.at, format!("{key}: {e}"));
            None
        }
    }
}

/// `circuitBreaker`.
pub(super) fn breaker(
    value: &Node,
    problems: &mut Problems<'_>,
) -> Option<Switch<BreakerSettings>> {
    const KEY: &str = "circuitBreaker";
    switch(value, KEY, problems, |entries, problems| {
        let mut s = BreakerSettings::default();
        for (key, at, value) in entries {
            let name = format!("{KEY}.{key}");
            match key.as_str() {
                "failureRatio" => s.failure_ratio = ratio(value, &name, problems),
                "slowRatio" => s.slow_ratio = ratio(value, &name, problems),
                "minCalls" => s.min_calls = count(value, &name, u32::MAX, problems),
                "failures" => s.failures = count(value, &name, u32::MAX, problems),
                "halfOpen" => s.half_open = count(value, &name, 32_767, problems),
                "window" => s.window = positive(value, &name, problems),
                "openFor" => s.open_for = positive(value, &name, problems),
                "slow" => s.slow = positive(value, &name, problems),
                "throttle" => match number(value) {
                    Some(k) if k >= 1.0 && k.is_finite() => s.throttle = Some(k),
                    Some(k) => problems.at(
                        value.at,
                        format!("{name}: the SRE book's K, at least 1, not {k}"),
                    ),
                    None => expected(value, &name, "a number, as in `2`", problems),
                },
                _ => unknown(KEY, key, *at, BREAKER_KEYS, problems),
            }
        }
        let rules = [
            ("failureRatio", s.failure_ratio.is_some()),
            ("minCalls", s.min_calls.is_some()),
            ("openFor", s.open_for.is_some()),
            ("halfOpen", s.half_open.is_some()),
            ("slow", s.slow.is_some()),
            ("slowRatio", s.slow_ratio.is_some()),
            ("failures", s.failures.is_some()),
        ];
        for (key, other) in [("slow", "slowRatio"), ("slowRatio", "slow")] {
            let has = |k: &str| entries.iter().any(|(e, ..)| e == k);
            if let (true, false) = (has(key), has(other)) {
                if let Some((_, at, _)) = entries.iter().find(|(e, ..)| e == key) {
                    problems.at(*at, format!("{KEY}.{key} goes with `{other}`: a call slower than `slow` counts as slow, and `slowRatio` of them opens the breaker"));
                }
            }
        }
        if s.throttle.is_some() {
            for (key, at, _) in entries {
                if rules.iter().any(|(rule, set)| *set && rule == key) {
                    problems.at(*at, format!("{KEY}.{key} is a breaker's rule; an adaptive throttle (`throttle`) takes only `window` beside it"));
                }
            }
        }
        s
    })
}

/// `rateLimit`: its map, or the rate alone (`rateLimit: 50/s`).
pub(super) fn rate_limit(
    value: &Node,
    problems: &mut Problems<'_>,
) -> Option<Switch<RateSettings>> {
    const KEY: &str = "rateLimit";
    if let Value::Str(text) = &value.value {
        if text != "off" {
            return rate(value, KEY, problems).map(|rate| {
                Switch::On(RateSettings {
                    rate: Some(rate),
                    ..RateSettings::default()
                })
            });
        }
    }
    let at = value.at;
    switch(value, KEY, problems, |entries, problems| {
        let mut s = RateSettings::default();
        for (key, key_at, value) in entries {
            let name = format!("{KEY}.{key}");
            match key.as_str() {
                "rate" => s.rate = rate(value, &name, problems),
                "burst" => s.burst = count(value, &name, u32::MAX, problems),
                "queue" => s.queue = duration(value, &name, problems),
                "warmUp" => s.warm_up = positive(value, &name, problems),
                "shared" => s.shared = string(value, &name, problems),
                _ => unknown(KEY, key, *key_at, RATE_KEYS, problems),
            }
        }
        match (&s.shared, entries.len()) {
            (Some(_), 1) => {}
            (Some(_), _) => problems.at(at, format!("{KEY}: `shared` names a limiter registered with its own settings: nothing beside it")),
            (None, _) if s.rate.is_none() && !entries.iter().any(|(k, ..)| k == "rate") => problems.at(at, format!("{KEY}: needs `rate`, as in `rate: 50/s` (or `shared`: a registered limiter's name)")),
            (None, _) => {}
        }
        s
    })
}

/// `concurrency`: its map, or the maximum alone (`concurrency: 32`).
pub(super) fn concurrency(
    value: &Node,
    problems: &mut Problems<'_>,
) -> Option<Switch<ConcurrencySettings>> {
    const KEY: &str = "concurrency";
    if let Value::Int(_) = value.value {
        return count(value, KEY, u32::MAX, problems).map(|max| {
            Switch::On(ConcurrencySettings {
                max: Some(max),
                ..ConcurrencySettings::default()
            })
        });
    }
    let at = value.at;
    switch(value, KEY, problems, |entries, problems| {
        let mut s = ConcurrencySettings::default();
        let mut algorithm: Option<(String, At)> = None;
        let mut aimd_timeout: Option<(Duration, At)> = None;
        for (key, key_at, value) in entries {
            let name = format!("{KEY}.{key}");
            match key.as_str() {
                "max" => s.max = count(value, &name, u32::MAX, problems),
                "queue" => s.queue = duration(value, &name, problems),
                "adaptive" => algorithm = string(value, &name, problems).map(|a| (a, value.at)),
                "aimdTimeout" => {
                    aimd_timeout = positive(value, &name, problems).map(|d| (d, *key_at));
                }
                _ => unknown(KEY, key, *key_at, CONCURRENCY_KEYS, problems),
            }
        }
        match (algorithm, aimd_timeout) {
            (Some((name, _)), _) if name == "gradient" => s.adaptive = Some(Adaptive::Gradient),
            (Some((name, _)), _) if name == "vegas" => s.adaptive = Some(Adaptive::Vegas),
            (Some((name, _)), Some((timeout, _))) if name == "aimd" => {
                s.adaptive = Some(Adaptive::Aimd(timeout));
            }
            (Some((name, at)), None) if name == "aimd" => problems.at(
                at,
                format!("{KEY}.adaptive: `aimd` needs `aimdTimeout`, as in `aimdTimeout: 200ms`"),
            ),
            (Some((name, at)), _) => {
                let hint = closest(&name, &["gradient", "vegas", "aimd"], &[])
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                problems.at(
                    at,
                    format!("{KEY}.adaptive: unknown `{name}`: {hint}expected `gradient`, `vegas` or `aimd`"),
                );
            }
            (None, _) => {}
        }
        if let (Some(adaptive), Some((_, at))) = (s.adaptive, aimd_timeout) {
            if !matches!(adaptive, Adaptive::Aimd(_)) {
                problems.at(
                    at,
                    format!("{KEY}.aimdTimeout is `aimd`'s, not another algorithm's"),
                );
            }
        }
        if s.max.is_none() && !entries.iter().any(|(k, ..)| k == "max") {
            problems.at(
                at,
                format!("{KEY}: needs `max`, as in `max: 32` (an adaptive limit's upper bound)"),
            );
        }
        s
    })
}

/// `hedge`.
pub(super) fn hedge(value: &Node, problems: &mut Problems<'_>) -> Option<Switch<HedgeSettings>> {
    const KEY: &str = "hedge";
    let at = value.at;
    switch(value, KEY, problems, |entries, problems| {
        let mut s = HedgeSettings::default();
        for (key, key_at, value) in entries {
            let name = format!("{KEY}.{key}");
            match key.as_str() {
                "maxAttempts" => match whole(value, &name, problems) {
                    Some(n) if (2..=5).contains(&n) => s.max_attempts = Some(n),
                    Some(n) => problems.at(
                        value.at,
                        format!(
                            "{name}: from 2 to 5 (gRPC A6), the first attempt included, not {n}"
                        ),
                    ),
                    None => {}
                },
                "delay" => s.delay = duration(value, &name, problems),
                "nonFatalCodes" => s.non_fatal = super::read::codes(value, &name, problems),
                _ => unknown(KEY, key, *key_at, HEDGE_KEYS, problems),
            }
        }
        for key in ["maxAttempts", "delay"] {
            if !entries.iter().any(|(k, ..)| k == key) {
                problems.at(
                    at,
                    format!("{KEY}: needs `{key}`, as in `{{ maxAttempts: 3, delay: 50ms }}`"),
                );
            }
        }
        s
    })
}

/// `budget`.
pub(super) fn budget(value: &Node, problems: &mut Problems<'_>) -> Option<BudgetSettings> {
    const KEY: &str = "budget";
    let entries = map(value, "budget (`maxTokens` and `tokenRatio`)", problems)?;
    let (mut max_tokens, mut token_ratio) = (None, None);
    for (key, at, value) in entries {
        let name = format!("{KEY}.{key}");
        match key.as_str() {
            "maxTokens" => max_tokens = count(value, &name, 1000, problems),
            "tokenRatio" => match number(value) {
                Some(r) if r > 0.0 && r.is_finite() => token_ratio = Some(r),
                Some(r) => problems.at(value.at, format!("{name}: above 0, not {r}")),
                None => expected(value, &name, "a number, as in `0.1`", problems),
            },
            _ => unknown(KEY, key, *at, BUDGET_KEYS, problems),
        }
    }
    let missing: Vec<&str> = [
        ("maxTokens", max_tokens.is_some()),
        ("tokenRatio", token_ratio.is_some()),
    ]
    .into_iter()
    .filter(|(key, set)| !set && !entries.iter().any(|(k, ..)| k == key))
    .map(|(key, _)| key)
    .collect();
    if !missing.is_empty() {
        problems.at(
            value.at,
            format!(
                "{KEY}: needs {}, as in `{{ maxTokens: 10, tokenRatio: 0.1 }}`",
                missing.join(" and ")
            ),
        );
    }
    Some(BudgetSettings::new(max_tokens?, token_ratio?))
}

/// The gate `layers` give (the first layer's keys over the next's), down
/// to the first `off`; `None` when no layer turns it on.
pub(super) fn merge<T: Clone>(
    layers: impl Iterator<Item = Option<Switch<T>>>,
    over: impl Fn(&T, &T) -> T,
) -> Option<T> {
    let mut merged: Option<T> = None;
    for layer in layers.flatten() {
        match layer {
            Switch::Off => break,
            Switch::On(settings) => {
                merged = Some(match merged {
                    None => settings,
                    Some(above) => over(&above, &settings),
                });
            }
        }
    }
    merged
}

impl BreakerSettings {
    /// These settings, with `base`'s where these have none. An adaptive
    /// throttle (`throttle`) and a breaker's rules do not mix: the upper
    /// layer's kind wins, the lower one's other kind is dropped.
    pub fn over(&self, base: &Self) -> Self {
        let rules = |s: &Self| {
            s.failure_ratio.is_some()
                || s.min_calls.is_some()
                || s.open_for.is_some()
                || s.half_open.is_some()
                || s.slow.is_some()
                || s.failures.is_some()
        };
        if self.throttle.is_some() || (base.throttle.is_some() && rules(self)) {
            return self.clone();
        }
        Self {
            failure_ratio: self.failure_ratio.or(base.failure_ratio),
            min_calls: self.min_calls.or(base.min_calls),
            window: self.window.or(base.window),
            open_for: self.open_for.or(base.open_for),
            half_open: self.half_open.or(base.half_open),
            slow: self.slow.or(base.slow),
            slow_ratio: self.slow_ratio.or(base.slow_ratio),
            failures: self.failures.or(base.failures),
            throttle: self.throttle.or(base.throttle),
        }
    }
}

impl RateSettings {
    /// These settings, with `base`'s where these have none; a `shared`
    /// limiter above stands alone, and a rate above replaces a shared one.
    pub fn over(&self, base: &Self) -> Self {
        if self.shared.is_some() {
            return self.clone();
        }
        if base.shared.is_some() {
            return self.clone();
        }
        Self {
            rate: self.rate.or(base.rate),
            burst: self.burst.or(base.burst),
            queue: self.queue.or(base.queue),
            warm_up: self.warm_up.or(base.warm_up),
            shared: None,
        }
    }
}

impl HedgeSettings {
    /// These settings, with `base`'s where these have none.
    pub fn over(&self, base: &Self) -> Self {
        Self {
            max_attempts: self.max_attempts.or(base.max_attempts),
            delay: self.delay.or(base.delay),
            non_fatal: self.non_fatal.clone().or_else(|| base.non_fatal.clone()),
        }
    }
}

impl ConcurrencySettings {
    /// These settings, with `base`'s where these have none.
    pub fn over(&self, base: &Self) -> Self {
        Self {
            max: self.max.or(base.max),
            queue: self.queue.or(base.queue),
            adaptive: self.adaptive.or(base.adaptive),
        }
    }
}
