//! A call's policy as the settings file says it, and the channel its
//! `address` makes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::tonic::Status;
use steadfast_grammar::client_config::{CallSettings, ClientSettings, Switch};
use steadfast_grammar::policy::{Growth, Jitter as Words};

use crate::backoff::{Backoff, Jitter};
use crate::hedge::HedgePolicy;
use crate::retry::{Classify, Verdict};
use crate::tonic::Pushback;
use crate::{RetryBudget, RetryPolicy};

use super::gated::Gated;
use super::gates::Set;

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
    retry: RetryPolicy<Backoff, CodeMask, Option<Arc<RetryBudget>>>,
    /// With `hedge`: attempts side by side instead of `retry`, and the
    /// codes after which the next starts at once.
    hedge: Option<(HedgePolicy<Option<Arc<RetryBudget>>>, CodeMask)>,
    /// The breaker and limits each attempt asks, the retry budget.
    gates: Option<Arc<Set>>,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self::from_layers(&[], false, None)
    }
}

impl CallPolicy {
    /// The policy `layers` say, the first layer that sets a key deciding it
    /// (a method's settings over its client's over the compiled policy; an
    /// absent layer says nothing); with `once`, never a retry; its attempts
    /// gated by `gates`. Reads the layers in place: nothing is copied or
    /// allocated.
    pub(super) fn from_layers(
        layers: &[Option<&CallSettings>],
        once: bool,
        gates: Option<Arc<Set>>,
    ) -> Self {
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
        let budget = gates
            .as_ref()
            .and_then(|g| g.budget.as_ref())
            .map(|(_, budget)| Arc::clone(budget));
        let hedge = if once { None } else { hedge(layers) }
            .map(|(policy, mask)| (policy.budget(budget.clone()), mask));
        Self {
            timeout: first(|s| s.timeout),
            retry: retry.budget(budget),
            hedge,
            gates,
        }
    }

    /// The call's deadline, if the settings give one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Every attempt the call may make, the first included: a hedge's or
    /// a retry's.
    pub fn max_attempts(&self) -> u32 {
        match &self.hedge {
            Some((hedge, _)) => hedge.attempt_limit(),
            None => self.retry.attempt_limit(),
        }
    }

    /// Whether the call hedges (`hedge`): its attempts started side by
    /// side, the first answer kept, rather than retried one after another.
    ///
    /// ```
    /// use steadfast::config::{Clients, Format};
    /// let clients = Clients::parse(
    ///     "grpc:\n  client:\n    users: { hedge: { maxAttempts: 3, delay: 50ms } }\n",
    ///     Format::Yaml,
    /// )
    /// .unwrap();
    /// let policy = clients.client("users").unwrap().call("GetUser");
    /// assert!(policy.is_hedged());
    /// assert_eq!(policy.max_attempts(), 3);
    /// ```
    pub fn is_hedged(&self) -> bool {
        self.hedge.is_some()
    }

    /// Each attempt's own deadline, if the settings give one.
    pub fn per_try_timeout(&self) -> Option<Duration> {
        self.retry.attempt_timeout()
    }

    /// The retry of the call, for [`Attempts`](super::attempts::Attempts).
    pub(super) fn retry(&self) -> &RetryPolicy<Backoff, CodeMask, Option<Arc<RetryBudget>>> {
        &self.retry
    }

    /// The gates of the call's attempts.
    pub(super) fn gates(&self) -> Option<&Set> {
        self.gates.as_deref()
    }

    /// The call's deadline around `call` (a generated client's attempts,
    /// driven by [`Attempts`](super::attempts::Attempts)): a timer of its
    /// own, or carried to the attempts' own timers.
    #[doc(hidden)]
    pub fn within_timeout<F, T>(&self, call: F) -> impl Future<Output = Result<T, Status>>
    where
        F: Future<Output = Result<T, Status>>,
    {
        CallDeadline::new(self.timeout, self.retry.attempt_timeout().is_some(), call)
    }

    /// The circuit breaker each attempt asks (`circuitBreaker`), if the
    /// settings give one: the same breaker for every call of the method,
    /// across reloads that do not change its settings.
    ///
    /// ```
    /// use steadfast::config::{Clients, Format};
    /// let clients = Clients::parse(
    ///     "grpc:\n  client:\n    users: { circuitBreaker: { failureRatio: 0.5, minCalls: 10 } }\n",
    ///     Format::Yaml,
    /// )
    /// .unwrap();
    /// let users = clients.client("users").unwrap();
    /// let breaker = users.call("GetUser").circuit_breaker().unwrap();
    /// assert_eq!(breaker.state(), steadfast::CircuitState::Closed);
    /// assert!(std::sync::Arc::ptr_eq(&breaker, &users.call("GetUser").circuit_breaker().unwrap()));
    /// ```
    pub fn circuit_breaker(&self) -> Option<Arc<crate::CircuitBreaker>> {
        let (_, breaker) = self.gates.as_ref()?.breaker.as_ref()?;
        Some(Arc::clone(breaker))
    }

