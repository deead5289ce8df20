//! The gRPC status code of a generated client's call or attempt, recorded
//! on its span (`rpc.grpc.status_code`, 0 for a success).

/// Records the status of `result` on the span being polled (an attempt's).
#[inline]
pub fn record_status_here<T>(result: &Result<T, ::tonic::Status>) {
    #[cfg(feature = "tracing")]
    record_status(&::tracing::Span::current(), result);
    #[cfg(not(feature = "tracing"))]
    let _ = result;
}

/// Records the gRPC status code of `result` on `span`
/// (`rpc.grpc.status_code`, 0 for a success).
#[inline]
pub fn record_status<T>(span: &crate::trace::Span, result: &Result<T, ::tonic::Status>) {
    #[cfg(feature = "tracing")]
    {
        if span.is_disabled() {
            return;
        }
        let code = match result {
            Ok(_) => 0,
            Err(status) => super::effective_code(status) as i32,
        };
        span.record("rpc.grpc.status_code", code);
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (span, result);
    }
}
