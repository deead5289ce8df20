//! gRPC service configs applied under any tonic client: a `tower::Layer`
//! that gives a channel the `timeout`, `retryPolicy`, `hedgingPolicy` and
//! `retryThrottling` of a service config, as grpc-go and grpc-java do. The
//! config is read by steadfast-grammar (the reader steadfast-build uses);
//! the rules are the runtime's `RetryState` and `HedgeState`.

mod attempt;
mod body;
mod call;
mod future;
mod hedge;
mod layer;
mod once;
mod outcome;
mod request;
mod retry;
mod service;
mod spans;

use std::sync::Arc;
use std::time::Duration;

use steadfast_grammar::service_config::{self as grammar, Name};
use tonic::Code;

use crate::hedge::HedgePolicy;
use crate::retry::ByRetryable;
use crate::{Backoff, Jitter, RetryBudget, RetryPolicy};

pub use future::ServiceConfigFuture;
pub use layer::ServiceConfigLayer;
pub use service::ServiceConfigService;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The budget a config's methods share: gRPC A6's `retryThrottling`, when
/// the config has one.
pub(super) type Throttle = Option<Arc<RetryBudget>>;

/// A gRPC service config, read, checked, and turned into policies: the
/// same reader and the same errors as `steadfast-build`'s.
///
/// ```
/// use steadfast::tonic::ServiceConfig;
///
/// let config = ServiceConfig::from_json(r#"{
///   "methodConfig": [{
///     "name": [{"service": "user.UserService"}],
///     "timeout": "2s",
///     "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
///                     "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
///   }]
/// }"#)?;
/// assert!(config.applies_to("/user.UserService/GetUser"));
/// assert!(!config.applies_to("/other.Service/Call"));
/// # Ok::<(), steadfast::tonic::ServiceConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    methods: Vec<(Name, MethodPolicy)>,
    not_applied: Vec<String>,
}

impl ServiceConfig {
    /// Reads a service config (JSON). A malformed one is an error listing
    /// every problem with where it is (`service config: methodConfig[0].retryPolicy.maxBackoff: ..`).
    ///
    /// ```
    /// let error = steadfast::tonic::ServiceConfig::from_json(r#"{"methodConfig": 3}"#).unwrap_err();
    /// assert_eq!(error.to_string(), "service config: methodConfig: expected a list");
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ServiceConfigError> {
        let parsed = grammar::ServiceConfig::parse(text, "service config")
            .map_err(|problems| ServiceConfigError { problems })?;
        // One budget for the config's methods (gRPC A6: per channel).
        let throttle: Throttle = parsed
            .throttling()
            .map(|t| Arc::new(RetryBudget::new(t.max_tokens, t.token_ratio)));
        let methods = parsed
            .entries()
            .map(|(name, method)| (name.clone(), MethodPolicy::new(method, &throttle)))
            .collect();
        let not_applied = parsed.not_applied().to_vec();
        #[cfg(feature = "tracing")]
        for field in &not_applied {
            tracing::warn!("{field}");
        }
        Ok(Self {
            methods,
            not_applied,
        })
    }

    /// The fields gRPC defines that were accepted but are not applied
    /// (`waitForReady`, message size limits, load balancing), each with
    /// where it is; also logged as `WARN` events when the config is read.
    /// Any other unknown field is an error.
    ///
    /// ```
    /// let config = steadfast::tonic::ServiceConfig::from_json(
    ///     r#"{"methodConfig": [{"name": [{}], "timeout": "1s", "waitForReady": true}]}"#,
    /// )
    /// .unwrap();
    /// assert_eq!(config.not_applied().len(), 1);
    /// let typo = steadfast::tonic::ServiceConfig::from_json(
    ///     r#"{"methodConfig": [{"name": [{}], "timeot": "1s"}]}"#,
    /// );
    /// assert!(typo.unwrap_err().to_string().contains("unknown field `timeot`"));
    /// ```
    pub fn not_applied(&self) -> &[String] {
        &self.not_applied
    }

