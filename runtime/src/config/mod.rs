//! Clients' settings from a file, changed while the service runs (feature
//! `config`): the founding article's gRPC client configuration.
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
//!       maxRetryAttempts: 3     # retries after the first attempt: 4 attempts at most
//!       perTryTimeout: 1s
//! ```
//!
//! [`Clients`] reads that shape from YAML, TOML or JSON (by the file's
//! extension, or [`Format`] given), with the article's keys as written and
//! the retry schedule's (`backoff`, `initialBackoff`, `maxBackoff`,
//! `backoffMultiplier`, `jitter`, `retryOn`), per client and per method
//! (`methods: { GetUser: { .. } }`). A bad file is refused whole, with every
//! problem at its `file:line:col` and a did-you-mean for a misspelt key.
//!
//! [`Clients::reload`] and [`Clients::watch`] change the settings while the
//! service runs: the new file replaces the old one in one atomic swap, and
//! each call reads the settings once, as it starts ([`ClientConfig::call`]):
//! a call runs under one whole version of the file, old or new, and takes no
//! lock to read it. Every reload, applied or refused, is an event.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::config::{Clients, Format};
//!
//! let clients = Clients::parse(
//!     "grpc:\n  client:\n    user-service:\n      timeout: 2s\n      maxRetryAttempts: 3\n",
//!     Format::Yaml,
//! )
//! .unwrap();
//! let users = clients.client("user-service").unwrap();
//! assert_eq!(users.call("GetUser").max_attempts(), 4);
//!
//! clients
//!     .reload("grpc:\n  client:\n    user-service:\n      timeout: 2s\n      maxRetryAttempts: 5\n")
//!     .unwrap();
//! assert_eq!(users.call("GetUser").max_attempts(), 6, "the next call sees the new file");
//!
//! let refused = clients.reload("grpc:\n  client:\n    user-service:\n      timout: 2s\n").unwrap_err();
//! assert_eq!(
//!     refused.to_string(),
//!     "<text>:4:7: unknown key `timout`: did you mean `timeout`?"
//! );
//! assert_eq!(users.call("GetUser").max_attempts(), 6, "a refused file changes nothing");
//! ```
//!
//! Generated clients are made from it by name (`Resilient<Name>Client::from_config(&clients,
//! "user-service")`, with `steadfast_build::Builder::from_config(true)`): each
//! unary call under the file's settings over the proto options'. A call
//! made by hand runs under it with [`CallPolicy::run`], on the channel
//! [`ClientConfig::channel`] makes.

mod call;
pub(crate) mod generated;
mod watch;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use steadfast_grammar::client_config::{CallSettings, ClientsFile};

pub use call::CallPolicy;
pub use steadfast_grammar::client_config::Format;
pub use watch::Watch;

/// The clients' settings as a file says them, changed by [`reload`](Self::reload)
/// and [`watch`](Self::watch). Cheap to clone: clones share the settings.
///
/// ```
/// use steadfast::config::{Clients, Format};
/// let clients = Clients::parse("grpc:\n  client:\n    users: { timeout: 1s }\n", Format::Yaml).unwrap();
/// assert_eq!(clients.names(), ["users"]);
/// ```
#[derive(Clone)]
pub struct Clients {
    shared: Arc<Shared>,
}

struct Shared {
    /// The file in force.
    current: ArcSwap<ClientsFile>,
    /// What the clients made from these settings need of any new file
    /// (a generated client's methods): a reload that fails one is refused.
    checks: Mutex<Vec<Weak<Check>>>,
    /// What problems name the file by: its path, or `<text>`.
    source: String,
    format: Format,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients")
            .field("source", &self.shared.source)
            .field("format", &self.shared.format)
            .field("clients", &self.names())
            .finish()
    }
}

/// A settings file refused: every problem, each at its `file:line:col`;
/// or the file could not be read; or a client it does not name.
///
/// ```
/// use steadfast::config::{Clients, Format};
/// let error = Clients::parse("grpc:\n  client:\n    a: { timeout: soon }\n", Format::Yaml).unwrap_err();
/// assert_eq!(error.problems().len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: String) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// Every problem, one a line.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

