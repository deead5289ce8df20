//! The clients' settings file: the founding article's `grpc.client.<name>`
//! section, in YAML, TOML or JSON, read and checked here for the runtime's
//! `steadfast::config::Clients`. Feature `client-config`.
//!
//! ```yaml
//! grpc:
//!   client:
//!     user-service:
//!       address: 'static://127.0.0.1:8080'
//!       enableKeepAlive: true
//!       keepAliveTime: 30s
//!       connectTimeout: 1s
//!       timeout: 2s
//!       maxRetryAttempts: 3
//!       perTryTimeout: 1s
//! ```
//!
//! The article's keys as written, the retry schedule's (`backoff`,
//! `initialBackoff`, `maxBackoff`, `backoffMultiplier`, `jitter`,
//! `retryOn`), a `hedge`, the gates of each attempt (`circuitBreaker`,
//! `rateLimit`, `concurrency`) and the client's retry `budget`, per client
//! and per method (`methods: { GetUser: { .. } }`),
//! in the one vocabulary: durations as `#[deadline]` writes them (`2s`,
//! `150ms`), backoff and jitter names as `#[retry]` takes them, status codes
//! as gRPC names them. Every problem is reported at once, each at its
//! `file:line:col`; an unknown key is an error with a did-you-mean; keys
//! outside `grpc.client` belong to the application and are left alone.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_grammar::client_config::{ClientsFile, Format};
//!
//! let file = ClientsFile::parse(
//!     "grpc:\n  client:\n    user-service:\n      address: 'static://127.0.0.1:8080'\n      timeout: 2s\n      maxRetryAttempts: 3\n",
//!     "clients.yaml",
//!     Format::Yaml,
//! )
//! .unwrap();
//! let users = file.client("user-service").unwrap();
//! assert_eq!(users.call.timeout, Some(Duration::from_secs(2)));
//! assert_eq!(users.call.max_retry_attempts, Some(3));
//!
//! let problems = ClientsFile::parse(
//!     "grpc:\n  client:\n    user-service:\n      timout: 2s\n",
//!     "clients.yaml",
//!     Format::Yaml,
//! )
//! .unwrap_err();
//! assert_eq!(problems, ["clients.yaml:4:7: unknown key `timout`: did you mean `timeout`?"]);
//! ```

mod gates;
mod read;
mod tree;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::policy::{Growth, Jitter};

pub use gates::{
    Adaptive, BreakerSettings, BudgetSettings, ConcurrencySettings, HedgeSettings, RateSettings,
    Switch,
};

/// The format of a settings file.
///
/// ```
/// use steadfast_grammar::client_config::Format;
/// assert_eq!(Format::of_path("conf/clients.yml".as_ref()), Some(Format::Yaml));
/// assert_eq!(Format::of_path("clients.toml".as_ref()), Some(Format::Toml));
/// assert_eq!(Format::of_path("clients.ini".as_ref()), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`), read as the YAML it also is.
    Json,
}

impl Format {
    /// The format a file's extension says.
    pub fn of_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Self::Yaml),
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// A settings file, read and checked: the clients it configures, by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientsFile {
    clients: BTreeMap<String, ClientSettings>,
}

impl ClientsFile {
    /// Reads `text`, the contents of `file` (named in the problems).
    ///
    /// # Errors
    ///
    /// Every problem in the file, each as `file:line:col: what`.
    pub fn parse(text: &str, file: &str, format: Format) -> Result<Self, Vec<String>> {
        let root =
            tree::parse(text, format).map_err(|(at, why)| vec![format!("{file}:{at}: {why}")])?;
        read::clients(&root, file).map(|clients| Self { clients })
    }

    /// The settings of the client `name`, if the file has it.
    pub fn client(&self, name: &str) -> Option<&ClientSettings> {
        self.clients.get(name)
    }

    /// The names of the clients, in order.
    ///
    /// ```
    /// use steadfast_grammar::client_config::{ClientsFile, Format};
    /// let file = ClientsFile::parse("grpc:\n  client:\n    b: {}\n    a: {}\n", "f.yaml", Format::Yaml).unwrap();
    /// assert_eq!(file.names().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }
}

