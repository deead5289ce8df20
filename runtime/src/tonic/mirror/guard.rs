//! What a peer sends that tonic would panic on, replaced before tonic
//! parses it. tonic 0.14's `Status::from_header_map` decodes
//! `grpc-status-details-bin` with `.expect(..)`: one malformed header in a
//! response or its trailers kills the caller's task. The client services
//! here (`PropagateDeadlineService`, `ServiceConfigService`,
//! [`ResponseGuard`]) check response headers and trailers first, and turn a
//! malformed one into a clear `INTERNAL` status.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::tonic::headers::find;

static STATUS: HeaderName = HeaderName::from_static("grpc-status");
static MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
static DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");

/// tonic's reading of `grpc-status-details-bin`: standard base64, padding
/// optional.
const TONIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Replaces what tonic would panic on in a status header map (a
/// trailers-only response's headers, or trailers): a
/// `grpc-status-details-bin` that is not base64 becomes `INTERNAL`, its
/// message saying so and what status the peer sent.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// let mut headers = HeaderMap::new();
/// headers.insert("grpc-status", HeaderValue::from_static("14"));
/// headers.insert("grpc-status-details-bin", HeaderValue::from_static("*not base64*"));
/// steadfast::__private::guard_status_headers(&mut headers);
/// assert_eq!(headers["grpc-status"], "13");
/// assert!(headers.get("grpc-status-details-bin").is_none());
/// let status = tonic::Status::from_header_map(&headers).unwrap();
/// assert!(status.message().contains("grpc-status-details-bin"));
/// ```
pub fn guard_status_headers(headers: &mut HeaderMap) {
    let Some(details) = find(headers, &DETAILS) else {
        return;
    };
    if TONIC_BASE64.decode(details.as_bytes()).is_ok() {
        return;
    }
    let said = headers
        .get(&STATUS)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 8)
        .unwrap_or("none")
        .to_owned();
    headers.remove(&DETAILS);
    headers.insert(&STATUS, HeaderValue::from(13));
    // Percent-encoded as gRPC's `grpc-message` is (spaces as %20).
    let message = format!(
        "malformed%20grpc-status-details-bin%20from%20the%20peer%20(not%20base64)%3B%20its%20grpc-status%20was%20{said}"
    );
    if let Ok(message) = HeaderValue::from_str(&message) {
        headers.insert(&MESSAGE, message);
    }
}

/// Guards a response: its headers now, its trailers as they come. A `200`
/// whose content type is not gRPC's is `UNKNOWN`, as the gRPC spec says
/// (tonic reads its body as gRPC all the same); other HTTP statuses are
/// left to tonic's mapping of them.
pub(crate) fn guard_response<B>(response: http::Response<B>) -> http::Response<Guarded<B>> {
    let (mut parts, body) = response.into_parts();
    if parts.status == http::StatusCode::OK && !is_grpc(find(&parts.headers, &CONTENT_TYPE)) {
        let status = tonic::Status::unknown(format!(
            "the peer answered with content-type {:?}, not gRPC's",
            parts
                .headers
                .get(&CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()))
        ));
        return status.into_http();
    }
    guard_status_headers(&mut parts.headers);
    // Headers without a status: the response has started and the call is
    // committed (gRPC A6). Should it fail after all, the body says so to
    // the retry loop, whatever client (tonic's own included) reads it.
    let committed = parts.status == http::StatusCode::OK && find(&parts.headers, &STATUS).is_none();
    http::Response::from_parts(
        parts,
        Guarded {
            inner: Some(body),
            committed,
        },
    )
}

static CONTENT_TYPE: HeaderName = http::header::CONTENT_TYPE;

/// `application/grpc`, with or without a `+proto`-like suffix.
fn is_grpc(content_type: Option<&HeaderValue>) -> bool {
    content_type.is_some_and(|v| {
        let v = v.as_bytes();
        v.len() >= 16
            && v[..16].eq_ignore_ascii_case(b"application/grpc")
            && matches!(v.get(16), None | Some(b'+' | b';'))
    })
}