impl Clients {
    /// The settings in `text`.
    ///
    /// # Errors
    ///
    /// Every problem of the text, each at `<text>:line:col`.
    pub fn parse(text: &str, format: Format) -> Result<Self, ConfigError> {
        Self::from_source(text, "<text>".to_owned(), format)
    }

    /// The settings in the file at `path`, in the format of its extension
    /// (`.yaml`/`.yml`, `.toml`, `.json`).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or has no known extension, and every
    /// problem of its contents, each at `path:line:col`.
    ///
    /// ```no_run
    /// let clients = steadfast::config::Clients::load("config/clients.yaml")?;
    /// # Ok::<(), steadfast::config::ConfigError>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let format = Format::of_path(path).ok_or_else(|| {
            ConfigError::one(format!(
                "{}: a settings file ends in .yaml, .yml, .toml or .json",
                path.display()
            ))
        })?;
        Self::from_source(&read(path)?, path.display().to_string(), format)
    }

    fn from_source(text: &str, source: String, format: Format) -> Result<Self, ConfigError> {
        let file = ClientsFile::parse(text, &source, format)
            .map_err(|problems| ConfigError { problems })?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(file),
                checks: Mutex::new(Vec::new()),
                source,
                format,
            }),
        })
    }

    /// Replaces the settings with `text` (in the same format): from the
    /// next call on, every call reads the new ones. A text with any problem
    /// changes nothing. Either way, an event says so (`INFO` applied, `WARN`
    /// refused, with the problems).
    ///
    /// # Errors
    ///
    /// Every problem of `text`; the settings in force stay as they were.
    pub fn reload(&self, text: &str) -> Result<(), ConfigError> {
        let shared = &self.shared;
        let parsed = ClientsFile::parse(text, &shared.source, shared.format).and_then(|file| {
            let problems = self.check(&file);
            if problems.is_empty() {
                Ok(file)
            } else {
                Err(problems)
            }
        });
        match parsed {
            Ok(file) => {
                let clients = file.names().count();
                shared.current.store(Arc::new(file));
                crate::trace::event!(
                    target: "steadfast",
                    file = %shared.source,
                    clients,
                    "client settings reloaded"
                );
                let _ = clients; // only told with feature `tracing`
                Ok(())
            }
            Err(problems) => {
                crate::trace::warning!(
                    target: "steadfast",
                    file = %shared.source,
                    problems = %problems.join("; "),
                    "client settings refused: the ones in force stay"
                );
                Err(ConfigError { problems })
            }
        }
    }

    /// Reads the file at `path` again whenever it changes (checked every
    /// 250 ms, on the current tokio runtime) and [`reload`](Self::reload)s
    /// it; until the returned [`Watch`] is dropped.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), steadfast::config::ConfigError> {
    /// let clients = steadfast::config::Clients::load("config/clients.yaml")?;
    /// let _watch = clients.watch("config/clients.yaml");
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn watch(&self, path: impl Into<PathBuf>) -> Watch {
        Watch::start(self.clone(), path.into())
    }

    /// The settings of the client `name`, read afresh by each call.
    ///
    /// # Errors
    ///
    /// When the settings in force have no client of that name (with the
    /// closest name they have, if one is close).
    pub fn client(&self, name: &str) -> Result<ClientConfig, ConfigError> {
        let names = self.names();
        if names.iter().any(|n| n == name) {
            return Ok(ClientConfig {
                clients: self.clone(),
                name: Arc::from(name),
            });
        }
        let known: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = steadfast_grammar::suggest::closest(name, &known, &[])
            .map(|s| format!(": did you mean `{s}`?"))
            .unwrap_or_else(|| format!(": it has {}", steadfast_grammar::suggest::list(&known)));
        Err(ConfigError::one(format!(
            "{}: no client `{name}` under `grpc.client`{hint}",
            self.shared.source
        )))
    }

    /// What the live clients made from these settings find wrong with
    /// `file`.
    fn check(&self, file: &ClientsFile) -> Vec<String> {
        let mut checks = self
            .shared
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        checks.retain(|check| check.strong_count() > 0);
        checks
            .iter()
            .filter_map(Weak::upgrade)
            .flat_map(|check| check(file))
            .map(|problem| format!("{}: {problem}", self.shared.source))
            .collect()
    }

    /// Keeps `check` for every reload, as long as it lives.
    fn add_check(&self, check: &Arc<Check>) {
        self.shared
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(check));
    }

    /// The names of the clients in force.
    pub fn names(&self) -> Vec<String> {
        self.shared
            .current
            .load()
            .names()
            .map(str::to_owned)
            .collect()
    }

    fn current(&self) -> Arc<ClientsFile> {
        self.shared.current.load_full()
    }
}

