//! `(steadfast.policy)`, `(steadfast.default_policy)` and
//! `(steadfast.file_policy)` options, read with prost-reflect.

use prost_reflect::{DynamicMessage, ExtensionDescriptor, FileDescriptor, ReflectMessage, Value};

use steadfast_grammar::policy::{check_max_attempts, check_multiplier, Jitter};

use crate::limits::{Concurrency, RateLimit};
use crate::policy::{code_variant, Backoff, Breaker, Hedge, HedgeDelay, Policy, Retry};

/// The schema users import as `steadfast/options.proto`.
pub(crate) const OPTIONS_PROTO: &str = include_str!("../proto/steadfast/options.proto");
pub(crate) const OPTIONS_FILE: &str = "steadfast/options.proto";

/// Field numbers of the extensions and of `options` in the descriptors.
pub(crate) const METHOD_EXTENSION: i32 = 51001;
pub(crate) const SERVICE_EXTENSION: i32 = 51002;
pub(crate) const FILE_EXTENSION: i32 = 51003;
pub(crate) const CHANNEL_EXTENSION: i32 = 51004;

/// `(steadfast.channel)`: a service's connection settings, checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Channel {
    pub(crate) connect_timeout: Option<std::time::Duration>,
    pub(crate) keepalive: Option<(std::time::Duration, std::time::Duration)>,
    pub(crate) keepalive_while_idle: bool,
    pub(crate) tcp_keepalive: Option<std::time::Duration>,
}

