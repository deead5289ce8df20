//! gRPC service config files (`methodConfig` with `timeout`, gRPC A6's
//! `retryPolicy` and `hedgingPolicy`; `retryThrottling`), read and checked
//! once, here, for `steadfast-build` (which generates clients from them) and
//! for the runtime's `ServiceConfigLayer` (which applies them to any tonic
//! client). Feature `service-config`.
//!
//! Every problem is reported with where it is (`file: methodConfig[0].retryPolicy.maxBackoff: ...`),
//! all of them at once; nothing is defaulted silently. An unknown field is an error (a typo such
//! as `maxAttempt` would otherwise change nothing, unseen); the fields gRPC defines that
//! `steadfast` does not apply (`waitForReady`, message size limits, load balancing) are accepted,
//! since published configs carry them, and listed by [`ServiceConfig::not_applied`].
//!
//! ```
//! use steadfast_grammar::service_config::ServiceConfig;
//!
//! let config = ServiceConfig::parse(
//!     r#"{"methodConfig": [{
//!         "name": [{"service": "user.UserService"}],
//!         "timeout": "2s",
//!         "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
//!                         "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
//!     }]}"#,
//!     "service_config.json",
//! )
//! .unwrap();
//! let method = config.lookup("user.UserService", "GetUser").unwrap();
//! assert_eq!(method.timeout, Some(std::time::Duration::from_secs(2)));
//! assert_eq!(method.retry.as_ref().unwrap().max_attempts, 3);
//! ```

use std::time::Duration;

use serde_json::Value;

use crate::policy::code_variant;

/// What a `methodConfig` entry's `name` matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// `{}`: every method of every service.
    Global,
    /// `{"service": "pkg.Service"}`: every method of the service.
    Service(String),
    /// `{"service": "pkg.Service", "method": "Method"}`.
    Method(String, String),
}

impl Name {
    /// Which of `names` applies to `service`/`method`: the exact method's,
    /// then the service's, then the global one (gRPC's order).
    ///
    /// ```
    /// use steadfast_grammar::service_config::Name;
    /// let names = [Name::Global, Name::Service("a.A".into())];
    /// assert_eq!(Name::best(&names, "a.A", "M"), Some(1));
    /// assert_eq!(Name::best(&names, "b.B", "M"), Some(0));
    /// ```
    pub fn best<'a>(
        names: impl IntoIterator<Item = &'a Name> + Clone,
        service: &str,
        method: &str,
    ) -> Option<usize> {
        let position = |wanted: &dyn Fn(&Name) -> bool| names.clone().into_iter().position(wanted);
        position(&|n| matches!(n, Name::Method(s, m) if s == service && m == method))
            .or_else(|| position(&|n| matches!(n, Name::Service(s) if s == service)))
            .or_else(|| position(&|n| matches!(n, Name::Global)))
    }

    /// Whether this name covers some method of `service`.
    ///
    /// ```
    /// use steadfast_grammar::service_config::Name;
    /// assert!(Name::Global.configures("a.A"));
    /// assert!(!Name::Service("b.B".into()).configures("a.A"));
    /// ```
    pub fn configures(&self, service: &str) -> bool {
        match self {
            Name::Global => true,
            Name::Service(s) | Name::Method(s, _) => s == service,
        }
    }
}

/// One `methodConfig` entry's policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodConfig {
    /// `timeout`: the call's deadline.
    pub timeout: Option<Duration>,
    /// `retryPolicy`.
    pub retry: Option<RetryConfig>,
    /// `hedgingPolicy`.
    pub hedge: Option<HedgeConfig>,
}

/// gRPC A6's `retryPolicy`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// `maxAttempts`, capped at 5 as A6 says (5 when left out, as published
    /// client-library configs do).
    pub max_attempts: u32,
    /// `initialBackoff`, above zero.
    pub initial_backoff: Duration,
    /// `maxBackoff`, above zero.
    pub max_backoff: Duration,
    /// `backoffMultiplier`, above zero (1 or below: the delays do not grow).
    pub multiplier: f64,
    /// `retryableStatusCodes`, as written (each a known code: see
    /// [`code_variant`]); never empty.
    pub codes: Vec<String>,
}