/// One method's settings written as a YAML flow map (`{ timeout: 2s,
/// maxRetryAttempts: 2 }`), in the keys of `methods: { GetUser: { .. } }`:
/// how a generated client hands its compiled policy to the runtime, to
/// merge with the file's.
///
/// # Errors
///
/// Every problem, each as `<policy>:line:col: what`.
///
/// ```
/// use std::time::Duration;
/// let call = steadfast_grammar::client_config::parse_call("{ timeout: 2s, maxRetryAttempts: 2 }").unwrap();
/// assert_eq!(call.timeout, Some(Duration::from_secs(2)));
/// ```
pub fn parse_call(text: &str) -> Result<CallSettings, Vec<String>> {
    let node = tree::parse(text, Format::Yaml)
        .map_err(|(at, why)| vec![format!("<policy>:{at}: {why}")])?;
    read::method(&node, "<policy>")
}

/// One client's settings: how to reach its server, and its calls' policy,
/// for all its methods and for some of them.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ClientSettings {
    /// `address`: the server's endpoints, as `http://host:port` (`static://a:1,b:2`: both,
    /// balanced over).
    pub address: Vec<String>,
    /// `enableKeepAlive: true` with `keepAliveTime`: an HTTP/2 ping this often.
    pub keep_alive: Option<Duration>,
    /// `connectTimeout`.
    pub connect_timeout: Option<Duration>,
    /// `budget`: gRPC A6's `retryThrottling`, shared by the client's calls.
    pub budget: Option<BudgetSettings>,
    /// The policy of every call.
    pub call: CallSettings,
    /// `methods: { GetUser: { .. } }`: what differs for a method, by its proto name.
    pub methods: BTreeMap<String, CallSettings>,
    /// Where the client's name is in the file.
    at: tree::At,
    /// Where each method's name is in the file.
    methods_at: BTreeMap<String, tree::At>,
}

impl ClientSettings {
    /// Where the client's section starts in its file: `line:col` (both
    /// from 1), for problems found after the file was read.
    ///
    /// ```
    /// use steadfast_grammar::client_config::{ClientsFile, Format};
    /// let file = ClientsFile::parse("grpc:\n  client:\n    users:\n      methods:\n        GetUser: {}\n", "f.yaml", Format::Yaml).unwrap();
    /// let users = file.client("users").unwrap();
    /// assert_eq!(users.place(), "3:5");
    /// assert_eq!(users.method_place("GetUser").as_deref(), Some("5:9"));
    /// ```
    pub fn place(&self) -> String {
        self.at.to_string()
    }

    /// Where `method`'s section starts in the file, if it has one.
    pub fn method_place(&self, method: &str) -> Option<String> {
        self.methods_at.get(method).map(ToString::to_string)
    }

    /// The policy of `method`'s calls: its own settings over the client's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_grammar::client_config::{ClientsFile, Format};
    ///
    /// let file = ClientsFile::parse(
    ///     "grpc:\n  client:\n    users:\n      timeout: 2s\n      maxRetryAttempts: 3\n      methods:\n        GetUser: { timeout: 500ms }\n",
    ///     "f.yaml",
    ///     Format::Yaml,
    /// )
    /// .unwrap();
    /// let get_user = file.client("users").unwrap().method("GetUser");
    /// assert_eq!(get_user.timeout, Some(Duration::from_millis(500)));
    /// assert_eq!(get_user.max_retry_attempts, Some(3));
    /// ```
    pub fn method(&self, method: &str) -> CallSettings {
        match self.methods.get(method) {
            Some(own) => own.over(&self.call),
            None => self.call.clone(),
        }
    }
}

/// The policy of a client's calls, or of one method's: each setting unset
/// unless the file sets it.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct CallSettings {
    /// `timeout`: the deadline of a call, all its attempts and their backoff together.
    pub timeout: Option<Duration>,
    /// `maxRetryAttempts`: retries after the first attempt (3: four attempts at most).
    pub max_retry_attempts: Option<u32>,
    /// `perTryTimeout`: each attempt's own deadline, within the call's.
    pub per_try_timeout: Option<Duration>,
    /// `backoff`: the schedule's shape (`exponential`, `constant`, ...).
    pub backoff: Option<Growth>,
    /// `initialBackoff`: the first delay.
    pub initial_backoff: Option<Duration>,
    /// `maxBackoff`: the longest delay.
    pub max_backoff: Option<Duration>,
    /// `backoffMultiplier`: an exponential schedule's factor.
    pub backoff_multiplier: Option<f64>,
    /// `jitter`: `full`, `equal`, `none` or a fraction.
    pub jitter: Option<Jitter>,
    /// `retryOn`: the status codes retried, as tonic's `Code` variants.
    pub retry_on: Option<Vec<&'static str>>,
    /// `hedge`: attempts started side by side instead of retries, or `off`.
    pub hedge: Option<Switch<HedgeSettings>>,
    /// `circuitBreaker`: a breaker asked by each attempt, or `off`.
    pub circuit_breaker: Option<Switch<BreakerSettings>>,
    /// `rateLimit`: a rate limit asked by each attempt, or `off`.
    pub rate_limit: Option<Switch<RateSettings>>,
    /// `concurrency`: a concurrency limit held by each attempt, or `off`.
    pub concurrency: Option<Switch<ConcurrencySettings>>,
}

