//! The spans of calls through the layer: gRPC A72's `Sent.<service>.<method>`
//! per call and `Attempt.<service>.<method>` per attempt or hedge, as the
//! generated clients open them. The method is only known at run time, so
//! the A72 name is the `otel.name` field (a tracing span's own name is fixed
//! where it is written: `Sent`, `Attempt`). Nothing is formatted unless a
//! subscriber wants the span.

use http::Response;

use super::outcome::{judge, Outcome};
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

/// Records on `span` the status a response's headers carry, when they
/// carry one (a committed response's comes later, in its trailers).
pub(super) fn record<B>(span: &Span, response: &Response<B>) {
    #[cfg(feature = "tracing")]
    {
        if span.is_disabled() {
            return;
        }
        let code = match judge(response.status(), response.headers()) {
            Outcome::Failed { code, .. } => code as i32,
            Outcome::Committed if response.headers().contains_key("grpc-status") => 0,
            Outcome::Committed => return,
        };
        span.record("rpc.grpc.status_code", code);
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (span, response, judge, Outcome::Committed);
    }
}