    /// The rate limiter each attempt asks (`rateLimit`), if the settings
    /// give one.
    pub fn rate_limiter(&self) -> Option<Arc<crate::RateLimiter>> {
        let (_, limiter) = self.gates.as_ref()?.rate.as_ref()?;
        Some(Arc::clone(limiter))
    }

    /// The concurrency limit each attempt holds a place in (`concurrency`),
    /// if the settings give one.
    pub fn concurrency_limit(&self) -> Option<Arc<crate::ConcurrencyLimit>> {
        let (_, limit) = self.gates.as_ref()?.concurrency.as_ref()?;
        Some(Arc::clone(limit))
    }

    /// The retry budget the client's calls share (`budget`), if the
    /// settings give one.
    pub fn budget(&self) -> Option<Arc<RetryBudget>> {
        let (_, budget) = self.gates.as_ref()?.budget.as_ref()?;
        Some(Arc::clone(budget))
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
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        if let Some((hedge, mask)) = &self.hedge {
            // Boxed: attempts side by side make a large future, which a
            // retried call's need not carry.
            return Box::pin(self.run_hedged(hedge, *mask, attempt)).await;
        }
        let gates = self.gates.as_deref();
        let gated = || Gated::new(gates, attempt());
        let retried = crate::retry(&self.retry, gated);
        CallDeadline::new(
            self.timeout,
            self.retry.attempt_timeout().is_some(),
            retried,
        )
        .await
    }

    /// [`run`](Self::run) with `hedge`: attempts side by side, each gated.
    async fn run_hedged<T, F, Fut>(
        &self,
        hedge: &HedgePolicy<Option<Arc<RetryBudget>>>,
        mask: CodeMask,
        mut attempt: F,
    ) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let gates = self.gates.as_deref();
        let hedged = crate::hedge::hedge(
            hedge,
            |_| Gated::new(gates, attempt()),
            |status: &Status| mask.verdict(status),
        );
        crate::__private::within(self.timeout, hedged).await
    }
}

pin_project_lite::pin_project! {
    /// A call under its `timeout`: with a timer of its own, or, when each
    /// attempt has one (`perTryTimeout`) and the retry never waits past
    /// the deadline, carried to them without one, as `#[deadline]` above
    /// `#[retry(per_attempt = ..)]` is. Answered as `crate::tonic::scope`
    /// answers. A future of its own: an `async fn` with three branches
    /// would hold the call's future more than once.
    #[must_use = "futures do nothing unless polled"]
    struct CallDeadline<F> {
        #[pin]
        inner: Scoped<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = ScopedProj]
    enum Scoped<F> {
        Plain { #[pin] call: F },
        Timed { #[pin] call: crate::tonic::Scoped<F> },
        Carried { #[pin] call: crate::deadline::Carried<F> },
    }
}

impl<F, T> CallDeadline<F>
where
    F: Future<Output = Result<T, Status>>,
{
    fn new(timeout: Option<Duration>, attempts_timed: bool, call: F) -> Self {
        let inner = match timeout {
            None => Scoped::Plain { call },
            Some(timeout) if attempts_timed => Scoped::Carried {
                call: crate::deadline::emitted::carried(timeout, call),
            },
            Some(timeout) => Scoped::Timed {
                call: crate::tonic::scope(timeout, call),
            },
        };
        Self { inner }
    }
}

impl<F, T> Future for CallDeadline<F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::{ready, Poll};
        match self.project().inner.project() {
            ScopedProj::Plain { call } => call.poll(cx),
            ScopedProj::Timed { call } => call.poll(cx),
            ScopedProj::Carried { call } => Poll::Ready(match ready!(call.poll(cx)) {
                (Ok(Err(status)), until)
                    if crate::deadline::ran_out(until, crate::Retryable::is_timeout(&status)) =>
                {
                    Err(crate::deadline::Elapsed::new().into())
                }
                (Ok(result), _) => result,
                (Err(elapsed), _) => Err(elapsed.into()),
            }),
        }
    }
}

/// The hedge `layers` describe, if the first layer that says how the call
/// repeats (`hedge`, or `maxRetryAttempts`) says `hedge`: its keys, each
/// from the first layer that sets it, down to an `off`. Reads the layers
/// in place.
fn hedge(layers: &[Option<&CallSettings>]) -> Option<(HedgePolicy, CodeMask)> {
    let decides = layers
        .iter()
        .flatten()
        .find(|s| s.hedge.is_some() || s.max_retry_attempts.is_some())?;
    if !matches!(decides.hedge, Some(Switch::On(_))) {
        return None;
    }
    let (mut max_attempts, mut delay, mut non_fatal) = (None, None, None);
    for layer in layers.iter().flatten() {
        match &layer.hedge {
            Some(Switch::Off) => break,
            Some(Switch::On(h)) => {
                max_attempts = max_attempts.or(h.max_attempts);
                delay = delay.or(h.delay);
                non_fatal = non_fatal.or(h.non_fatal.as_deref());
            }
            None => {}
        }
    }
    let policy = HedgePolicy::new(max_attempts?, delay.unwrap_or(Duration::ZERO));
    Some((policy, CodeMask::of(non_fatal)))
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
