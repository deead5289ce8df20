//! A call's policy as the settings file says it, and the channel its
//! `address` makes.

use std::future::Future;
use std::time::Duration;

use ::tonic::Status;
use steadfast_grammar::client_config::{CallSettings, ClientSettings};
use steadfast_grammar::policy::{Growth, Jitter as Words};

use crate::backoff::{Backoff, Jitter};
use crate::retry::{Classify, Verdict};
use crate::tonic::Pushback;
use crate::RetryPolicy;

/// How long a keepalive ping waits for its answer: grpc-go's default.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The policy of one call, read from the settings in force when it was
/// asked for ([`ClientConfig::call`](super::ClientConfig::call)): its
/// deadline (`timeout`), its attempts (`maxRetryAttempts` + 1), each
/// attempt's own deadline (`perTryTimeout`), the backoff between them and
/// the codes retried (`retryOn`; by default, as any `tonic::Status` is
/// classified). It stays what it was for the whole call, whatever reload
/// comes meanwhile.
///
/// ```
/// use std::time::Duration;
/// use steadfast::config::{Clients, Format};
///
/// let clients = Clients::parse(
///     "grpc:\n  client:\n    users: { timeout: 2s, maxRetryAttempts: 3, perTryTimeout: 1s }\n",
///     Format::Yaml,
/// )
/// .unwrap();
/// let policy = clients.client("users").unwrap().call("GetUser");
/// assert_eq!(policy.timeout(), Some(Duration::from_secs(2)));
/// assert_eq!(policy.max_attempts(), 4);
/// assert_eq!(policy.per_try_timeout(), Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone)]
pub struct CallPolicy {
    timeout: Option<Duration>,
    retry: RetryPolicy<Backoff, CodeMask>,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self::from_settings(&CallSettings::default())
    }
}

impl CallPolicy {
    pub(super) fn from_settings(settings: &CallSettings) -> Self {
        Self::from_layers(&[Some(settings)], false)
    }

    /// The policy `layers` say, the first layer that sets a key deciding it
    /// (a method's settings over its client's over the compiled policy; an
    /// absent layer says nothing); with `once`, never a retry. Reads the
    /// layers in place: nothing is copied or allocated.
    pub(super) fn from_layers(layers: &[Option<&CallSettings>], once: bool) -> Self {
        let first = |key: fn(&CallSettings) -> Option<Duration>| {
            layers.iter().flatten().find_map(|s| key(s))
        };
        let retry_on = layers.iter().flatten().find_map(|s| s.retry_on.as_deref());
        let mut retry = RetryPolicy::new()
            .backoff(backoff(layers))
            .classify(CodeMask::of(retry_on));
        let retries = if once {
            Some(0)
        } else {
            layers.iter().flatten().find_map(|s| s.max_retry_attempts)
        };
        if let Some(retries) = retries {
            retry = retry.max_attempts(retries.saturating_add(1));
        }
        if let Some(per_try) = first(|s| s.per_try_timeout) {
            retry = retry.per_attempt(per_try);
        }
        Self {
            timeout: first(|s| s.timeout),
            retry,
        }
    }

    /// The call's deadline, if the settings give one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Every attempt the call may make, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.retry.attempt_limit()
    }

    /// Each attempt's own deadline, if the settings give one.
    pub fn per_try_timeout(&self) -> Option<Duration> {
        self.retry.attempt_timeout()
    }

    /// Runs a call under this policy: `attempt` once, then again after the
    /// backoff while it fails with a code retried and the attempts and the
    /// deadline allow; the whole within `timeout`, each attempt within
    /// `perTryTimeout`, the deadline sent to the server (on a channel that
    /// sends it, as [`ClientConfig::channel`](super::ClientConfig::channel)'s
    /// does). The same retry rules as `#[retry]` and generated clients (gRPC
    /// A6: pushback honoured, `DEADLINE_EXCEEDED` of the call's own deadline
    /// not retried).
    ///
    /// # Errors
    ///
    /// The last attempt's status, or `DEADLINE_EXCEEDED` when the call's
    /// deadline passed.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use steadfast::config::{Clients, Format};
    /// use tonic::Status;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let clients = Clients::parse(
    ///     "grpc:\n  client:\n    users: { maxRetryAttempts: 2, initialBackoff: 10ms }\n",
    ///     Format::Yaml,
    /// )
    /// .unwrap();
    /// let attempts = AtomicU32::new(0);
    /// let answer: Result<(), Status> = clients
    ///     .client("users")
    ///     .unwrap()
    ///     .call("GetUser")
    ///     .run(|| async {
    ///         attempts.fetch_add(1, Ordering::Relaxed);
    ///         Err(Status::unavailable("down"))
    ///     })
    ///     .await;
    /// assert_eq!(answer.unwrap_err().code(), tonic::Code::Unavailable);
    /// assert_eq!(attempts.load(Ordering::Relaxed), 3);
    /// # }
    /// ```
    pub async fn run<T, F, Fut>(&self, attempt: F) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let retried = crate::retry(&self.retry, attempt);
        match self.timeout {
            Some(timeout) => crate::tonic::scope(timeout, retried).await,
            None => retried.await,
        }
    }
}

