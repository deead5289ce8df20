//! What a generated client made `from_config` keeps and asks: the client's
//! settings, each method's compiled policy (proto options over the build's
//! defaults) to merge the file's over, and the rules the file must keep
//! for this client (checked now, and on every reload while it lives).
//! Named by emitted code only (`steadfast::__private`).

use std::sync::Arc;

use steadfast_grammar::client_config::{parse_call, BudgetSettings, CallSettings, ClientsFile};

use super::{CallPolicy, ClientConfig, Clients, ConfigError};

/// How a method of a generated client takes the file's settings.
pub mod kind {
    /// Unary, retried by its compiled policy: every call setting applies.
    pub const RETRIED: u8 = 0;
    /// Unary, not retried (not idempotent, or no retry policy): the file's
    /// `timeout` applies, never a retry.
    pub const ONCE: u8 = 1;
    /// Streaming or hedged: the file does not configure it yet.
    pub const FIXED: u8 = 2;
}

/// A method as its client was generated.
#[derive(Debug)]
struct Method {
    kind: u8,
    /// Where its policy, breaker and limits are kept (`None`: streaming or
    /// hedged).
    slot: Option<usize>,
}

#[derive(Debug)]
struct Methods {
    service: &'static str,
    /// A service's few methods: a scan of them costs less than hashing the
    /// name.
    by_name: Vec<(&'static str, Method)>,
}

impl Methods {
    fn get(&self, name: &str) -> Option<&Method> {
        self.by_name
            .iter()
            .find(|(method, _)| *method == name)
            .map(|(_, method)| method)
    }
}

/// A generated client's settings: read afresh by each call.
#[derive(Clone)]
pub struct Configured {
    config: ClientConfig,
    methods: Arc<Methods>,
    /// Kept alive with the client: the file's rules for it.
    _check: Arc<super::Check>,
}

impl std::fmt::Debug for Configured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Configured")
            .field("client", &self.config.name)
            .field("service", &self.methods.service)
            .finish_non_exhaustive()
    }
}

/// The settings of client `name` for a generated client of `service`,
/// whose `methods` are `(proto name, kind, compiled policy in the file's
/// words)` and whose compiled retry budget (A6 `retryThrottling`, shared
/// by the service's calls) is `budget` (`(max_tokens, token_ratio)`);
/// checked against the file in force, and against every reload while the
/// client lives.
///
/// # Errors
///
/// No client `name`; a method the service does not have; settings for a
/// method the file does not configure (streaming, hedged); retries for a
/// method its proto does not retry; gates that cannot be made.
pub fn configure(
    clients: &Clients,
    name: &str,
    service: &'static str,
    methods: &[(&'static str, u8, &'static str)],
    budget: Option<(u32, f64)>,
) -> Result<Configured, ConfigError> {
    let config = clients.client(name)?;
    let base_budget =
        budget.map(|(max_tokens, token_ratio)| BudgetSettings::new(max_tokens, token_ratio));
    let mut parsed = Vec::with_capacity(methods.len());
    for &(method, kind, base) in methods {
        let base = parse_call(base).map_err(|problems| ConfigError {
            problems: problems
                .into_iter()
                .map(|p| {
                    format!("{service}/{method}: the generated policy: {p} (regenerate the client)")
                })
                .collect(),
        })?;
        parsed.push((method, kind, base));
    }
    // Checked and registered in one step: no reload comes between.
    let mut live = clients.live();
    let mut by_name = Vec::with_capacity(parsed.len());
    for (method, kind, base) in parsed {
        let slot = if kind == kind::FIXED {
            None
        } else {
            let key = (&config.name, service, method);
            let base = Some((&base, kind != kind::RETRIED));
            let slot = clients
                .slot(&mut live, key, base, base_budget)
                .map_err(ConfigError::one)?;
            Some(slot)
        };
        by_name.push((method, Method { kind, slot }));
    }
    let methods = Arc::new(Methods { service, by_name });
    let check: Arc<super::Check> = {
        let (name, methods) = (name.to_owned(), Arc::clone(&methods));
        Arc::new(move |file: &ClientsFile| problems(file, &name, &methods))
    };
    let found: Vec<String> = problems(&clients.current(), name, &methods)
        .into_iter()
        .map(|p| super::located(&clients.shared.source, &p))
        .collect();
    if !found.is_empty() {
        return Err(ConfigError { problems: found });
    }
    live.checks.push(Arc::downgrade(&check));
    drop(live);
    Ok(Configured {
        config,
        methods,
        _check: check,
    })
}

/// What is wrong with `file` for client `name` of `methods`' service.
fn problems(file: &ClientsFile, name: &str, methods: &Methods) -> Vec<String> {
    let Some(client) = file.client(name) else {
        return vec![format!(
            "grpc.client.{name}: a live {} client is made from it: it cannot go",
            methods.service
        )];
    };
    let mut found = Vec::new();
    let known: Vec<&str> = {
        let mut known: Vec<&str> = methods.by_name.iter().map(|(name, _)| *name).collect();
        known.sort_unstable();
        known
    };
    for (method, settings) in &client.methods {
        let at = client
            .method_place(method)
            .unwrap_or_else(|| client.place());
        let place = format!("{at}: grpc.client.{name}.methods.{method}");
        match methods.get(method) {
            None => {
                let hint = steadfast_grammar::suggest::closest(method, &known, &[])
                    .map(|s| format!(": did you mean `{s}`?"))
                    .unwrap_or_else(|| format!(": it has {}", steadfast_grammar::suggest::list(&known)));
                found.push(format!("{place}: {} has no method `{method}`{hint}", methods.service));
            }
            Some(Method { kind: kind::FIXED, .. }) => found.push(format!(
                "{place}: a streaming or hedged method is not configured from the file yet: set its policy in proto options"
            )),
            Some(Method { kind: kind::ONCE, .. }) if retries(settings) => found.push(format!(
                "{place}: its proto options do not retry it (not idempotent, or no retry policy): the file cannot make it retried or hedged"
            )),
            Some(_) => {}
        }
    }
    found
}

/// Whether `settings` ask for a retry or a hedge.
fn retries(settings: &CallSettings) -> bool {
    settings.max_retry_attempts.is_some_and(|n| n > 0)
        || matches!(
            settings.hedge,
            Some(steadfast_grammar::client_config::Switch::On(_))
        )
}

impl Configured {
    /// The policy of a call of the `index`th method (in the order
    /// [`configure`] was given them) starting now: the file's settings (the
    /// method's over the client's) over the compiled policy, made once for
    /// each version of the file. A method its proto does not retry is never
    /// retried.
    pub fn call(&self, index: usize) -> Arc<CallPolicy> {
        let slot = self
            .methods
            .by_name
            .get(index)
            .and_then(|(_, method)| method.slot);
        slot.and_then(|slot| self.config.clients.shared.current.load().policy(slot))
            .unwrap_or_default()
    }

    /// A lazily connecting channel to the file's address, with its connect
    /// timeout and keepalive; and the target the metrics name.
    ///
    /// # Errors
    ///
    /// No address, or one tonic refuses.
    pub fn channel(
        &self,
    ) -> Result<(::tonic::transport::Channel, crate::tonic::metrics::Target), ConfigError> {
        let (channel, first) = self.config.plain_channel()?;
        let target = first.map_or(crate::tonic::metrics::Target::OTHER, |address| {
            crate::tonic::metrics::Target::of(&address)
        });
        Ok((channel, target))
    }
}
