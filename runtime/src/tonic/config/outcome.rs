//! What an attempt's response says before its body is read: a call that
//! ended at its headers (gRPC's trailers-only response, or an HTTP error
//! without gRPC headers) failed or succeeded there; any other response
//! commits the call.

use http::{HeaderMap, HeaderName, StatusCode};
use tonic::Code;

use crate::tonic::headers::find;
use crate::tonic::{Pushback, PUSHBACK_HEADER};

// Parsed once: a lookup by `&str` parses the name on every call.
static STATUS: HeaderName = HeaderName::from_static("grpc-status");
static PUSHBACK: HeaderName = HeaderName::from_static(PUSHBACK_HEADER);

/// How an attempt ended, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A success, or a response whose body is coming: the call is committed.
    Committed,
    /// The call failed at its headers with `code`.
    Failed { code: Code, pushback: Pushback },
}

/// Judges a response by its status line and headers.
pub(super) fn judge(status: StatusCode, headers: &HeaderMap) -> Outcome {
    let code = match find(headers, &STATUS) {
        Some(value) => status_code(value.as_bytes()),
        None if status == StatusCode::OK => return Outcome::Committed,
        None => from_http(status),
    };
    if code == Code::Ok {
        return Outcome::Committed;
    }
    let pushback = Pushback::of_values(headers.get_all(&PUSHBACK).iter().map(|v| v.as_bytes()));
    Outcome::Failed { code, pushback }
}

/// A `grpc-status` value: digits naming a code; anything else is `UNKNOWN`
/// (a status the peer could not express is not a success).
fn status_code(value: &[u8]) -> Code {
    // tonic's own rule, since the status the caller reads is tonic's: `00`
    // and `014` are `UNKNOWN` there, so they must be here too.
    Code::from_bytes(value)
}

/// The gRPC spec's mapping of an HTTP status without `grpc-status`
/// (doc/http-grpc-status-mapping.md).
fn from_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The status an attempt's response stands for: what its headers say when
/// it failed, `OK` once it is committed (the call is the caller's from
/// then on; a generated client's `Ok(response)` is recorded the same way).
/// One rule for the attempt's span, its metrics and the call's answer.
pub(super) fn code_of<B>(response: &http::Response<B>) -> Code {
    match judge(response.status(), response.headers()) {
        Outcome::Failed { code, .. } => code,
        Outcome::Committed => Code::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn headers_without_a_status_commit_the_call() {
        assert_eq!(judge(StatusCode::OK, &headers(&[])), Outcome::Committed);
        assert_eq!(
            judge(StatusCode::OK, &headers(&[("grpc-status", "0")])),
            Outcome::Committed
        );
    }

    #[test]
    fn several_pushback_values_are_unparseable_and_stop_retries() {
        let mut map = headers(&[("grpc-status", "14")]);
        map.append("grpc-retry-pushback-ms", HeaderValue::from_static("100"));
        map.append("grpc-retry-pushback-ms", HeaderValue::from_static("10"));
        assert_eq!(
            judge(StatusCode::OK, &map),
            Outcome::Failed {
                code: Code::Unavailable,
                pushback: Pushback::Stop,
            }
        );
    }

    #[test]
    fn trailers_only_errors_fail_with_their_code_and_pushback() {
        assert_eq!(
            judge(
                StatusCode::OK,
                &headers(&[("grpc-status", "14"), ("grpc-retry-pushback-ms", "20")])
            ),
            Outcome::Failed {
                code: Code::Unavailable,
                pushback: Pushback::Delay(std::time::Duration::from_millis(20)),
            }
        );
        for garbage in [
            "",
            "x",
            "-1",
            "17",
            "99999999999",
            "1 4",
            "00",
            "014",
            "016",
        ] {
            let mut map = HeaderMap::new();
            map.insert("grpc-status", HeaderValue::from_str(garbage).unwrap());
            assert!(
                matches!(
                    judge(StatusCode::OK, &map),
                    Outcome::Failed {
                        code: Code::Unknown,
                        ..
                    }
                ),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn http_errors_map_as_the_grpc_spec_says() {
        let code =
            |status: u16| match judge(StatusCode::from_u16(status).unwrap(), &HeaderMap::new()) {
                Outcome::Failed { code, .. } => code,
                Outcome::Committed => Code::Ok,
            };
        assert_eq!(code(503), Code::Unavailable);
        assert_eq!(code(429), Code::Unavailable);
        assert_eq!(code(502), Code::Unavailable);
        assert_eq!(code(504), Code::Unavailable);
        assert_eq!(code(404), Code::Unimplemented);
        assert_eq!(code(401), Code::Unauthenticated);
        assert_eq!(code(403), Code::PermissionDenied);
        assert_eq!(code(400), Code::Internal);
        assert_eq!(code(500), Code::Unknown);
    }
}
