//! The settings file's tree read into [`ClientSettings`], every problem
//! recorded with where it is.

use std::collections::BTreeMap;
use std::time::Duration;

use super::tree::{At, Node, Value};
use super::{CallSettings, ClientSettings};
use crate::policy::{
    check_multiplier, code_variant, Growth, Jitter, BACKOFF_ALIASES, BACKOFF_NAMES,
};
use crate::suggest::{closest, list};

/// The keys of a client's section that are not a call's: how to reach
/// its server, and the methods' own settings.
const CONNECTION_KEYS: &[&str] = &[
    "address",
    "enableKeepAlive",
    "keepAliveTime",
    "connectTimeout",
    "methods",
];

/// The keys of a method's section (the call's policy) besides a retry's.
const METHOD_KEYS: &[&str] = &[
    "timeout",
    "hedge",
    "circuitBreaker",
    "rateLimit",
    "concurrency",
];

/// The keys of a retry: a method's too, and what a section that hedges
/// cannot have.
const RETRY_ONLY_KEYS: &[&str] = &[
    "maxRetryAttempts",
    "perTryTimeout",
    "backoff",
    "initialBackoff",
    "maxBackoff",
    "backoffMultiplier",
    "jitter",
    "retryOn",
];

/// The keys of a client's section that only a client has.
const CLIENT_ONLY_KEYS: &[&str] = &["budget"];

/// Which section a key is read in.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Client,
    Method,
}

/// Problems, each where it is.
pub(super) struct Problems<'a> {
    file: &'a str,
    found: Vec<(At, String)>,
}

impl Problems<'_> {
    pub(super) fn at(&mut self, at: At, what: impl std::fmt::Display) {
        self.found.push((at, what.to_string()));
    }

    /// Each as `file:line:col: what`, in the file's order (a TOML table's
    /// keys come sorted).
    fn into_lines(mut self) -> Vec<String> {
        self.found.sort_by_key(|(at, _)| (at.line, at.col));
        let file = self.file;
        self.found
            .into_iter()
            .map(|(at, what)| format!("{file}:{at}: {what}"))
            .collect()
    }
}

/// The clients of the file whose tree is `root`.
pub(super) fn clients(
    root: &Node,
    file: &str,
) -> Result<BTreeMap<String, ClientSettings>, Vec<String>> {
    let mut problems = Problems {
        file,
        found: Vec::new(),
    };
    let mut clients = BTreeMap::new();
    if let Some(section) = client_section(root, &mut problems) {
        match &section.value {
            Value::Map(entries) => {
                for (name, at, node) in entries {
                    let mut settings = client(node, &mut problems);
                    settings.at = *at;
                    clients.insert(name.clone(), settings);
                }
            }
            other => problems.at(
                section.at,
                format!(
                    "`grpc.client` holds the clients by name: expected a map, found {}",
                    other.kind()
                ),
            ),
        }
    }
    if problems.found.is_empty() {
        Ok(clients)
    } else {
        Err(problems.into_lines())
    }
}

/// One method's settings, read alone (see [`parse_call`](super::parse_call)).
pub(super) fn method(node: &Node, file: &str) -> Result<CallSettings, Vec<String>> {
    let mut problems = Problems {
        file,
        found: Vec::new(),
    };
    let settings = call(node, &mut problems);
    if problems.found.is_empty() {
        Ok(settings)
    } else {
        Err(problems.into_lines())
    }
}

/// `grpc.client`, or the problem of its absence. The rest of the file is
/// the application's.
fn client_section<'n>(root: &'n Node, problems: &mut Problems<'_>) -> Option<&'n Node> {
    let entries = match &root.value {
        Value::Map(entries) => entries,
        other => {
            problems.at(
                root.at,
                format!("expected a map with `grpc.client`, found {}", other.kind()),
            );
            return None;
        }
    };
    let Some((_, _, grpc)) = entries.iter().find(|(key, ..)| key == "grpc") else {
        let hint = missing_hint(entries, "grpc");
        problems.at(root.at, format!("no `grpc.client` section{hint}"));
        return None;
    };
    let Value::Map(grpc_entries) = &grpc.value else {
        problems.at(
            grpc.at,
            format!(
                "`grpc` holds `client`: expected a map, found {}",
                grpc.value.kind()
            ),
        );
        return None;
    };
    match grpc_entries.iter().find(|(key, ..)| key == "client") {
        Some((_, _, client)) => Some(client),
        None => {
            let hint = missing_hint(grpc_entries, "client");
            problems.at(grpc.at, format!("no `client` under `grpc`{hint}"));
            None
        }
    }
}