pin_project! {
    /// A response body whose trailers are checked by
    /// [`guard_status_headers`] before the caller sees them (or an empty
    /// one, for a response the guard answered itself).
    ///
    /// ```
    /// use http_body::Body as _;
    /// assert!(steadfast::tonic::Guarded::<tonic::body::Body>::default().is_end_stream());
    /// ```
    #[derive(Debug)]
    pub struct Guarded<B> {
        #[pin]
        inner: Option<B>,
        // The response started with headers and no status.
        committed: bool,
    }
}

impl<B> Default for Guarded<B> {
    fn default() -> Self {
        Self {
            inner: None,
            committed: false,
        }
    }
}

impl<B: Body> Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(None);
        };
        let mut frame = std::task::ready!(inner.poll_frame(cx));
        match &mut frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_mut() {
                    guard_status_headers(trailers);
                    let failed = find(trailers, &STATUS).is_some_and(|s| s.as_bytes() != b"0");
                    if *this.committed && failed {
                        crate::retry::attempt::commit();
                    }
                }
            }
            Some(Err(_)) if *this.committed => crate::retry::attempt::commit(),
            _ => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// A client service that guards every response (status headers tonic would
/// panic on become an `INTERNAL` status): for transports under a generated client, a
/// tonic client, or anything else that parses gRPC statuses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let guarded = steadfast::tonic::ResponseGuard::new(channel);
/// // let client = UserServiceClient::new(guarded);
/// # let _ = guarded;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ResponseGuard<S> {
    inner: S,
}

impl<S> ResponseGuard<S> {
    /// Guards the responses of `inner`.
    ///
    /// ```
    /// let _ = steadfast::tonic::ResponseGuard::new(());
    /// ```
    pub const fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// [`ResponseGuard`] as a `tower::Layer`.
///
/// ```
/// use tower_layer::Layer;
/// let _guarded = steadfast::tonic::ResponseGuardLayer.layer(());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseGuardLayer;

impl<S> tower_layer::Layer<S> for ResponseGuardLayer {
    type Service = ResponseGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseGuard::new(inner)
    }
}

impl<S, ReqB, RB> tower_service::Service<http::Request<ReqB>> for ResponseGuard<S>
where
    S: tower_service::Service<http::Request<ReqB>, Response = http::Response<RB>>,
{
    type Response = http::Response<Guarded<RB>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqB>) -> Self::Future {
        GuardFuture::new(self.inner.call(request))
    }
}

pin_project! {
    /// The response future of [`ResponseGuard`].
    #[derive(Debug)]
    pub struct GuardFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F> GuardFuture<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F, RB, E> std::future::Future for GuardFuture<F>
where
    F: std::future::Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = Result<http::Response<Guarded<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = std::task::ready!(self.project().inner.poll(cx));
        Poll::Ready(response.map(guard_response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(pairs: &[(&'static str, &[u8])]) -> tonic::Status {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_bytes(value).unwrap());
        }
        guard_status_headers(&mut headers);
        // What tonic does next: it must not panic.
        tonic::Status::from_header_map(&headers).unwrap()
    }

    #[test]
    fn malformed_details_become_internal_and_say_so() {
        for bad in [&b"!!!"[..], b"abc$", b"a", b"\xff\xfe"] {
            let status = status_of(&[("grpc-status", b"14"), ("grpc-status-details-bin", bad)]);
            assert_eq!(status.code(), tonic::Code::Internal);
            assert!(status.message().contains("not base64"), "{status:?}");
            assert!(status.message().contains("was 14"), "{status:?}");
        }
    }

    #[test]
    fn well_formed_details_pass_untouched() {
        for good in [&b""[..], b"AAEC", b"AAE", b"AAE="] {
            let status = status_of(&[("grpc-status", b"14"), ("grpc-status-details-bin", good)]);
            assert_eq!(status.code(), tonic::Code::Unavailable, "{good:?}");
        }
    }
}
