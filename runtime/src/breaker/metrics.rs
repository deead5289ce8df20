//! The breaker's own metric (feature `opentelemetry`):
//! `steadfast.circuit_breaker.transitions`, by breaker, from and to. Kept
//! beside the breaker, so that the core needs none of the gRPC glue.

use std::sync::OnceLock;

use opentelemetry::metrics::Counter;
use opentelemetry::KeyValue;

/// Made on first use from opentelemetry's global meter provider.
fn transitions() -> &'static Counter<u64> {
    static TRANSITIONS: OnceLock<Counter<u64>> = OnceLock::new();
    TRANSITIONS.get_or_init(|| {
        opentelemetry::global::meter("steadfast")
            .u64_counter("steadfast.circuit_breaker.transitions")
            .with_unit("{transition}")
            .with_description("Changes of state of circuit breakers, by breaker, from and to.")
            .build()
    })
}

/// A circuit breaker changed state (any breaker, a generated client's or
/// one of the user's).
pub(super) fn changed(name: &'static str, from: &'static str, to: &'static str) {
    transitions().add(
        1,
        &[
            KeyValue::new("breaker", name),
            KeyValue::new("from", from),
            KeyValue::new("to", to),
        ],
    );
}