/// ": is `clinet` it?" when a key present is close to the one missing.
fn missing_hint(entries: &[(String, At, Node)], wanted: &str) -> String {
    entries
        .iter()
        .find(|(key, ..)| closest(key, &[wanted], &[]).is_some())
        .map(|(key, at, _)| format!(": is `{key}` at {at} meant to be `{wanted}`?"))
        .unwrap_or_default()
}

fn client(node: &Node, problems: &mut Problems<'_>) -> ClientSettings {
    let mut settings = ClientSettings::default();
    let Some(entries) = map(node, "a client's settings", problems) else {
        return settings;
    };
    let mut keep_alive_on: Option<(bool, At)> = None;
    let mut keep_alive_time: Option<(Duration, At)> = None;
    for (key, at, value) in entries {
        match key.as_str() {
            "address" => {
                if let Some(text) = string(value, key, problems) {
                    match address(&text) {
                        Ok(endpoints) => settings.address = endpoints,
                        Err(why) => problems.at(value.at, format!("address: {why}")),
                    }
                }
            }
            "enableKeepAlive" => match value.value {
                Value::Bool(on) => keep_alive_on = Some((on, *at)),
                _ => expected(value, key, "`true` or `false`", problems),
            },
            "keepAliveTime" => {
                keep_alive_time = duration(value, key, problems).map(|d| (d, *at));
            }
            "connectTimeout" => settings.connect_timeout = duration(value, key, problems),
            "budget" => settings.budget = super::gates::budget(value, problems),
            "methods" => {
                if let Some(methods) = map(value, "`methods` (settings by method name)", problems) {
                    for (method, at, node) in methods {
                        let own = call(node, problems);
                        settings.methods.insert(method.clone(), own);
                        settings.methods_at.insert(method.clone(), *at);
                    }
                }
            }
            _ => {
                call_key(
                    key,
                    *at,
                    value,
                    &mut settings.call,
                    Section::Client,
                    problems,
                );
            }
        }
    }
    hedged_or_retried(entries, &settings.call.hedge, problems);
    match (keep_alive_on, keep_alive_time) {
        (Some((true, _)), Some((time, _))) => settings.keep_alive = Some(time),
        (Some((true, at)), None) => problems.at(
            at,
            "enableKeepAlive: true needs keepAliveTime, as in `keepAliveTime: 30s`",
        ),
        (None, Some((_, at))) => problems.at(at, "keepAliveTime needs enableKeepAlive: true"),
        (Some((false, _)), Some((_, at))) => {
            problems.at(at, "keepAliveTime is set but enableKeepAlive is false")
        }
        (Some((false, _)), None) | (None, None) => {}
    }
    settings
}

/// A method's settings.
fn call(node: &Node, problems: &mut Problems<'_>) -> CallSettings {
    let mut settings = CallSettings::default();
    if let Some(entries) = map(node, "a method's settings", problems) {
        for (key, at, value) in entries {
            call_key(key, *at, value, &mut settings, Section::Method, problems);
        }
        hedged_or_retried(entries, &settings.hedge, problems);
    }
    settings
}

/// A section that hedges and has a retry's keys: each of those is a
/// problem (gRPC A6: a method has a `retryPolicy` or a `hedgingPolicy`).
fn hedged_or_retried(
    entries: &[(String, At, Node)],
    hedge: &Option<super::Switch<super::HedgeSettings>>,
    problems: &mut Problems<'_>,
) {
    if !matches!(hedge, Some(super::Switch::On(_))) {
        return;
    }
    for (key, at, _) in entries {
        if RETRY_ONLY_KEYS.contains(&key.as_str()) {
            problems.at(
                *at,
                format!("`{key}` beside `hedge`: a call is hedged or retried, not both (gRPC A6); a hedge's attempts are `hedge.maxAttempts`"),
            );
        }
    }
}

