//! gRPC service config files (`methodConfig`, gRPC A6 `retryPolicy`), as
//! steadfast-grammar reads them, turned into the policies of generated methods.

use std::path::Path;

use steadfast_grammar::service_config::{MethodConfig, Name, ServiceConfig as Parsed};

use crate::codegen::Throttling;
use crate::policy::{Backoff, Hedge, Policy, Retry};
use crate::Error;

/// The policies of a service config, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceConfig {
    entries: Vec<(Name, Policy)>,
    throttling: Option<Throttling>,
    /// gRPC fields accepted but not applied: build warnings.
    pub(crate) not_applied: Vec<String>,
}

impl ServiceConfig {
    /// Reads and validates `path`; every problem is reported with its JSON path.
    pub(crate) fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::one(format!("{}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks `text` (steadfast-grammar's reader, the one the
    /// runtime's `ServiceConfigLayer` uses too).
    pub(crate) fn parse(text: &str, file: &str) -> Result<Self, Error> {
        let config = Parsed::parse(text, file).map_err(Error::new)?;
        let throttling = config.throttling().map(|t| Throttling {
            max_tokens: t.max_tokens,
            token_ratio: t.token_ratio,
        });
        let entries = config
            .entries()
            .map(|(name, method)| (name.clone(), policy(method)))
            .collect();
        Ok(Self {
            entries,
            throttling,
            not_applied: config.not_applied().to_vec(),
        })
    }

    /// gRPC A6 `retryThrottling` for `service`: the config's, when it has
    /// one and configures the service (by name, or by a global entry).
    pub(crate) fn throttling_for(&self, service: &str) -> Option<Throttling> {
        let mut names = self.entries.iter().map(|(name, _)| name);
        self.throttling
            .filter(|_| names.any(|name| name.configures(service)))
    }

    /// The policy for `service`/`method`: exact method, then service, then global.
    pub(crate) fn lookup(&self, service: &str, method: &str) -> Option<&Policy> {
        let index = Name::best(self.entries.iter().map(|(name, _)| name), service, method)?;
        self.entries.get(index).map(|(_, policy)| policy)
    }
}

/// build-support's policy for one entry: what the generated method's
/// attributes will say.
fn policy(method: &MethodConfig) -> Policy {
    let mut policy = Policy::new();
    policy.deadline = method.timeout;
    policy.retry = method.retry.as_ref().map(|retry| {
        // A6 spreads each delay over `random(0, delay)`: full jitter.
        let mut out = Retry::new(retry.max_attempts)
            .jitter("full")
            .on(retry.codes.clone());
        out.initial = Some(retry.initial_backoff);
        out.max_delay = Some(retry.max_backoff);
        if retry.multiplier > 1.0 {
            out.multiplier = Some(retry.multiplier);
        } else {
            // A multiplier of 1 (or below, which A6 allows) cannot grow: constant delays.
            out.backoff = Backoff::Constant;
        }
        out
    });
    policy.hedge = method
        .hedge
        .as_ref()
        .map(|hedge| Hedge::new(hedge.max_attempts, hedge.delay).on(hedge.codes.clone()));
    policy
}

#[cfg(test)]
mod tests;