/// Reads `(steadfast.channel)` on a service's `options`, if set; problems
/// are pushed prefixed with `place`.
pub(crate) fn read_channel(
    options: &DynamicMessage,
    extension: Option<&ExtensionDescriptor>,
    place: &str,
    problems: &mut Vec<String>,
) -> Option<Channel> {
    let message = extension_message(options, extension)?;
    let message = &message;
    let before = problems.len();
    let mut duration = |name: &str| {
        let text = string(message, name)?;
        match steadfast_grammar::parse(&text) {
            Ok(d) if d.is_zero() => {
                problems.push(format!("{place}: channel: {name}: must be above zero"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(format!("{place}: channel: {name}: {e}"));
                None
            }
        }
    };
    let connect_timeout = duration("connect_timeout");
    let interval = duration("keepalive_interval");
    let timeout = duration("keepalive_timeout");
    let tcp_keepalive = duration("tcp_keepalive");
    let keepalive_while_idle = matches!(
        field(message, "keepalive_while_idle"),
        Some(Value::Bool(true))
    );
    let keepalive = match (interval, timeout) {
        (Some(interval), Some(timeout)) => Some((interval, timeout)),
        (None, None) => None,
        (Some(_), None) => {
            problems.push(format!(
                "{place}: channel: keepalive_interval needs keepalive_timeout (how long a ping may go unanswered)"
            ));
            None
        }
        (None, Some(_)) => {
            problems.push(format!(
                "{place}: channel: keepalive_timeout does nothing without keepalive_interval"
            ));
            None
        }
    };
    if keepalive_while_idle && keepalive.is_none() && problems.len() == before {
        problems.push(format!(
            "{place}: channel: keepalive_while_idle does nothing without keepalive_interval"
        ));
    }
    (problems.len() == before).then_some(Channel {
        connect_timeout,
        keepalive,
        keepalive_while_idle,
        tcp_keepalive,
    })
}

/// `file.proto:line:col` of the element at `path` (or of its nearest
/// enclosing element that has a location).
pub(crate) fn location(file: &FileDescriptor, path: &[i32]) -> String {
    let name = file.name();
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return name.to_owned();
    };
    let mut path = path.to_vec();
    loop {
        if let Some(loc) = info.location.iter().find(|l| l.path == path) {
            if let [line, col, ..] = loc.span[..] {
                return format!("{name}:{}:{}", line + 1, col + 1);
            }
        }
        if path.pop().is_none() {
            return name.to_owned();
        }
    }
}

/// The message `extension` sets on `options`, if it is set.
fn extension_message(
    options: &DynamicMessage,
    extension: Option<&ExtensionDescriptor>,
) -> Option<DynamicMessage> {
    let extension = extension?;
    if !options.has_extension(extension) {
        return None;
    }
    match options.get_extension(extension).as_ref() {
        Value::Message(message) => Some(message.clone()),
        _ => None,
    }
}

/// Reads the policy set by `extension` on `options`, if any. Problems are
/// pushed to `problems`, each prefixed with `place`.
pub(crate) fn read(
    options: &DynamicMessage,
    extension: Option<&ExtensionDescriptor>,
    place: &str,
    problems: &mut Vec<String>,
) -> Option<Policy> {
    let message = extension_message(options, extension)?;
    let message = &message;
    let mut policy = Policy::new();
    let mut problem = |what: String| problems.push(format!("{place}: {what}"));
    if let Some(text) = string(message, "deadline") {
        match steadfast_grammar::parse(&text) {
            Ok(d) => policy.deadline = Some(d),
            Err(e) => problem(format!("deadline: {e}")),
        }
    }
    if let Some(Value::Bool(true)) = field(message, "unsafe_retry") {
        policy.unsafe_retry = true;
    }
    policy.hedge = nested(message, "hedge", read_hedge, &mut problem);
    policy.breaker = nested(message, "breaker", read_breaker, &mut problem);
    policy.rate_limit = nested(message, "rate_limit", read_rate_limit, &mut problem);
    policy.concurrency = nested(message, "concurrency", read_concurrency, &mut problem);
    policy.retry = nested(message, "retry", read_retry, &mut problem);
    Some(policy)
}

/// The message in field `name`, read by `read`; its problems are reported
/// prefixed with the field's name.
fn nested<T>(
    message: &DynamicMessage,
    name: &str,
    read: fn(&DynamicMessage) -> Result<T, Vec<String>>,
    problem: &mut impl FnMut(String),
) -> Option<T> {
    let Some(Value::Message(inner)) = field(message, name) else {
        return None;
    };
    match read(&inner) {
        Ok(value) => Some(value),
        Err(errors) => {
            for error in errors {
                problem(format!("{name}: {error}"));
            }
            None
        }
    }
}

fn field(message: &DynamicMessage, name: &str) -> Option<Value> {
    let desc = message.descriptor().get_field_by_name(name)?;
    message
        .has_field(&desc)
        .then(|| message.get_field(&desc).into_owned())
}

fn string(message: &DynamicMessage, name: &str) -> Option<String> {
    match field(message, name)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// The duration in the string field `name`, when set; a bad one is
/// recorded in `problems` as `name: why`.
fn duration(
    message: &DynamicMessage,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<std::time::Duration> {
    let text = string(message, name)?;
    steadfast_grammar::parse(&text)
        .map_err(|e| problems.push(format!("{name}: {e}")))
        .ok()
}

fn read_retry(message: &DynamicMessage) -> Result<Retry, Vec<String>> {
    let mut problems = Vec::new();
    let max_attempts = match field(message, "max_attempts") {
        Some(Value::U32(n)) => n,
        _ => 0,
    };
    let max_attempts = check_max_attempts(max_attempts).unwrap_or_else(|e| {
        problems.push(format!("max_attempts {e}"));
        1
    });
    let mut retry = Retry::new(max_attempts);
    retry.backoff = match field(message, "backoff") {
        Some(Value::EnumNumber(2)) => Backoff::Constant,
        Some(Value::EnumNumber(3)) => Backoff::Linear,
        Some(Value::EnumNumber(4)) => Backoff::Fibonacci,
        Some(Value::EnumNumber(5)) => Backoff::None,
        _ => Backoff::Exponential,
    };
    retry.initial = duration(message, "initial", &mut problems);
    retry.max_delay = duration(message, "max_delay", &mut problems);
    retry.per_attempt = duration(message, "per_attempt", &mut problems);
    if let Some(Value::F64(m)) = field(message, "multiplier") {
        if !retry.backoff.growth().takes_multiplier() {
            problems.push("multiplier only applies to backoff: EXPONENTIAL".to_owned());
        } else {
            match check_multiplier(m) {
                Ok(m) => retry.multiplier = Some(m),
                Err(e) => problems.push(format!("multiplier {e}, not {m}")),
            }
        }
    }
    if let Some(jitter) = string(message, "jitter") {
        match check_jitter(&jitter) {
            Ok(()) => retry.jitter = Some(jitter),
            Err(e) => problems.push(e),
        }
    }
    if let Some(Value::List(codes)) = field(message, "on") {
        for code in codes {
            if let Value::String(code) = code {
                if code_variant(&code).is_none() {
                    problems.push(format!(
                        "unknown status code \"{code}\" in `on`: use gRPC names such as \"UNAVAILABLE\" or numbers 0-16"
                    ));
                }
                retry.on.push(code);
            }
        }
    }
    if problems.is_empty() {
        Ok(retry)
    } else {
        Err(problems)
    }
}

fn read_hedge(message: &DynamicMessage) -> Result<Hedge, Vec<String>> {
    let mut problems = Vec::new();
    let max_attempts = match field(message, "max_attempts") {
        Some(Value::U32(n)) => n,
        _ => 0,
    };
    let delay = match string(message, "delay") {
        None => {
            problems.push(
                "delay: required, a duration such as \"10ms\" or a percentile such as \"p95\""
                    .to_owned(),
            );
            HedgeDelay::Fixed(std::time::Duration::ZERO)
        }
        Some(text) => match text.strip_prefix('p').map(str::parse::<f64>) {
            Some(Ok(p)) => HedgeDelay::Percentile(p),
            _ => match steadfast_grammar::parse(&text) {
                Ok(d) => HedgeDelay::Fixed(d),
                Err(e) => {
                    problems.push(format!("delay: {e}"));
                    HedgeDelay::Fixed(std::time::Duration::ZERO)
                }
            },
        },
    };
    let mut hedge = Hedge {
        max_attempts,
        delay,
        on: None,
    };
    if let Some(Value::List(codes)) = field(message, "on") {
        let codes: Vec<String> = codes
            .into_iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect();
        if !codes.is_empty() {
            hedge.on = Some(codes);
        }
    }
    problems.extend(hedge.problems());
    if problems.is_empty() {
        Ok(hedge)
    } else {
        Err(problems)
    }
}

fn read_breaker(message: &DynamicMessage) -> Result<Breaker, Vec<String>> {
    let mut problems = Vec::new();
    let mut breaker = Breaker::new();
    let number = |name: &str| match field(message, name) {
        Some(Value::F64(f)) => Some(f),
        _ => None,
    };
    let count = |name: &str| match field(message, name) {
        Some(Value::U32(n)) if n > 0 => Some(n),
        _ => None,
    };
    breaker.window = duration(message, "window", &mut problems);
    breaker.open_for = duration(message, "open_for", &mut problems);
    let slow = duration(message, "slow", &mut problems);
    breaker.failure_ratio = number("failure_ratio");
    breaker.min_calls = count("min_calls");
    breaker.half_open = count("half_open");
    breaker.failures = count("failures");
    breaker.throttle = number("throttle");
    match (slow, number("slow_ratio")) {
        (Some(slow), ratio) => breaker.slow = Some((slow, ratio.unwrap_or(0.8))),
        (None, Some(_)) => {
            problems.push("slow_ratio needs slow, the time past which a call is slow".to_owned())
        }
        (None, None) => {}
    }
    problems.extend(breaker.problems());
    if problems.is_empty() {
        Ok(breaker)
    } else {
        Err(problems)
    }
}

fn read_rate_limit(message: &DynamicMessage) -> Result<RateLimit, Vec<String>> {
    let mut problems = Vec::new();
    let rate = match string(message, "rate") {
        Some(text) => match steadfast_grammar::rate::parse_rate(&text) {
            Ok(rate) => Some(rate),
            Err(e) => {
                problems.push(format!("rate: {e}"));
                None
            }
        },
        None => {
            problems.push("rate is required, as in `rate: \"50/s\"`".to_owned());
            None
        }
    };
    let warm_up = match string(message, "warm_up") {
        Some(text) => match steadfast_grammar::parse(&text) {
            Ok(d) if d.is_zero() => {
                problems.push("warm_up must be longer than zero".to_owned());
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(format!("warm_up: {e}"));
                None
            }
        },
        None => None,
    };
    let queue = duration(message, "queue", &mut problems);
    let burst = match field(message, "burst") {
        Some(Value::U32(n)) if n > 0 => Some(n),
        _ => None,
    };
    let shared = string(message, "shared");
    match rate {
        Some(rate) if problems.is_empty() => {
            let mut limit = RateLimit::new(rate.count, rate.period);
            limit.burst = burst;
            limit.queue = queue;
            limit.warm_up = warm_up;
            limit.shared = shared;
            // What the options' reading above cannot see (a blank `shared`).
            let problems = limit.problems();
            if problems.is_empty() {
                Ok(limit)
            } else {
                Err(problems)
            }
        }
        _ => Err(problems),
    }
}

fn read_concurrency(message: &DynamicMessage) -> Result<Concurrency, Vec<String>> {
    let mut problems = Vec::new();
    let max = match field(message, "max") {
        Some(Value::U32(n)) if n > 0 => n,
        _ => {
            problems.push("max is required and at least 1, as in `max: 32`".to_owned());
            0
        }
    };
    let mut limit = Concurrency::new(max);
    limit.queue = duration(message, "queue", &mut problems);
    let aimd_timeout = duration(message, "aimd_timeout", &mut problems);
    match string(message, "adaptive") {
        Some(name) => match crate::limits::Adaptive::parse(&name, aimd_timeout) {
            Ok(adaptive) => limit.adaptive = Some(adaptive),
            Err(e) => problems.push(e),
        },
        None if aimd_timeout.is_some() => {
            problems.push("aimd_timeout: only with `adaptive: \"aimd\"`".to_owned());
        }
        None => {}
    }
    if problems.is_empty() {
        Ok(limit)
    } else {
        Err(problems)
    }
}

/// A jitter as proto options and the builder write it: a name or a fraction.
pub(crate) fn check_jitter(jitter: &str) -> Result<(), String> {
    Jitter::parse(jitter).map(|_| ())
}