/// Reads `key` into `settings` when it is a call's setting; records the
/// problem otherwise (an unknown key, with a did-you-mean among the keys
/// of its `section`: a client's has the connection's keys too).
fn call_key(
    key: &str,
    at: At,
    value: &Node,
    settings: &mut CallSettings,
    section: Section,
    problems: &mut Problems<'_>,
) {
    match key {
        "timeout" => settings.timeout = positive(value, key, problems),
        "perTryTimeout" => settings.per_try_timeout = positive(value, key, problems),
        "initialBackoff" => settings.initial_backoff = duration(value, key, problems),
        "maxBackoff" => settings.max_backoff = duration(value, key, problems),
        "maxRetryAttempts" => match value.value {
            Value::Int(n) => match u32::try_from(n) {
                Ok(n) if n < u32::MAX => settings.max_retry_attempts = Some(n),
                _ if n < 0 => problems.at(value.at, format!("maxRetryAttempts: {n} is negative: it counts the retries after the first attempt (0: none)")),
                _ => problems.at(value.at, format!("maxRetryAttempts: {n} is too many")),
            },
            _ => expected(value, key, "a whole number of retries, as in `3`", problems),
        },
        "backoff" => {
            if let Some(name) = string(value, key, problems) {
                match Growth::from_name(&name) {
                    Some(growth) => settings.backoff = Some(growth),
                    None => {
                        let hint = closest(&name, BACKOFF_NAMES, BACKOFF_ALIASES)
                            .map(|s| format!("did you mean `{s}`? "))
                            .unwrap_or_default();
                        problems.at(value.at, format!("backoff: unknown `{name}`: {hint}expected one of {}", list(BACKOFF_NAMES)));
                    }
                }
            }
        }
        "backoffMultiplier" => match number(value) {
            Some(m) => match check_multiplier(m) {
                Ok(m) => settings.backoff_multiplier = Some(m),
                Err(why) => problems.at(value.at, format!("backoffMultiplier: {why}")),
            },
            None => expected(value, key, "a number, as in `2.0`", problems),
        },
        "jitter" => {
            let text = match &value.value {
                Value::Str(s) => Some(s.clone()),
                Value::Int(_) | Value::Float(_) => number(value).map(|f| f.to_string()),
                _ => None,
            };
            match text.map(|t| Jitter::parse(&t)) {
                Some(Ok(jitter)) => settings.jitter = Some(jitter),
                Some(Err(why)) => problems.at(value.at, format!("jitter: {why}")),
                None => expected(value, key, "a jitter name or a fraction, as in `full` or `0.2`", problems),
            }
        }
        "retryOn" => settings.retry_on = codes(value, key, problems),
        "hedge" => settings.hedge = super::gates::hedge(value, problems),
        "circuitBreaker" => settings.circuit_breaker = super::gates::breaker(value, problems),
        "rateLimit" => settings.rate_limit = super::gates::rate_limit(value, problems),
        "concurrency" => settings.concurrency = super::gates::concurrency(value, problems),
        _ if section == Section::Method && CLIENT_ONLY_KEYS.contains(&key) => problems.at(
            at,
            format!("`{key}` is the client's, shared by all its calls (gRPC A6 `retryThrottling`): set it beside `address`, not for one method"),
        ),
        _ => {
            let keys = match section {
                Section::Method => [METHOD_KEYS, RETRY_ONLY_KEYS].concat(),
                Section::Client => {
                    [CONNECTION_KEYS, CLIENT_ONLY_KEYS, METHOD_KEYS, RETRY_ONLY_KEYS].concat()
                }
            };
            let hint = closest(key, &keys, &[])
                .map(|s| format!(": did you mean `{s}`?"))
                .unwrap_or_else(|| format!(": expected one of {}", list(&keys)));
            problems.at(at, format!("unknown key `{key}`{hint}"));
        }
    }
}