/// gRPC A6's `hedgingPolicy`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgeConfig {
    /// `maxAttempts`, capped at 5.
    pub max_attempts: u32,
    /// `hedgingDelay` (0 when left out: every attempt at once).
    pub delay: Duration,
    /// `nonFatalStatusCodes`, as written (empty when left out: every error
    /// is fatal).
    pub codes: Vec<String>,
}

/// gRPC A6's `retryThrottling`: a token bucket shared by a channel's calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttling {
    /// `maxTokens`, 1 to 1000.
    pub max_tokens: u32,
    /// `tokenRatio`, above zero.
    pub token_ratio: f64,
}

/// A service config: its entries, by name, and its throttling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceConfig {
    entries: Vec<(Name, MethodConfig)>,
    throttling: Option<Throttling>,
    not_applied: Vec<String>,
}

/// Fields gRPC defines that `steadfast` does not apply: accepted (published
/// configs carry them), and listed by [`ServiceConfig::not_applied`].
const NOT_APPLIED_TOP: &[&str] = &[
    "loadBalancingConfig",
    "loadBalancingPolicy",
    "healthCheckConfig",
];
const NOT_APPLIED_METHOD: &[&str] = &[
    "waitForReady",
    "maxRequestMessageBytes",
    "maxResponseMessageBytes",
];

/// Checks the keys of `value` (an object): each is `known`, or one of
/// `not_applied` (noted), or an error naming the ones known.
fn keys(
    value: &Value,
    at: &str,
    known: &[&str],
    not_applied: &[&str],
    problems: &mut Vec<String>,
    noted: &mut Vec<String>,
) {
    let Some(object) = value.as_object() else {
        problems.push(format!("{at}: expected an object"));
        return;
    };
    for key in object.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        if not_applied.contains(&key.as_str()) {
            noted.push(format!("{at}.{key}: accepted, not applied by steadfast"));
            continue;
        }
        problems.push(format!(
            "{at}: unknown field `{key}` (known: {})",
            known.join(", ")
        ));
    }
}