/// The schedule the layers describe (the first that sets a key deciding
/// it), on `RetryPolicy::new()`'s defaults.
fn backoff(layers: &[Option<&CallSettings>]) -> Backoff {
    let layers = || layers.iter().flatten();
    let initial = layers()
        .find_map(|s| s.initial_backoff)
        .unwrap_or(crate::backoff::DEFAULT_INITIAL);
    let mut backoff = match layers()
        .find_map(|s| s.backoff)
        .unwrap_or(Growth::Exponential)
    {
        Growth::Exponential => Backoff::exponential(initial),
        Growth::Constant => Backoff::constant(initial),
        Growth::Linear => Backoff::linear(initial),
        Growth::Fibonacci => Backoff::fibonacci(initial),
        Growth::None => Backoff::none(),
    };
    if let Some(multiplier) = layers().find_map(|s| s.backoff_multiplier) {
        backoff = backoff.multiplier(multiplier);
    }
    if let Some(max) = layers().find_map(|s| s.max_backoff) {
        backoff = backoff.max_delay(max);
    }
    if let Some(jitter) = layers().find_map(|s| s.jitter) {
        backoff = backoff.jitter(match jitter {
            Words::Full => Jitter::Full,
            Words::Equal => Jitter::Equal,
            Words::Decorrelated => Jitter::Decorrelated,
            Words::None => Jitter::None,
            Words::Fraction(f) => Jitter::Proportional(f),
        });
    }
    backoff
}

/// The codes `retryOn` names, as a set; without `retryOn`, a status is
/// classified as any `tonic::Status` is.
#[derive(Debug, Clone, Copy)]
pub(super) struct CodeMask(Option<u32>);

impl CodeMask {
    fn of(variants: Option<&[&'static str]>) -> Self {
        Self(variants.map(|variants| {
            variants
                .iter()
                .filter_map(|variant| {
                    steadfast_grammar::policy::code_variants().position(|v| v == *variant)
                })
                .fold(0u32, |mask, code| mask | 1 << code)
        }))
    }
}

impl Classify<Status> for CodeMask {
    fn is_retryable(&self, status: &Status) -> bool {
        self.verdict(status).retryable
    }

    fn retry_after(&self, status: &Status) -> Option<Duration> {
        self.verdict(status).pushback
    }

    fn is_timeout(&self, status: &Status) -> bool {
        self.verdict(status).timeout
    }

    fn stops_retries(&self, status: &Status) -> bool {
        self.verdict(status).stop
    }

    fn verdict(&self, status: &Status) -> Verdict {
        match self.0 {
            None => crate::Retryable::verdict(status),
            Some(mask) => {
                let code = crate::tonic::effective_code(status);
                let listed = mask & (1 << (code as u32)) != 0;
                crate::tonic::rule::verdict(code, Pushback::of(status), listed)
            }
        }
    }
}

/// A lazily connecting channel to `settings`' address (balanced over
/// several), with its connect timeout and keepalive.
pub(super) fn channel(settings: &ClientSettings) -> Result<::tonic::transport::Channel, String> {
    let mut policy = crate::tonic::ChannelPolicy::new();
    if let Some(timeout) = settings.connect_timeout {
        policy = policy.connect_timeout(timeout);
    }
    if let Some(interval) = settings.keep_alive {
        policy = policy.keepalive(interval, KEEPALIVE_TIMEOUT);
    }
    let channel = match settings.address.as_slice() {
        [] => return Err("no address: set `address`, as in `static://127.0.0.1:8080`".to_owned()),
        [one] => policy
            .connect_lazy(one.clone())
            .map_err(|e| e.to_string())?,
        many => {
            let endpoints = many
                .iter()
                .map(|address| policy.endpoint(address.clone()).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            ::tonic::transport::Channel::balance_list(endpoints.into_iter())
        }
    };
    Ok(channel)
}