pub(super) fn map<'n>(
    node: &'n Node,
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<&'n [(String, At, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        other => {
            problems.at(
                node.at,
                format!("{what}: expected a map, found {}", other.kind()),
            );
            None
        }
    }
}

pub(super) fn expected(value: &Node, key: &str, what: &str, problems: &mut Problems<'_>) {
    problems.at(
        value.at,
        format!("{key}: expected {what}, found {}", value.value.kind()),
    );
}

pub(super) fn string(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<String> {
    match &value.value {
        Value::Str(s) => Some(s.clone()),
        _ => {
            expected(value, key, "a string", problems);
            None
        }
    }
}

pub(super) fn number(value: &Node) -> Option<f64> {
    match value.value {
        Value::Float(x) => Some(x),
        #[allow(clippy::cast_precision_loss)]
        Value::Int(n) => Some(n as f64),
        _ => None,
    }
}

/// A duration written as the grammar writes them (`2s`, `150ms`).
pub(super) fn duration(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<Duration> {
    match &value.value {
        Value::Str(text) => match crate::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                problems.at(value.at, format!("{key}: {e}"));
                None
            }
        },
        Value::Int(n) => {
            problems.at(
                value.at,
                format!("{key}: `{n}` needs a unit, as in `{n}s` or `{n}ms`"),
            );
            None
        }
        _ => {
            expected(value, key, "a duration, as in `2s` or `150ms`", problems);
            None
        }
    }
}

/// A duration longer than zero.
pub(super) fn positive(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<Duration> {
    let d = duration(value, key, problems)?;
    if d.is_zero() {
        problems.at(value.at, format!("{key}: must be longer than zero"));
        return None;
    }
    Some(d)
}

/// `static://host:port[,host:port...]` or `http(s)://host:port`: the
/// endpoints, as `http(s)://host:port`.
fn address(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim();
    if let Some(list) = text.strip_prefix("static://") {
        let mut endpoints = Vec::new();
        for entry in list.split(',').map(str::trim) {
            let Some((host, port)) = entry.rsplit_once(':') else {
                return Err(format!("`{entry}` needs a port, as in `127.0.0.1:8080`"));
            };
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!("`{entry}` is not `host:port`"));
            }
            endpoints.push(format!("http://{entry}"));
        }
        return Ok(endpoints);
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(vec![text.to_owned()]);
    }
    let scheme = text.split_once("://").map_or(text, |(scheme, _)| scheme);
    Err(format!(
        "`{scheme}` is not an address this reads: `static://host:port[,host:port]` (balanced over) or `http(s)://host:port`"
    ))
}

/// A whole number from 0 to `u32::MAX`.
pub(super) fn whole(value: &Node, key: &str, problems: &mut Problems<'_>) -> Option<u32> {
    match value.value {
        Value::Int(n) => match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) if n < 0 => {
                problems.at(value.at, format!("{key}: {n} is negative"));
                None
            }
            Err(_) => {
                problems.at(value.at, format!("{key}: {n} is too many"));
                None
            }
        },
        _ => {
            expected(value, key, "a whole number", problems);
            None
        }
    }
}

/// A list of status codes, by gRPC's names or numbers, as tonic's `Code`
/// variants.
pub(super) fn codes(
    value: &Node,
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<Vec<&'static str>> {
    let Value::List(items) = &value.value else {
        expected(
            value,
            key,
            "a list of status codes, as in `[UNAVAILABLE]`",
            problems,
        );
        return None;
    };
    let mut codes = Vec::new();
    for item in items {
        match &item.value {
            Value::Int(number) => match code_variant(&number.to_string()) {
                Some(variant) => codes.push(variant),
                None => problems.at(
                    item.at,
                    format!("{key}: no status code is numbered {number} (0 to 16)"),
                ),
            },
            Value::Str(code) => match code_variant(code) {
                Some(variant) => codes.push(variant),
                None => problems.at(item.at, format!("{key}: unknown status code `{code}`, as gRPC names them: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, ...")),
            },
            other => problems.at(
                item.at,
                format!("{key}: expected a status code name, found {}", other.kind()),
            ),
        }
    }
    Some(codes)
}