impl ServiceConfig {
    /// Parses and checks `text`, naming `file` in every problem; all the
    /// problems found, one a line, when there are any.
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let problems = ServiceConfig::parse(r#"{"retryThrottling": {"maxTokens": 0}}"#, "sc.json")
    ///     .unwrap_err();
    /// assert!(problems[0].starts_with("sc.json: retryThrottling.maxTokens:"));
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<Self, Vec<String>> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| vec![format!("{file}:{}:{}: {e}", e.line(), e.column())])?;
        let mut problems = Vec::new();
        let mut config = Self::default();
        if !json.is_object() {
            return Err(vec![format!("{file}: expected a JSON object")]);
        }
        let mut noted = Vec::new();
        keys(
            &json,
            file,
            &["methodConfig", "retryThrottling"],
            NOT_APPLIED_TOP,
            &mut problems,
            &mut noted,
        );
        if let Some(throttling) = json.get("retryThrottling") {
            config.throttling = retry_throttling(
                throttling,
                &format!("{file}: retryThrottling"),
                &mut problems,
            );
        }
        let configs = match json.get("methodConfig") {
            None if problems.is_empty() => {
                config.not_applied = noted;
                return Ok(config);
            }
            None => return Err(problems),
            Some(Value::Array(configs)) => configs.as_slice(),
            Some(_) => return Err(vec![format!("{file}: methodConfig: expected a list")]),
        };
        for (i, entry) in configs.iter().enumerate() {
            let at = format!("{file}: methodConfig[{i}]");
            let known = ["name", "timeout", "retryPolicy", "hedgingPolicy"];
            keys(
                entry,
                &at,
                &known,
                NOT_APPLIED_METHOD,
                &mut problems,
                &mut noted,
            );
            let method = method_config(entry, &at, &mut problems, &mut noted);
            let names = entry.get("name").and_then(Value::as_array);
            for (j, name) in names.into_iter().flatten().enumerate() {
                let at_name = format!("{at}.name[{j}]");
                keys(
                    name,
                    &at_name,
                    &["service", "method"],
                    &[],
                    &mut problems,
                    &mut noted,
                );
                match parse_name(name) {
                    Ok(name) => config.entries.push((name, method.clone())),
                    Err(e) => problems.push(format!("{at}.name[{j}]: {e}")),
                }
            }
        }
        config.not_applied = noted;
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// What the reader did not take as written, one line each with where
    /// it is, for the caller to show as a warning: the fields gRPC defines
    /// that were accepted but are not applied (`waitForReady`, message size
    /// limits, load balancing), and what it assumed (a `retryPolicy` without
    /// `maxAttempts` gets 5).
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let config = ServiceConfig::parse(
    ///     r#"{"methodConfig": [{"name": [{}], "waitForReady": true}]}"#, "sc.json").unwrap();
    /// assert_eq!(
    ///     config.not_applied(),
    ///     ["sc.json: methodConfig[0].waitForReady: accepted, not applied by steadfast"]
    /// );
    /// ```
    pub fn not_applied(&self) -> &[String] {
        &self.not_applied
    }

    /// The entry for `service`/`method`: the exact method's, then the
    /// service's, then the global one (gRPC's order).
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let config = ServiceConfig::parse(r#"{"methodConfig": [{"name": [{}], "timeout": "1s"}]}"#, "f")
    ///     .unwrap();
    /// assert!(config.lookup("any.Service", "Any").is_some());
    /// ```
    pub fn lookup(&self, service: &str, method: &str) -> Option<&MethodConfig> {
        let index = Name::best(self.entries.iter().map(|(name, _)| name), service, method)?;
        self.entries.get(index).map(|(_, method)| method)
    }

    /// The config's `retryThrottling`, whatever it configures.
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let config = ServiceConfig::parse("{}", "f").unwrap();
    /// assert!(config.throttling().is_none());
    /// ```
    pub fn throttling(&self) -> Option<Throttling> {
        self.throttling
    }

    /// `retryThrottling` for `service`: the config's, when it has one and
    /// configures the service (by name, or by a global entry).
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let config = ServiceConfig::parse(
    ///     r#"{"methodConfig": [{"name": [{"service": "a.A"}]}],
    ///         "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}"#, "f").unwrap();
    /// assert!(config.throttling_for("a.A").is_some());
    /// assert!(config.throttling_for("b.B").is_none());
    /// ```
    pub fn throttling_for(&self, service: &str) -> Option<Throttling> {
        let mut names = self.entries.iter().map(|(name, _)| name);
        self.throttling
            .filter(|_| names.any(|name| name.configures(service)))
    }

    /// Every entry, in the file's order, one per name.
    ///
    /// ```
    /// use steadfast_grammar::service_config::ServiceConfig;
    /// let config = ServiceConfig::parse(r#"{"methodConfig": [{"name": [{}]}]}"#, "f").unwrap();
    /// assert_eq!(config.entries().count(), 1);
    /// ```
    pub fn entries(&self) -> impl Iterator<Item = (&Name, &MethodConfig)> {
        self.entries.iter().map(|(name, method)| (name, method))
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

/// A protobuf JSON duration (`"1.5s"`), in the one duration grammar. A
/// fraction without its leading zero (`".01s"`) is protobuf JSON too (its
/// parsers and grpc-go's tests write it): read as `"0.01s"`.
fn duration(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Duration> {
    let Some(text) = value.as_str() else {
        problems.push(format!("{at}: expected a duration string such as \"1.5s\""));
        return None;
    };
    let leading_zero;
    let text = match text.strip_prefix('.') {
        Some(fraction) if fraction.starts_with(|c: char| c.is_ascii_digit()) => {
            leading_zero = format!("0.{fraction}");
            leading_zero.as_str()
        }
        _ => text,
    };
    match crate::parse(text) {
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
    keys(
        value,
        at,
        &["maxTokens", "tokenRatio"],
        &[],
        problems,
        &mut Vec::new(),
    );
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

fn method_config(
    entry: &Value,
    at: &str,
    problems: &mut Vec<String>,
    noted: &mut Vec<String>,
) -> MethodConfig {
    let mut method = MethodConfig::default();
    if let Some(timeout) = entry.get("timeout") {
        method.timeout = duration(timeout, &format!("{at}.timeout"), problems);
    }
    if let Some(retry) = entry.get("retryPolicy") {
        let at = format!("{at}.retryPolicy");
        if retry.get("maxAttempts").is_none() {
            noted.push(format!(
                "{at}.maxAttempts: left out, so 5 is assumed (the most gRPC A6 allows)"
            ));
        }
        method.retry = retry_policy(retry, &at, problems);
    }
    if let Some(hedge) = entry.get("hedgingPolicy") {
        if entry.get("retryPolicy").is_some() {
            problems.push(format!(
                "{at}: has both retryPolicy and hedgingPolicy; gRPC A6 allows one"
            ));
        }
        method.hedge = hedging_policy(hedge, &format!("{at}.hedgingPolicy"), problems);
    }
    method
}

/// `maxAttempts`: a whole number above 1, capped at 5 (A6).
fn max_attempts(value: Option<&Value>, at: &str, problems: &mut Vec<String>) -> Option<u32> {
    match value.and_then(Value::as_f64) {
        Some(n) if n > 1.0 && n.fract() == 0.0 => Some(n.min(5.0) as u32),
        Some(n) => {
            problems.push(format!(
                "{at}.maxAttempts: must be a whole number above 1, not {n}"
            ));
            Some(0)
        }
        None if value.is_some() => {
            problems.push(format!("{at}.maxAttempts: must be a whole number above 1"));
            Some(0)
        }
        None => None,
    }
}

/// gRPC A6's `hedgingPolicy`: `maxAttempts` above 1 (above 5 counts as 5),
/// `hedgingDelay` (default 0: every attempt at once), `nonFatalStatusCodes`
/// (default none: every error is fatal).
fn hedging_policy(hedge: &Value, at: &str, problems: &mut Vec<String>) -> Option<HedgeConfig> {
    let before = problems.len();
    let known = ["maxAttempts", "hedgingDelay", "nonFatalStatusCodes"];
    keys(hedge, at, &known, &[], problems, &mut Vec::new());
    let max_attempts = max_attempts(hedge.get("maxAttempts"), at, problems).unwrap_or_else(|| {
        problems.push(format!(
            "{at}.maxAttempts: required, a whole number above 1"
        ));
        0
    });
    let delay = match hedge.get("hedgingDelay") {
        Some(value) => duration(value, &format!("{at}.hedgingDelay"), problems),
        None => Some(Duration::ZERO),
    };
    let codes = hedge
        .get("nonFatalStatusCodes")
        .map_or_else(Vec::new, |list| {
            status_codes(list, &format!("{at}.nonFatalStatusCodes"), problems)
        });
    if problems.len() > before {
        return None;
    }
    Some(HedgeConfig {
        max_attempts,
        delay: delay.unwrap_or_default(),
        codes,
    })
}

/// gRPC A6's `retryPolicy`, validated as A6 says: `maxAttempts` above 1
/// (above 5 counts as 5; left out, as published client-library configs do,
/// it is 5), positive backoffs and multiplier, and a non-empty
/// `retryableStatusCodes`.
fn retry_policy(retry: &Value, at: &str, problems: &mut Vec<String>) -> Option<RetryConfig> {
    let before = problems.len();
    let known = [
        "maxAttempts",
        "initialBackoff",
        "maxBackoff",
        "backoffMultiplier",
        "retryableStatusCodes",
    ];
    keys(retry, at, &known, &[], problems, &mut Vec::new());
    // A6 requires it, but configs published for client libraries (Pub/Sub's
    // among them) leave it out and let the timeout bound the retries: take
    // the most A6 allows.
    let max_attempts = max_attempts(retry.get("maxAttempts"), at, problems).unwrap_or(5);
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
    let initial_backoff = positive("initialBackoff");
    let max_backoff = positive("maxBackoff");
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
    match (initial_backoff, max_backoff) {
        (Some(initial_backoff), Some(max_backoff)) if problems.len() == before => {
            Some(RetryConfig {
                max_attempts,
                initial_backoff,
                max_backoff,
                multiplier,
                codes,
            })
        }
        _ => None,
    }
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