    /// Whether the config has an entry for the method at `path`
    /// (`/package.Service/Method`): its own, its service's, or a global one.
    ///
    /// ```
    /// let config = steadfast::tonic::ServiceConfig::from_json(
    ///     r#"{"methodConfig": [{"name": [{}], "timeout": "1s"}]}"#,
    /// ).unwrap();
    /// assert!(config.applies_to("/any.Service/Any"));
    /// ```
    pub fn applies_to(&self, path: &str) -> bool {
        self.policy(path).is_some()
    }

    /// The policy of the method at `path`.
    pub(super) fn policy(&self, path: &str) -> Option<&MethodPolicy> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        let names = self.methods.iter().map(|(name, _)| name);
        let index = Name::best(names, service, method)?;
        self.methods.get(index).map(|(_, policy)| policy)
    }
}

/// A service config that cannot be used: every problem, one a line.
///
/// ```
/// let error = steadfast::tonic::ServiceConfig::from_json("{").unwrap_err();
/// assert!(error.problems()[0].starts_with("service config:1:1:"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfigError {
    problems: Vec<String>,
}

impl ServiceConfigError {
    /// The problems, each saying where it is.
    ///
    /// ```
    /// let error = steadfast::tonic::ServiceConfig::from_json("[]").unwrap_err();
    /// assert_eq!(error.problems().len(), 1);
    /// ```
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl std::fmt::Display for ServiceConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ServiceConfigError {}

/// One method's policies, built once from its `methodConfig` entry.
#[derive(Debug, Clone)]
pub(super) struct MethodPolicy {
    pub(super) timeout: Option<Duration>,
    /// Its retries or hedges (gRPC A6 allows one), if any.
    pub(super) attempts: Option<AttemptPolicy>,
}

/// How a method's attempts are made. Each call takes a copy: a reference
/// count shared by every call would be written by both of a runtime's
/// workers on every call (BENCHMARKS.md, section 9). A `retryThrottling`
/// budget is the one thing shared.
#[derive(Debug, Clone)]
pub(super) enum AttemptPolicy {
    Retry(RetryPolicy<Backoff, ByRetryable, Throttle>, CodeSet),
    Hedge(HedgePolicy<Throttle>, CodeSet),
}

impl MethodPolicy {
    fn new(method: &grammar::MethodConfig, throttle: &Throttle) -> Self {
        let retry = method.retry.as_ref().map(|retry| {
            // A6: full jitter over an exponential schedule (a multiplier of 1
            // or below cannot grow: constant delays).
            let backoff = if retry.multiplier > 1.0 {
                Backoff::exponential(retry.initial_backoff).multiplier(retry.multiplier)
            } else {
                Backoff::constant(retry.initial_backoff)
            };
            let backoff = backoff.max_delay(retry.max_backoff).jitter(Jitter::Full);
            let policy = RetryPolicy::new()
                .max_attempts(retry.max_attempts)
                .backoff(backoff)
                .budget(throttle.clone());
            AttemptPolicy::Retry(policy, CodeSet::of(&retry.codes))
        });
        // The reader refuses an entry with both.
        let hedge = method.hedge.as_ref().map(|hedge| {
            let policy = HedgePolicy::new(hedge.max_attempts, hedge.delay).budget(throttle.clone());
            AttemptPolicy::Hedge(policy, CodeSet::of(&hedge.codes))
        });
        Self {
            timeout: method.timeout,
            attempts: retry.or(hedge),
        }
    }
}

/// A set of status codes (retryable, or non-fatal to a hedge), as the
/// config wrote them (checked by the reader): one bit per code, so that a
/// call's copy of its policy allocates nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CodeSet(u32);

impl CodeSet {
    fn of(written: &[String]) -> Self {
        let known = steadfast_grammar::policy::CODES;
        let bits = written.iter().filter_map(|code| {
            let variant = steadfast_grammar::policy::code_variant(code)?;
            let number = known.iter().position(|(_, v)| *v == variant)?;
            1u32.checked_shl(u32::try_from(number).ok()?)
        });
        Self(bits.fold(0, |set, bit| set | bit))
    }

    /// Whether `code` is in the set.
    pub(super) fn contains(self, code: Code) -> bool {
        u32::try_from(code as i32)
            .ok()
            .and_then(|number| 1u32.checked_shl(number))
            .is_some_and(|bit| self.0 & bit != 0)
    }
}
