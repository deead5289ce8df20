//! The breakers, limits and retry budgets a settings file gives a client's
//! calls (`circuitBreaker`, `rateLimit`, `concurrency`, `budget`): made
//! from the layers (a method's settings over its client's over a generated
//! client's compiled policy), one set per method of each client name, kept
//! across reloads and changed in place where their shape allows, so that a
//! reload keeps what they learnt.
//!
//! A reload is planned whole first ([`plan`]): new gates made, changes to
//! the kept ones listed; only when every client's plan holds are the
//! changes applied and the new version stored.

use std::sync::Arc;
use std::time::Duration;

use steadfast_grammar::client_config::{
    Adaptive, BreakerSettings, BudgetSettings, CallSettings, ClientSettings, ClientsFile,
    ConcurrencySettings, RateSettings,
};

use crate::limit::{AdaptiveLimit, ConcurrencyLimit, RateLimiter};
use crate::{AdaptiveThrottle, CircuitBreaker, RetryBudget};

/// What a call's attempts ask, as one version of the settings says: each
/// gate with the settings it was made or last changed with.
#[derive(Debug, Default)]
pub(crate) struct Set {
    pub(super) breaker: Option<(BreakerSettings, Arc<CircuitBreaker>)>,
    pub(super) rate: Option<(RateSettings, Arc<RateLimiter>)>,
    pub(super) concurrency: Option<(ConcurrencySettings, Arc<ConcurrencyLimit>)>,
    pub(super) budget: Option<(BudgetSettings, Arc<RetryBudget>)>,
}

impl Set {
    fn is_empty(&self) -> bool {
        self.breaker.is_none()
            && self.rate.is_none()
            && self.concurrency.is_none()
            && self.budget.is_none()
    }
}

/// Where a set of gates belongs: a method of a client name (of a
/// generated client's service, or `""` for calls made by hand), with the
/// compiled policy under the file's and the name its gates are known by.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) client: Arc<str>,
    pub(super) service: &'static str,
    pub(super) method: String,
    pub(super) base: Option<CallSettings>,
    pub(super) base_budget: Option<BudgetSettings>,
    /// A generated client's method its proto does not retry: never a
    /// retry or a hedge.
    pub(super) once: bool,
    /// `<client>/<method>`, made once per slot: breakers and limits are
    /// named by a `&'static str`.
    pub(super) label: &'static str,
}

impl Slot {
    /// A slot for checking what a file's settings make, named nothing.
    fn probe(client: &str, method: &str) -> Self {
        Self {
            client: Arc::from(client),
            service: "",
            method: method.to_owned(),
            base: None,
            base_budget: None,
            once: false,
            label: "",
        }
    }

    pub(super) fn new(
        client: Arc<str>,
        service: &'static str,
        method: &str,
        base: Option<(CallSettings, bool)>,
        base_budget: Option<BudgetSettings>,
    ) -> Self {
        let (base, once) = match base {
            Some((base, once)) => (Some(base), once),
            None => (None, false),
        };
        let label: &'static str = Box::leak(format!("{client}/{method}").into_boxed_str());
        Self {
            client,
            service,
            method: method.to_owned(),
            base,
            base_budget,
            once,
            label,
        }
    }
}

/// A change to a gate kept across a reload, applied once the reload holds.
#[derive(Debug)]
pub(super) enum Change {
    Rate(Arc<RateLimiter>, RateSettings),
    Max(Arc<ConcurrencyLimit>, usize),
}

impl Change {
    pub(super) fn apply(self) {
        match self {
            Change::Rate(limiter, settings) => {
                if let Some(rate) = settings.rate {
                    let _ = limiter.set_rate(rate.count, rate.period);
                }
                let _ = limiter.set_burst(settings.burst);
            }
            Change::Max(limit, max) => {
                let _ = limit.set_max(max);
            }
        }
    }
}

impl Slot {
    /// The policy of a generated client's call of this slot's method under
    /// `client`'s settings, made once a version: `None` for calls made by
    /// hand, which make theirs as they start.
    pub(super) fn policy(
        &self,
        client: Option<&ClientSettings>,
        gates: Option<&Arc<Set>>,
    ) -> Option<Arc<super::CallPolicy>> {
        let base = self.base.as_ref()?;
        let layers = [
            client.and_then(|c| c.methods.get(&self.method)),
            client.map(|c| &c.call),
            Some(base),
        ];
        Some(Arc::new(super::CallPolicy::from_layers(
            &layers,
            self.once,
            gates.cloned(),
        )))
    }
}

/// Whether calls of `method` of `client` have gates of their own: its or
/// the client's settings give one.
pub(super) fn has_gates(client: &ClientSettings, method: &str) -> bool {
    let gated = |s: &CallSettings| {
        s.circuit_breaker.is_some() || s.rate_limit.is_some() || s.concurrency.is_some()
    };
    client.budget.is_some() || gated(&client.call) || client.methods.get(method).is_some_and(gated)
}

