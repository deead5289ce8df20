//! The spans of calls through the layer: `Sent` per call and `Attempt` per
//! attempt or hedge, as the generated clients open them, with gRPC A72's
//! names (`Sent.<service>.<method>`) in `otel.name` (a tracing span's own
//! name is fixed where it is written; the method is only known at run
//! time). Nothing is formatted unless a subscriber wants the span.

use http::Response;

use super::outcome::code_of;
use crate::tonic::service_and_method as names;
use crate::trace::Span;

/// The span of a call to `path`.
pub(super) fn call(path: &str) -> Span {
    #[cfg(feature = "tracing")]
    {
        if !crate::trace::traced() {
            return Span::none();
        }
        let (service, method) = names(path);
        tracing::info_span!(
            "Sent",
            "otel.name" = %format_args!("Sent.{service}.{method}"),
            "otel.kind" = "client",
            "rpc.system" = "grpc",
            "rpc.service" = service,
            "rpc.method" = method,
            "rpc.grpc.status_code" = tracing::field::Empty,
        )
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = names(path);
        Span
    }
}

/// The span of the attempt at `path` that `previous` attempts came before,
/// a child of the call's.
pub(super) fn attempt(call: &Span, path: &str, previous: u32) -> Span {
    #[cfg(feature = "tracing")]
    {
        if call.is_disabled() {
            return Span::none();
        }
        let (service, method) = names(path);
        tracing::info_span!(
            parent: call,
            "Attempt",
            "otel.name" = %format_args!("Attempt.{service}.{method}"),
            "previous-rpc-attempts" = previous,
            "transparent-retry" = false,
            "otel.kind" = "client",
            "rpc.system" = "grpc",
            "rpc.service" = service,
            "rpc.method" = method,
            "rpc.grpc.status_code" = tracing::field::Empty,
        )
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (call, names(path), previous);
        Span
    }
}

/// Records on `span` the status the attempt's response stands for
/// (`code_of`: 0 once committed, as a generated client records it).
pub(super) fn record<B>(span: &Span, response: &Response<B>) {
    #[cfg(feature = "tracing")]
    {
        if span.is_disabled() {
            return;
        }
        span.record("rpc.grpc.status_code", code_of(response) as i32);
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (span, response, code_of::<()>);
    }
}
