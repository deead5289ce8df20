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
//! the rest of a policy: the retry schedule's (`backoff`, `initialBackoff`,
//! `maxBackoff`, `backoffMultiplier`, `jitter`, `retryOn`), `hedge`,
//! `circuitBreaker`, `rateLimit`, `concurrency` and the client's `budget`,
//! per client and per method (`methods: { GetUser: { .. } }`). Breakers and
//! limits are one set per method of each client name, kept across reloads
//! with what they learnt where their shape allows. A bad file is refused whole, with every
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

pub(crate) mod attempts;
mod call;
mod gated;
mod gates;
pub(crate) mod generated;
mod watch;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use steadfast_grammar::client_config::{BudgetSettings, CallSettings, ClientsFile};

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
    /// The settings in force.
    current: ArcSwap<Version>,
    /// What the calls made under these settings keep: taken by reloads and
    /// by clients as they start, one at a time.
    live: Mutex<Live>,
    /// What problems name the file by: its path, or `<text>`.
    source: String,
    format: Format,
}

/// One version of the settings: the file, and the gates it gives each
/// slot. A call reads both in one atomic load.
struct Version {
    file: Arc<ClientsFile>,
    /// By slot ([`Live::slots`]); `None`: no gate for that slot.
    gates: Vec<Option<Arc<gates::Set>>>,
    /// By slot: a generated client's call policy, made with the version.
    policies: Vec<Option<Arc<CallPolicy>>>,
    /// The client name and method of each slot, for calls made by hand.
    keys: Arc<[(Arc<str>, Box<str>)]>,
}

impl Version {
    fn gates(&self, slot: Option<usize>) -> Option<Arc<gates::Set>> {
        self.gates.get(slot?)?.clone()
    }

    /// A generated client's policy for the calls of `slot`'s method.
    fn policy(&self, slot: usize) -> Option<Arc<CallPolicy>> {
        self.policies.get(slot)?.clone()
    }

    /// The first slot of `method` of client `client` (a generated
    /// client's, when there is one).
    fn slot_of(&self, client: &str, method: &str) -> Option<usize> {
        self.keys
            .iter()
            .position(|(c, m)| **c == *client && **m == *method)
    }
}

/// The most methods of one client name that calls made by hand give gates
/// of their own to, the file's named methods aside (see
/// [`ClientConfig::call`]).
const HAND_METHODS: usize = 256;

/// The set of gates the methods past [`HAND_METHODS`] share: not a gRPC
/// method name (parentheses and a space), so that no real method's set is
/// it; the client's section's settings apply to it.
const OTHER_METHODS: &str = "(other methods)";

#[derive(Default)]
struct Live {
    /// What the clients made from these settings need of any new file (a
    /// generated client's methods): a reload that fails one is refused.
    checks: Vec<Weak<Check>>,
    /// The methods whose calls have gates of their own, by slot number.
    slots: Vec<gates::Slot>,
}

