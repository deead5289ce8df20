//! Trace context on the wire (feature `opentelemetry`): the current tracing
//! span's OpenTelemetry context injected into each attempt's metadata
//! (W3C `traceparent` with opentelemetry's `TraceContextPropagator`), and
//! extracted by `DeadlineLayer` as the parent of its `Recv` span. Both go
//! through opentelemetry's global text map propagator: set it once, as
//! every OpenTelemetry program does
//! (`opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new())`);
//! the default propagator writes nothing.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Inject<'a>(&'a mut HeaderMap);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A propagator writing a key or value that is not a valid header
        // is skipped rather than failing the call.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct Extract<'a>(&'a HeaderMap);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes the current span's context into an outgoing request's headers.
pub(super) fn inject(headers: &mut HeaderMap) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Inject(headers));
    });
}

/// Makes the context a request carries the parent of `span`. A malformed
/// `traceparent` is ignored by the propagator (a new trace starts).
pub(super) fn adopt(span: &tracing::Span, headers: &HeaderMap) {
    if span.is_disabled() {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Extract(headers))
    });
    let _ = span.set_parent(parent);
}
