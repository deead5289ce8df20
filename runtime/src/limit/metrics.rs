//! The limits' metrics (feature `opentelemetry`), beside the breaker's:
//! `steadfast.limit.refusals` (a counter, by limit and kind) and
//! `steadfast.limit.queue_wait` (a histogram of the time calls waited in a
//! limit's queue before they were admitted, in seconds).

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram};
use opentelemetry::KeyValue;

use super::Which;

fn meter() -> opentelemetry::metrics::Meter {
    opentelemetry::global::meter("steadfast")
}

/// Made on first use from opentelemetry's global meter provider.
fn refusals() -> &'static Counter<u64> {
    static REFUSALS: OnceLock<Counter<u64>> = OnceLock::new();
    REFUSALS.get_or_init(|| {
        meter()
            .u64_counter("steadfast.limit.refusals")
            .with_unit("{call}")
            .with_description("Calls refused by a rate or concurrency limit, by limit and kind.")
            .build()
    })
}

fn queue_waits() -> &'static Histogram<f64> {
    static WAITS: OnceLock<Histogram<f64>> = OnceLock::new();
    WAITS.get_or_init(|| {
        meter()
            .f64_histogram("steadfast.limit.queue_wait")
            .with_unit("s")
            .with_description("Time calls waited in a limit's queue before they were admitted.")
            .build()
    })
}

fn attributes(which: Which, name: &'static str) -> [KeyValue; 2] {
    [
        KeyValue::new("limit", name),
        KeyValue::new("kind", which.as_str()),
    ]
}

/// A limit refused a call.
pub(super) fn refused(which: Which, name: &'static str) {
    refusals().add(1, &attributes(which, name));
}

/// A call waited `wait` in a limit's queue, then was admitted.
pub(super) fn waited(which: Which, name: &'static str, wait: Duration) {
    queue_waits().record(wait.as_secs_f64(), &attributes(which, name));
}

fn adaptive() -> &'static Gauge<u64> {
    static ADAPTIVE: OnceLock<Gauge<u64>> = OnceLock::new();
    ADAPTIVE.get_or_init(|| {
        meter()
            .u64_gauge("steadfast.limit.adaptive")
            .with_unit("{call}")
            .with_description("The concurrency an adaptive limit admits now, by limit.")
            .build()
    })
}

/// An adaptive limit now admits `max` calls at once.
pub(super) fn adapted(name: &'static str, max: usize) {
    adaptive().record(max as u64, &[KeyValue::new("limit", name)]);
}

#[cfg(feature = "redis")]
fn reachability() -> &'static Gauge<u64> {
    static REACHABLE: OnceLock<Gauge<u64>> = OnceLock::new();
    REACHABLE.get_or_init(|| {
        meter()
            .u64_gauge("steadfast.limit.cluster.reachable")
            .with_description("1 while a cluster rate limit's Redis answers, 0 while it decides locally, by limit.")
            .build()
    })
}

/// A cluster limit's Redis answers again (`true`), or stopped (`false`).
#[cfg(feature = "redis")]
pub(super) fn reachable(name: &'static str, up: bool) {
    reachability().record(u64::from(up), &[KeyValue::new("limit", name)]);
}

#[cfg(feature = "redis")]
fn local_decisions() -> &'static Counter<u64> {
    static LOCAL: OnceLock<Counter<u64>> = OnceLock::new();
    LOCAL.get_or_init(|| {
        meter()
            .u64_counter("steadfast.limit.cluster.local_decisions")
            .with_unit("{call}")
            .with_description("Calls a cluster rate limit decided without Redis, by limit.")
            .build()
    })
}

/// A cluster limit decided a call without Redis.
#[cfg(feature = "redis")]
pub(super) fn decided_locally(name: &'static str) {
    local_decisions().add(1, &[KeyValue::new("limit", name)]);
}