impl CallSettings {
    /// These settings, with `base`'s where these have none.
    pub fn over(&self, base: &CallSettings) -> CallSettings {
        CallSettings {
            timeout: self.timeout.or(base.timeout),
            max_retry_attempts: self.max_retry_attempts.or(base.max_retry_attempts),
            per_try_timeout: self.per_try_timeout.or(base.per_try_timeout),
            backoff: self.backoff.or(base.backoff),
            initial_backoff: self.initial_backoff.or(base.initial_backoff),
            max_backoff: self.max_backoff.or(base.max_backoff),
            backoff_multiplier: self.backoff_multiplier.or(base.backoff_multiplier),
            jitter: self.jitter.or(base.jitter),
            retry_on: self.retry_on.clone().or_else(|| base.retry_on.clone()),
            hedge: switch_over(&self.hedge, &base.hedge, HedgeSettings::over),
            circuit_breaker: switch_over(
                &self.circuit_breaker,
                &base.circuit_breaker,
                BreakerSettings::over,
            ),
            rate_limit: switch_over(&self.rate_limit, &base.rate_limit, RateSettings::over),
            concurrency: switch_over(
                &self.concurrency,
                &base.concurrency,
                ConcurrencySettings::over,
            ),
        }
    }

    /// The breaker `layers` give (the first layer's keys over the next's,
    /// down to the first `off`), if any.
    ///
    /// ```
    /// use steadfast_grammar::client_config::{parse_call, CallSettings};
    /// let method = parse_call("{ circuitBreaker: { openFor: 10s } }").unwrap();
    /// let client = parse_call("{ circuitBreaker: { failureRatio: 0.25 } }").unwrap();
    /// let breaker = CallSettings::breaker(&[Some(&method), Some(&client)]).unwrap();
    /// assert_eq!(breaker.open_for, Some(std::time::Duration::from_secs(10)));
    /// assert_eq!(breaker.failure_ratio, Some(0.25));
    /// ```
    pub fn breaker(layers: &[Option<&CallSettings>]) -> Option<BreakerSettings> {
        gates::merge(
            layers
                .iter()
                .map(|l| l.and_then(|s| s.circuit_breaker.clone())),
            BreakerSettings::over,
        )
    }

    /// The rate limit `layers` give, as [`breaker`](Self::breaker) reads them.
    pub fn rate(layers: &[Option<&CallSettings>]) -> Option<RateSettings> {
        gates::merge(
            layers.iter().map(|l| l.and_then(|s| s.rate_limit.clone())),
            RateSettings::over,
        )
    }

    /// The concurrency limit `layers` give, as [`breaker`](Self::breaker)
    /// reads them.
    pub fn concurrency_limit(layers: &[Option<&CallSettings>]) -> Option<ConcurrencySettings> {
        gates::merge(
            layers.iter().map(|l| l.and_then(|s| s.concurrency.clone())),
            ConcurrencySettings::over,
        )
    }
}

/// `above` over `below`: `off` or nothing above decide alone; two settings
/// merge key by key.
fn switch_over<T: Clone>(
    above: &Option<Switch<T>>,
    below: &Option<Switch<T>>,
    over: fn(&T, &T) -> T,
) -> Option<Switch<T>> {
    match (above, below) {
        (Some(Switch::On(a)), Some(Switch::On(b))) => Some(Switch::On(over(a, b))),
        (None, below) => below.clone(),
        (above, _) => above.clone(),
    }
}

#[cfg(test)]
mod tests;
