//! gRPC service config files (`methodConfig`, gRPC A6 `retryPolicy`).

use std::path::Path;

use serde_json::Value;

use crate::codegen::Throttling;
use crate::policy::{code_variant, Backoff, Hedge, Policy, Retry};
use crate::Error;

/// What a `methodConfig` entry's `name` matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Global,
    Service(String),
    Method(String, String),
}

/// The policies of a service config, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceConfig {
    entries: Vec<(Name, Policy)>,
    throttling: Option<Throttling>,
}

impl ServiceConfig {
    /// Reads and validates `path`; every problem is reported with its JSON path.
    pub(crate) fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::one(format!("{}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    pub(crate) fn parse(text: &str, file: &str) -> Result<Self, Error> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| Error::one(format!("{file}:{}:{}: {e}", e.line(), e.column())))?;
        let mut problems = Vec::new();
        let mut config = Self::default();
        if let Some(throttling) = json.get("retryThrottling") {
            config.throttling = retry_throttling(
                throttling,
                &format!("{file}: retryThrottling"),
                &mut problems,
            );
        }
        let configs = match json.get("methodConfig") {
            None if problems.is_empty() => return Ok(config),
            None => return Err(Error::new(problems)),
            Some(Value::Array(configs)) => configs.as_slice(),
            Some(_) => {
                return Err(Error::one(format!("{file}: methodConfig: expected a list")));
            }
        };
        for (i, entry) in configs.iter().enumerate() {
            let at = format!("{file}: methodConfig[{i}]");
            let policy = entry_policy(entry, &at, &mut problems);
            let names = entry.get("name").and_then(Value::as_array);
            for (j, name) in names.into_iter().flatten().enumerate() {
                match parse_name(name) {
                    Ok(name) => config.entries.push((name, policy.clone())),
                    Err(e) => problems.push(format!("{at}.name[{j}]: {e}")),
                }
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::new(problems))
        }
    }

    /// gRPC A6 `retryThrottling` for `service`: the config's, when it has
    /// one and configures the service (by name, or by a global entry).
    pub(crate) fn throttling_for(&self, service: &str) -> Option<Throttling> {
        let configured = self.entries.iter().any(|(name, _)| match name {
            Name::Global => true,
            Name::Service(s) | Name::Method(s, _) => s == service,
        });
        self.throttling.filter(|_| configured)
    }

    /// The policy for `service`/`method`: exact method, then service, then global.
    pub(crate) fn lookup(&self, service: &str, method: &str) -> Option<&Policy> {
        let exact = Name::Method(service.to_owned(), method.to_owned());
        let whole = Name::Service(service.to_owned());
        [exact, whole, Name::Global]
            .iter()
            .find_map(|want| self.entries.iter().find(|(name, _)| name == want))
            .map(|(_, policy)| policy)
    }
}

fn parse_name(name: &Value) -> Result<Name, String> {
    let field = |key: &str| -> Result<String, String> {
        match name.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let (service, method) = (field("service")?, field("method")?);
    match (service.is_empty(), method.is_empty()) {
        (true, true) => Ok(Name::Global),
        (true, false) => Err("a `method` needs its `service`".to_owned()),
        (false, true) => Ok(Name::Service(service)),
        (false, false) => Ok(Name::Method(service, method)),
    }
}

/// A protobuf JSON duration (`"1.5s"`), in the one duration grammar.
fn duration(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<std::time::Duration> {
    let Some(text) = value.as_str() else {
        problems.push(format!("{at}: expected a duration string such as \"1.5s\""));
        return None;
    };
    match resilient_grammar::parse(text) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(format!("{at}: {e}"));
            None
        }
    }
}

/// gRPC A6 `retryThrottling`: `maxTokens` a whole number in 1..=1000,
/// `tokenRatio` above zero.
fn retry_throttling(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Throttling> {
    let before = problems.len();
    let max_tokens = match value.get("maxTokens").and_then(Value::as_f64) {
        Some(n) if n.fract() == 0.0 && (1.0..=1000.0).contains(&n) => n as u32,
        Some(n) => {
            problems.push(format!(
                "{at}.maxTokens: must be a whole number from 1 to 1000, not {n}"
            ));
            0
        }
        None => {
            problems.push(format!(
                "{at}.maxTokens: required, a whole number from 1 to 1000"
            ));
            0
        }
    };
    let token_ratio = match value.get("tokenRatio").and_then(Value::as_f64) {
        Some(r) if r > 0.0 && r.is_finite() => r,
        Some(r) => {
            problems.push(format!("{at}.tokenRatio: must be above zero, not {r}"));
            0.0
        }
        None => {
            problems.push(format!("{at}.tokenRatio: required, above zero"));
            0.0
        }
    };
    (problems.len() == before).then_some(Throttling {
        max_tokens,
        token_ratio,
    })
}

fn entry_policy(entry: &Value, at: &str, problems: &mut Vec<String>) -> Policy {
    let mut policy = Policy::new();
    if let Some(timeout) = entry.get("timeout") {
        policy.deadline = duration(timeout, &format!("{at}.timeout"), problems);
    }
    if let Some(retry) = entry.get("retryPolicy") {
        policy.retry = retry_policy(retry, &format!("{at}.retryPolicy"), problems);
    }
    if let Some(hedge) = entry.get("hedgingPolicy") {
        if policy.retry.is_some() {
            problems.push(format!(
                "{at}: has both retryPolicy and hedgingPolicy; gRPC A6 allows one"
            ));
        }
        policy.hedge = hedging_policy(hedge, &format!("{at}.hedgingPolicy"), problems);
    }
    policy
}

/// gRPC A6's `hedgingPolicy`: `maxAttempts` above 1 (above 5 counts as 5),
/// `hedgingDelay` (default 0: every attempt at once), `nonFatalStatusCodes`
/// (default none: every error is fatal).
fn hedging_policy(hedge: &Value, at: &str, problems: &mut Vec<String>) -> Option<Hedge> {
    let before = problems.len();
    let max_attempts = match hedge.get("maxAttempts").and_then(Value::as_f64) {
        Some(n) if n > 1.0 && n.fract() == 0.0 => (n.min(5.0)) as u32,
        Some(n) => {
            problems.push(format!(
                "{at}.maxAttempts: must be a whole number above 1, not {n}"
            ));
            0
        }
        None => {
            problems.push(format!(
                "{at}.maxAttempts: required, a whole number above 1"
            ));
            0
        }
    };
    let delay = match hedge.get("hedgingDelay") {
        Some(value) => duration(value, &format!("{at}.hedgingDelay"), problems),
        None => Some(std::time::Duration::ZERO),
    };
    let codes = hedge
        .get("nonFatalStatusCodes")
        .map_or_else(Vec::new, |list| {
            status_codes(list, &format!("{at}.nonFatalStatusCodes"), problems)
        });
    if problems.len() > before {
        return None;
    }
    Some(Hedge::new(max_attempts, delay.unwrap_or_default()).on(codes))
}

/// gRPC A6's `retryPolicy`, validated as A6 says: `maxAttempts` above 1
/// (above 5 counts as 5; left out, as published client-library configs do,
/// it is 5), positive backoffs and multiplier, and a non-empty
/// `retryableStatusCodes`. A6 spreads each delay over `random(0, delay)`:
/// full jitter.
fn retry_policy(retry: &Value, at: &str, problems: &mut Vec<String>) -> Option<Retry> {
    let before = problems.len();
    let max_attempts = match retry.get("maxAttempts").and_then(Value::as_f64) {
        Some(n) if n > 1.0 && n.fract() == 0.0 => (n.min(5.0)) as u32,
        Some(n) => {
            problems.push(format!(
                "{at}.maxAttempts: must be a whole number above 1, not {n}"
            ));
            0
        }
        // A6 requires it, but configs published for client libraries (Pub/Sub's
        // among them) leave it out and let the timeout bound the retries: take
        // the most A6 allows.
        None => 5,
    };
    let mut positive = |key: &str| match retry.get(key) {
        None => {
            problems.push(format!("{at}.{key}: required"));
            None
        }
        Some(value) => match duration(value, &format!("{at}.{key}"), problems) {
            Some(d) if d.is_zero() => {
                problems.push(format!("{at}.{key}: must be above zero"));
                None
            }
            d => d,
        },
    };
    let initial = positive("initialBackoff");
    let max_delay = positive("maxBackoff");
    let multiplier = match retry.get("backoffMultiplier").and_then(Value::as_f64) {
        Some(m) if m > 0.0 && m.is_finite() => m,
        Some(m) => {
            problems.push(format!(
                "{at}.backoffMultiplier: must be above zero, not {m}"
            ));
            1.0
        }
        None => {
            problems.push(format!("{at}.backoffMultiplier: required, above zero"));
            1.0
        }
    };
    let codes = match retry.get("retryableStatusCodes") {
        Some(list) if list.as_array().is_some_and(|l| !l.is_empty()) => {
            status_codes(list, &format!("{at}.retryableStatusCodes"), problems)
        }
        _ => {
            problems.push(format!(
                "{at}.retryableStatusCodes: required, a non-empty list of status codes"
            ));
            Vec::new()
        }
    };
    if problems.len() > before {
        return None;
    }
    let mut out = Retry::new(max_attempts).jitter("full").on(codes);
    out.initial = initial;
    out.max_delay = max_delay;
    if multiplier > 1.0 {
        out.multiplier = Some(multiplier);
    } else {
        // A multiplier of 1 (or below, which A6 allows) cannot grow: constant delays.
        out.backoff = Backoff::Constant;
    }
    Some(out)
}

/// A list of status codes, as names (`"UNAVAILABLE"`) or numbers, each checked.
fn status_codes(list: &Value, at: &str, problems: &mut Vec<String>) -> Vec<String> {
    let Some(list) = list.as_array() else {
        problems.push(format!("{at}: must be a list of status codes"));
        return Vec::new();
    };
    let mut codes = Vec::with_capacity(list.len());
    for (i, code) in list.iter().enumerate() {
        let text = match code {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if code_variant(&text).is_none() {
            problems.push(format!("{at}[{i}]: unknown status code {code}"));
        }
        codes.push(text);
    }
    codes
}

#[cfg(test)]
mod tests;