/// What a live client needs of a settings file: its problems with it.
type Check = dyn Fn(&ClientsFile) -> Vec<String> + Send + Sync;

/// One client's settings, as the file in force says them when asked.
///
/// ```
/// use steadfast::config::{Clients, Format};
/// let clients = Clients::parse("grpc:\n  client:\n    users: { timeout: 1s }\n", Format::Yaml).unwrap();
/// let users = clients.client("users").unwrap();
/// assert_eq!(users.call("GetUser").timeout(), Some(std::time::Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    clients: Clients,
    /// Shared: a generated client's clones (one an attempt) copy no string.
    name: Arc<str>,
}

impl ClientConfig {
    /// The policy of a call of `method` (its proto name, as `"GetUser"`)
    /// made now: the method's settings over the client's, from the file in
    /// force. A client the file in force no longer has keeps nothing: the
    /// defaults (no deadline, [`RetryPolicy::new`](crate::RetryPolicy::new)'s
    /// retries).
    pub fn call(&self, method: &str) -> CallPolicy {
        self.policy(method, None, false)
    }

    /// The policy of a call of `method` now: the file's settings for the
    /// method, over the client's, over `compiled` (a generated client's);
    /// with `once`, never a retry.
    fn policy(&self, method: &str, compiled: Option<&CallSettings>, once: bool) -> CallPolicy {
        let file = self.clients.shared.current.load();
        let client = file.client(&self.name);
        CallPolicy::from_layers(
            &[
                client.and_then(|c| c.methods.get(method)),
                client.map(|c| &c.call),
                compiled,
            ],
            once,
        )
    }

    /// A channel to the file's `address` (balanced over several), connecting
    /// lazily with its `connectTimeout` and keepalive, and sending each
    /// call's deadline. Made from the file in force: a later change of
    /// address or connection settings needs a new channel.
    ///
    /// # Errors
    ///
    /// When the client has no `address`, or an address tonic refuses.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use steadfast::config::{Clients, Format};
    /// let clients = Clients::parse(
    ///     "grpc:\n  client:\n    users: { address: 'static://127.0.0.1:1,127.0.0.1:2', connectTimeout: 1s }\n",
    ///     Format::Yaml,
    /// )
    /// .unwrap();
    /// let channel = clients.client("users").unwrap().channel().unwrap();
    /// # let _ = channel;
    /// # }
    /// ```
    pub fn channel(&self) -> Result<crate::tonic::Channel, ConfigError> {
        self.plain_channel()
            .map(|(channel, _)| crate::tonic::PropagateDeadlineService::new(channel))
    }

    /// tonic's channel to the file's address, and the first address (for
    /// a generated client's metrics, which sends deadlines itself).
    fn plain_channel(&self) -> Result<(::tonic::transport::Channel, Option<String>), ConfigError> {
        let file = self.clients.current();
        let settings = file.client(&self.name).ok_or_else(|| {
            ConfigError::one(format!(
                "no client `{}` in the settings in force",
                self.name
            ))
        })?;
        let channel = call::channel(settings).map_err(|why| {
            ConfigError::one(format!(
                "{}: grpc.client.{}.address: {why}",
                self.clients.shared.source, self.name
            ))
        })?;
        Ok((channel, settings.address.first().cloned()))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(format!("{}: cannot be read: {e}", path.display())))
}