/// What cannot be made of `file`'s gates, each client's and each of its
/// methods' alone (as a call made by hand would have them).
pub(super) fn check(file: &ClientsFile) -> Vec<String> {
    let mut problems = Vec::new();
    for name in file.names() {
        let Some(client) = file.client(name) else {
            continue;
        };
        let methods = std::iter::once("").chain(client.methods.keys().map(String::as_str));
        for method in methods {
            let probe = Slot::probe(name, method);
            let planned = plan(
                &probe,
                Some(client),
                None,
                &mut Vec::new(),
                &mut Budgets::default(),
            );
            if let Err(problem) = planned {
                problems.push(problem);
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The set `slot` gets from `client`'s settings (none: the file no longer
/// has the client), taking over from `old`; with the changes to apply to
/// the gates it keeps.
///
/// # Errors
///
/// What cannot be made, as `grpc.client.<name>[.methods.<m>]: why`.
pub(super) fn plan(
    slot: &Slot,
    client: Option<&ClientSettings>,
    old: Option<&Set>,
    changes: &mut Vec<Change>,
    budgets: &mut Budgets,
) -> Result<Option<Arc<Set>>, String> {
    let own = client.and_then(|c| c.methods.get(&slot.method));
    let layers = [own, client.map(|c| &c.call), slot.base.as_ref()];
    let place = match (client, own) {
        (Some(c), Some(_)) => format!(
            "{}: grpc.client.{}.methods.{}",
            c.method_place(&slot.method).unwrap_or_else(|| c.place()),
            slot.client,
            slot.method
        ),
        (Some(c), None) => format!("{}: grpc.client.{}", c.place(), slot.client),
        (None, _) => format!("grpc.client.{}", slot.client),
    };
    let at = |why: String| format!("{place}: {why}");
    let mut set = Set::default();
    if let Some(settings) = CallSettings::breaker(&layers) {
        set.breaker = Some(breaker(
            slot,
            settings,
            old.and_then(|o| o.breaker.as_ref()),
        ));
    }
    if let Some(settings) = CallSettings::rate(&layers) {
        let old = old.and_then(|o| o.rate.as_ref());
        set.rate = Some(rate(slot, settings, old, changes).map_err(at)?);
    }
    if let Some(settings) = CallSettings::concurrency_limit(&layers) {
        let old = old.and_then(|o| o.concurrency.as_ref());
        set.concurrency = Some(concurrency(slot, settings, old, changes).map_err(at)?);
    }
    let budget = client.and_then(|c| c.budget).or(slot.base_budget);
    if let Some(settings) = budget {
        let old = old.and_then(|o| o.budget.as_ref());
        set.budget = Some((settings, budgets.of(slot, settings, old)));
    }
    Ok((!set.is_empty()).then(|| Arc::new(set)))
}

/// The retry budgets of a version, one per client name and service: its
/// methods' calls share it (gRPC A6: a channel's).
#[derive(Debug, Default)]
pub(super) struct Budgets(Vec<(Arc<str>, &'static str, BudgetSettings, Arc<RetryBudget>)>);

impl Budgets {
    /// The budgets `sets` (of `slots`) already hold.
    pub(super) fn of_version(slots: &[Slot], sets: &[Option<Arc<Set>>]) -> Self {
        let mut budgets = Self::default();
        for (slot, set) in slots.iter().zip(sets) {
            if let Some((settings, budget)) = set.as_ref().and_then(|s| s.budget.as_ref()) {
                budgets.of(slot, *settings, Some(&(*settings, Arc::clone(budget))));
            }
        }
        budgets
    }

    /// The budget of `slot`'s client: the one its other methods share
    /// when they have these settings, else `old` with the same settings,
    /// else a new (full) one.
    fn of(
        &mut self,
        slot: &Slot,
        settings: BudgetSettings,
        old: Option<&(BudgetSettings, Arc<RetryBudget>)>,
    ) -> Arc<RetryBudget> {
        let shared = self.0.iter().find(|(client, service, was, _)| {
            **client == *slot.client && *service == slot.service && *was == settings
        });
        if let Some((.., budget)) = shared {
            return Arc::clone(budget);
        }
        let budget = match old {
            Some((was, kept)) if *was == settings => Arc::clone(kept),
            _ => Arc::new(RetryBudget::new(settings.max_tokens, settings.token_ratio)),
        };
        self.0.push((
            Arc::clone(&slot.client),
            slot.service,
            settings,
            Arc::clone(&budget),
        ));
        budget
    }
}

/// The same breaker when its settings are the same; otherwise a new one
/// that takes over the old one's state (open stays open).
fn breaker(
    slot: &Slot,
    settings: BreakerSettings,
    old: Option<&(BreakerSettings, Arc<CircuitBreaker>)>,
) -> (BreakerSettings, Arc<CircuitBreaker>) {
    if let Some((was, kept)) = old {
        if *was == settings {
            return (settings, Arc::clone(kept));
        }
    }
    let made = match settings.throttle {
        Some(k) => {
            let mut throttle = AdaptiveThrottle::new().k(k).named(slot.label);
            if let Some(window) = settings.window {
                throttle = throttle.window(window);
            }
            throttle.into_breaker()
        }
        None => {
            let s = &settings;
            let mut b = CircuitBreaker::new().name(slot.label);
            if let Some(r) = s.failure_ratio {
                b = b.failure_ratio(r);
            }
            if let Some(n) = s.min_calls {
                b = b.min_calls(n);
            }
            if let Some(d) = s.window {
                b = b.window(d);
            }
            if let Some(d) = s.open_for {
                b = b.open_for(d);
            }
            if let Some(n) = s.half_open {
                b = b.half_open_calls(n);
            }
            if let (Some(threshold), Some(ratio)) = (s.slow, s.slow_ratio) {
                b = b.slow_calls(threshold, ratio);
            }
            if let Some(n) = s.failures {
                b = b.failure_count(n);
            }
            b
        }
    };
    if let Some((_, old)) = old {
        made.take_over(old);
    }
    (settings, Arc::new(made))
}

/// The same limiter, its rate and burst changed in place, when only they
/// change; otherwise a new one (a registered one for `shared`).
fn rate(
    slot: &Slot,
    settings: RateSettings,
    old: Option<&(RateSettings, Arc<RateLimiter>)>,
    changes: &mut Vec<Change>,
) -> Result<(RateSettings, Arc<RateLimiter>), String> {
    if let Some(name) = &settings.shared {
        let limiter = crate::limit::registered(name).ok_or_else(|| {
            format!("rateLimit.shared: no rate limiter is registered as `{name}` (steadfast::limit::register, before the settings are read)")
        })?;
        return Ok((settings, limiter));
    }
    let Some(rate) = settings.rate else {
        return Err("rateLimit: needs `rate`, as in `rate: 50/s`".to_owned());
    };
    if let Some((was, kept)) = old {
        let same_shape =
            was.shared.is_none() && was.queue == settings.queue && was.warm_up == settings.warm_up;
        if same_shape {
            if *was != settings {
                changes.push(Change::Rate(Arc::clone(kept), settings.clone()));
            }
            return Ok((settings, Arc::clone(kept)));
        }
    }
    let mut limiter = RateLimiter::try_per(rate.count, rate.period)
        .map_err(|e| format!("rateLimit: {e}"))?
        .named(slot.label);
    if let Some(burst) = settings.burst {
        limiter = limiter
            .try_burst(burst)
            .map_err(|e| format!("rateLimit.burst: {e}"))?;
    }
    if let Some(queue) = settings.queue {
        limiter = limiter.queue(queue);
    }
    if let Some(warm_up) = settings.warm_up {
        limiter = limiter.warm_up(warm_up);
    }
    Ok((settings, Arc::new(limiter)))
}

/// The same limit, its maximum changed in place, when only it changes;
/// otherwise a new one (calls in flight on the old one finish there).
fn concurrency(
    slot: &Slot,
    settings: ConcurrencySettings,
    old: Option<&(ConcurrencySettings, Arc<ConcurrencyLimit>)>,
    changes: &mut Vec<Change>,
) -> Result<(ConcurrencySettings, Arc<ConcurrencyLimit>), String> {
    let Some(max) = settings.max else {
        return Err("concurrency: needs `max`, as in `max: 32`".to_owned());
    };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if max > ConcurrencyLimit::MAX {
        return Err(format!(
            "concurrency.max: at most {}, not {max}",
            ConcurrencyLimit::MAX
        ));
    }
    if let Some((was, kept)) = old {
        if was.adaptive.is_none() && settings.adaptive.is_none() && was.queue == settings.queue {
            if was.max != settings.max {
                changes.push(Change::Max(Arc::clone(kept), max));
            }
            return Ok((settings, Arc::clone(kept)));
        }
        if *was == settings {
            return Ok((settings, Arc::clone(kept)));
        }
    }
    let queue = settings.queue.unwrap_or(Duration::ZERO);
    let limit = match settings.adaptive {
        None => ConcurrencyLimit::try_new(max)
            .map_err(|e| format!("concurrency: {e}"))?
            .queue(queue)
            .named(slot.label),
        Some(adaptive) => {
            let algorithm = match adaptive {
                Adaptive::Gradient => AdaptiveLimit::gradient(),
                Adaptive::Vegas => AdaptiveLimit::vegas(),
                Adaptive::Aimd(timeout) => AdaptiveLimit::aimd(timeout),
            };
            algorithm
                .bounds(1, max.min(20), max)
                .queue(queue)
                .named(slot.label)
                .into_limit()
        }
    };
    Ok((settings, Arc::new(limit)))
}