impl Live {
    /// The slot of a client name's service's method, if made.
    fn slot_of(&self, (client, service, method): (&Arc<str>, &'static str, &str)) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| *s.client == **client && s.service == service && s.method == method)
    }

    /// How many methods of `client` calls by hand gave gates of their own.
    fn hand_methods(&self, client: &str) -> usize {
        self.slots
            .iter()
            .filter(|s| &*s.client == client && s.service.is_empty() && s.method != OTHER_METHODS)
            .count()
    }
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
        let problems: Vec<String> = gates::check(&file)
            .into_iter()
            .map(|p| located(&source, &p))
            .collect();
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(Version {
                    file: Arc::new(file),
                    gates: Vec::new(),
                    policies: Vec::new(),
                    keys: Arc::from(Vec::new()),
                }),
                live: Mutex::new(Live::default()),
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
        let mut live = self.live();
        let parsed = ClientsFile::parse(text, &shared.source, shared.format).and_then(|file| {
            let mut problems = self.check(&mut live, &file);
            problems.extend(gates::check(&file));
            let mut changes = Vec::new();
            let mut budgets = gates::Budgets::default();
            let current = shared.current.load();
            let mut sets = Vec::with_capacity(live.slots.len());
            let mut policies = Vec::with_capacity(live.slots.len());
            for (i, slot) in live.slots.iter().enumerate() {
                let old = current.gates.get(i).and_then(Option::as_deref);
                let client = file.client(&slot.client);
                match gates::plan(slot, client, old, &mut changes, &mut budgets) {
                    Ok(set) => {
                        policies.push(slot.policy(client, set.as_ref()));
                        sets.push(set);
                    }
                    Err(problem) => problems.push(problem),
                }
            }
            if problems.is_empty() {
                Ok((file, sets, policies, changes))
            } else {
                problems.sort();
                problems.dedup();
                Err(problems
                    .into_iter()
                    .map(|p| located(&shared.source, &p))
                    .collect::<Vec<_>>())
            }
        });
        match parsed {
            Ok((file, gates, policies, changes)) => {
                let clients = file.names().count();
                for change in changes {
                    change.apply();
                }
                let keys = Arc::clone(&shared.current.load().keys);
                shared.current.store(Arc::new(Version {
                    file: Arc::new(file),
                    gates,
                    policies,
                    keys,
                }));
                drop(live);
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
    fn check(&self, live: &mut Live, file: &ClientsFile) -> Vec<String> {
        live.checks.retain(|check| check.strong_count() > 0);
        live.checks
            .iter()
            .filter_map(Weak::upgrade)
            .flat_map(|check| check(file))
            .collect()
    }

    /// What calls keep, taken one at a time.
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.shared
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot of `method` of client `client` (of `service`, `""` by
    /// hand), made with the gates the settings in force give it when it is
    /// new.
    ///
    /// # Errors
    ///
    /// The gates the settings give it cannot be made.
    fn slot(
        &self,
        live: &mut Live,
        key: (&Arc<str>, &'static str, &str),
        base: Option<(&CallSettings, bool)>,
        base_budget: Option<BudgetSettings>,
    ) -> Result<usize, String> {
        if let Some(slot) = live.slot_of(key) {
            return Ok(slot);
        }
        let (client, service, method) = key;
        let base = base.map(|(settings, once)| (settings.clone(), once));
        let slot = gates::Slot::new(Arc::clone(client), service, method, base, base_budget);
        let current = self.shared.current.load_full();
        let mut budgets = gates::Budgets::of_version(&live.slots, &current.gates);
        let client_settings = current.file.client(client);
        let set = gates::plan(&slot, client_settings, None, &mut Vec::new(), &mut budgets)
            .map_err(|p| located(&self.shared.source, &p))?;
        let mut keys = current.keys.to_vec();
        keys.push((
            Arc::clone(&slot.client),
            slot.method.clone().into_boxed_str(),
        ));
        let policy = slot.policy(client_settings, set.as_ref());
        live.slots.push(slot);
        let mut gates = current.gates.clone();
        gates.resize(live.slots.len() - 1, None);
        gates.push(set);
        let mut policies = current.policies.clone();
        policies.resize(live.slots.len() - 1, None);
        policies.push(policy);
        self.shared.current.store(Arc::new(Version {
            file: Arc::clone(&current.file),
            gates,
            policies,
            keys: Arc::from(keys),
        }));
        Ok(live.slots.len() - 1)
    }

    /// The names of the clients in force.
    pub fn names(&self) -> Vec<String> {
        self.shared
            .current
            .load()
            .file
            .names()
            .map(str::to_owned)
            .collect()
    }

    fn current(&self) -> Arc<ClientsFile> {
        Arc::clone(&self.shared.current.load().file)
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
    ///
    /// Its breaker, limits and retry budget (`circuitBreaker`, `rateLimit`,
    /// `concurrency`, `budget`) are this client's for `method`, one set per
    /// method, kept across reloads, and those of a generated client made
    /// from the same name when there is one: the first call of a method
    /// with gates makes them (a short lock), later calls find them in the
    /// version in force without one.
    ///
    /// The methods a client's calls by hand name are bounded: past 256 of
    /// them with gates of their own, a method the file does not name shares
    /// one set with the others past the bound (a `WARN` event says so
    /// once), so that callers passing names from elsewhere (a proxy's
    /// requests) cannot grow them without end.
    pub fn call(&self, method: &str) -> CallPolicy {
        let (found, gated) = {
            let version = self.clients.shared.current.load();
            let found = version.slot_of(&self.name, method);
            let gated = version
                .file
                .client(&self.name)
                .is_some_and(|c| gates::has_gates(c, method));
            (found, gated)
        };
        let slot = match found {
            Some(slot) => Some(slot),
            None if gated => {
                let mut live = self.clients.live();
                let named = (self.clients.shared.current.load().file.client(&self.name))
                    .is_some_and(|c| c.methods.contains_key(method));
                let own = named || live.hand_methods(&self.name) < HAND_METHODS;
                let key = (&self.name, "", if own { method } else { OTHER_METHODS });
                if !own && live.slot_of(key).is_none() {
                    crate::trace::warning!(
                        target: "steadfast",
                        client = &*self.name,
                        bound = HAND_METHODS,
                        "calls by hand named too many methods: those past the bound share one set of gates"
                    );
                }
                match self.clients.slot(&mut live, key, None, None) {
                    Ok(slot) => Some(slot),
                    Err(problem) => {
                        crate::trace::warning!(target: "steadfast", %problem, "a call's gates cannot be made: it runs without them");
                        let _ = problem; // only told with feature `tracing`
                        None
                    }
                }
            }
            None => None,
        };
        self.policy(method, None, false, slot)
    }

    /// The policy of a call of `method` now: the file's settings for the
    /// method, over the client's, over `compiled` (a generated client's);
    /// with `once`, never a retry; with the gates of `slot`.
    fn policy(
        &self,
        method: &str,
        compiled: Option<&CallSettings>,
        once: bool,
        slot: Option<usize>,
    ) -> CallPolicy {
        let version = self.clients.shared.current.load();
        let client = version.file.client(&self.name);
        CallPolicy::from_layers(
            &[
                client.and_then(|c| c.methods.get(method)),
                client.map(|c| &c.call),
                compiled,
            ],
            once,
            version.gates(slot),
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

/// A problem found after the file was read, named by `source`: at its
/// `line:col` when it starts with one (`source:3:5: ...`), else the file's
/// (`source: ...`).
fn located(source: &str, problem: &str) -> String {
    if problem.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{source}:{problem}")
    } else {
        format!("{source}: {problem}")
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(format!("{}: cannot be read: {e}", path.display())))
}
