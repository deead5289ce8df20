//! A unary call as tonic's generated clients make it, without tonic's
//! streaming machinery: what the generated `Resilient<Name>Client`s send
//! their unary calls with.
//!
//! tonic sends a unary request as a one-item stream (its DATA frame, then an
//! empty DATA frame that ends the stream) and reads the response through
//! `Streaming`, the decoder of any number of messages. [`UnaryClient`]
//! frames the one message into one chunk that ends the stream, and reads a
//! plain response (`200`, no `grpc-status` or `grpc-encoding` in its
//! headers, one whole uncompressed message, then trailers with
//! `grpc-status: 0`) directly. Anything else is handed to tonic's own
//! reading, with what was already read replayed before the rest of the
//! body: the caller gets the same message, metadata and `Status` as from
//! tonic's client (proved against it in this module's tests). Requests
//! tonic would treat specially (a cancellation handle, a message past the
//! encoding limit) are declined and go through the tonic client.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tonic::client::GrpcService;
use ::tonic::codec::{Codec as _, Streaming};
use ::tonic::metadata::{MetadataMap, MetadataValue};
use ::tonic::{CancellationHandle, Code, GrpcMethod, Request, Response, Status};
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame};
use tonic_prost::prost::Message;
use tonic_prost::ProstCodec;

use crate::tonic::headers::find;
use crate::tonic::prefixed::Prefixed;

static STATUS: HeaderName = HeaderName::from_static("grpc-status");
static ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
static ACCEPT_ENCODING: &str = "grpc-accept-encoding";
/// What tonic removes from a request's metadata before sending it.
static RESERVED: [HeaderName; 5] = [
    header::TE,
    header::CONTENT_TYPE,
    HeaderName::from_static("grpc-message"),
    HeaderName::from_static("grpc-message-type"),
    HeaderName::from_static("grpc-status"),
];
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// tonic's default limit on a decoded message: 4 MiB.
const DEFAULT_MAX_DECODING: usize = 4 * 1024 * 1024;
/// The length prefix of a gRPC message: a compressed flag and a `u32`.
const PREFIX: usize = 5;

/// A transport and the settings of tonic's client that a unary call reads:
/// the origin and the message size limits (a client that compresses keeps
/// tonic's path altogether).
///
/// ```
/// use steadfast::__private::UnaryClient;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
/// let mut client = UnaryClient::new(channel).max_decoding_message_size(1 << 20);
/// let call = client.call::<String, String>(
///     tonic::Request::new("hello".to_owned()),
///     "/echo.Echo/Say",
///     tonic::GrpcMethod::new("echo.Echo", "Say"),
/// );
/// assert!(call.is_ok()); // a plain request: sent this way, not through tonic's client
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UnaryClient<T> {
    transport: T,
    origin: Option<Uri>,
    max_decoding: Option<usize>,
    max_encoding: Option<usize>,
}

impl<T> UnaryClient<T> {
    /// Sends to the transport's own address, as tonic's `Client::new`.
    ///
    /// ```
    /// let _ = steadfast::__private::UnaryClient::new(());
    /// ```
    pub const fn new(transport: T) -> Self {
        Self {
            transport,
            origin: None,
            max_decoding: None,
            max_encoding: None,
        }
    }

    /// Sends every request to `origin`, as tonic's `Client::with_origin`.
    ///
    /// ```
    /// let origin = http::Uri::from_static("http://example.com/prefix");
    /// let _ = steadfast::__private::UnaryClient::with_origin((), origin);
    /// ```
    pub fn with_origin(transport: T, origin: Uri) -> Self {
        Self {
            origin: Some(origin),
            ..Self::new(transport)
        }
    }

    /// tonic's `max_decoding_message_size` (default 4 MiB).
    ///
    /// ```
    /// let _ = steadfast::__private::UnaryClient::new(()).max_decoding_message_size(1024);
    /// ```
    #[must_use]
    pub const fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.max_decoding = Some(limit);
        self
    }

    /// tonic's `max_encoding_message_size` (default: none).
    ///
    /// ```
    /// let _ = steadfast::__private::UnaryClient::new(()).max_encoding_message_size(1024);
    /// ```
    #[must_use]
    pub const fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.max_encoding = Some(limit);
        self
    }

    /// The unary call of `request` to `path`, or the request back when
    /// tonic's client must send it: it carries a `CancellationHandle`, or
    /// its message is past the encoding limit (tonic's error says so).
    ///
    /// # Errors
    ///
    /// The request, untouched, when declined.
    ///
    /// ```
    /// use steadfast::__private::UnaryClient;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    /// let mut client = UnaryClient::new(channel).max_encoding_message_size(3);
    /// let declined = client
    ///     .call::<String, String>(
    ///         tonic::Request::new("too long".to_owned()),
    ///         "/echo.Echo/Say",
    ///         tonic::GrpcMethod::new("echo.Echo", "Say"),
    ///     )
    ///     .err()
    ///     .unwrap();
    /// assert_eq!(declined.get_ref(), "too long");
    /// # }
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn call<M, R>(
        &mut self,
        request: Request<M>,
        path: &'static str,
        method: GrpcMethod<'static>,
    ) -> Result<impl Future<Output = Result<Response<R>, Status>> + '_, Request<M>>
    where
        T: GrpcService<::tonic::body::Body>,
        T::Error: Into<BoxError>,
        T::ResponseBody: HttpBody<Data = Bytes> + Send + 'static,
        <T::ResponseBody as HttpBody>::Error: Into<BoxError> + Send,
        M: Message,
        R: Message + Default + Send + 'static,
    {
        if request.extensions().get::<CancellationHandle>().is_some() {
            return Err(request);
        }
        let len = request.get_ref().encoded_len();
        let limit = self
            .max_encoding
            .unwrap_or(usize::MAX)
            .min(u32::MAX as usize);
        if len > limit {
            return Err(request);
        }
        let (metadata, mut extensions, message) = request.into_parts();
        let mut frame = Vec::with_capacity(PREFIX + len);
        frame.push(0);
        frame.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        // Cannot fail: the buffer has room for `encoded_len` bytes.
        let _ = message.encode(&mut frame);
        extensions.insert(method);
        let mut headers = metadata.into_headers();
        sanitize(&mut headers);
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        let uri = self.uri(path);
        let mut http = http::Request::new(::tonic::body::Body::new(OneMessage(Some(Bytes::from(
            frame,
        )))));
        *http.version_mut() = http::Version::HTTP_2;
        *http.method_mut() = http::Method::POST;
        *http.headers_mut() = headers;
        *http.extensions_mut() = extensions;
        let max_decoding = self.max_decoding;
        Ok(async move {
            *http.uri_mut() = uri?;
            poll_fn(|cx| self.transport.poll_ready(cx))
                .await
                .map_err(|e| Status::unknown(format!("Service was not ready: {}", e.into())))?;
            let response = self
                .transport
                .call(http)
                .await
                .map_err(|e| Status::from_error(e.into()))?;
            // Boxed: the body moves into tonic's `Streaming` when the
            // response is not plain, after being polled here.
            read(response.map(Box::pin), max_decoding).await
        })
    }

    /// The request's URI, as tonic's `GrpcConfig::prepare_request` makes it.
    fn uri(&self, path: &'static str) -> Result<Uri, Status> {
        let path = PathAndQuery::from_static(path);
        let Some(origin) = &self.origin else {
            return Ok(Uri::from(path));
        };
        let mut parts = origin.clone().into_parts();
        parts.path_and_query = match &parts.path_and_query {
            Some(prefix) if prefix != "/" => Some(
                format!("{}{}", prefix.path(), path)
                    .parse()
                    .map_err(|e| Status::internal(format!("the origin's path with {path}: {e}")))?,
            ),
            _ => Some(path),
        };
        Uri::from_parts(parts).map_err(|e| Status::internal(format!("the request's URI: {e}")))
    }
}

/// Removes what tonic removes from a request's metadata; a request's few
/// headers are scanned before anything is hashed.
fn sanitize(headers: &mut HeaderMap) {
    if headers.is_empty() {
        return;
    }
    for name in &RESERVED {
        if find(headers, name).is_some() {
            headers.remove(name);
        }
    }
}

/// A request body of one message, that ends with it.
struct OneMessage(Option<Bytes>);

impl HttpBody for OneMessage {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// Reads a unary response: directly when it is plain, otherwise through
/// tonic's `Streaming` with what was read put back in front.
async fn read<B, R>(
    response: http::Response<B>,
    max_decoding: Option<usize>,
) -> Result<Response<R>, Status>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError> + Send,
    R: Message + Default + Send + 'static,
{
    let (parts, body) = response.into_parts();
    let mut body = Some(body);
    // A call whose headers carry no status is committed (gRPC A6): its
    // transport is guarded, and the guard's body tells the retry loop if
    // such a call fails after all.
    if parts.status != StatusCode::OK
        || find(&parts.headers, &STATUS).is_some()
        || find(&parts.headers, &ENCODING).is_some()
    {
        return through_tonic(parts, Prefixed::new(Vec::new(), body), max_decoding).await;
    }
    let limit = max_decoding.unwrap_or(DEFAULT_MAX_DECODING);
    let mut frames: Vec<Frame<Bytes>> = Vec::with_capacity(2);
    let mut size = 0usize;
    let mut error = None;
    while let Some(rest) = body.as_mut() {
        let frame = match poll_fn(|cx| Pin::new(&mut *rest).poll_frame(cx)).await {
            None => {
                body = None;
                break;
            }
            Some(Err(e)) => {
                error = Some(e);
                body = None;
                break;
            }
            Some(Ok(frame)) => frame,
        };
        let trailers = frame.is_trailers();
        if let Some(data) = frame.data_ref() {
            size = size.saturating_add(data.len());
        }
        frames.push(frame);
        if size > limit.saturating_add(PREFIX) {
            break;
        }
        if trailers {
            if rest.is_end_stream() {
                body = None;
            }
            break;
        }
    }
    if error.is_none() && body.is_none() {
        if let Some(message) = plain(&frames, limit) {
            let (metadata, extensions) = (parts.headers, parts.extensions);
            return Ok(done(metadata, frames, message, extensions));
        }
    }
    let read: VecDeque<_> = frames.into_iter().map(Ok).chain(error.map(Err)).collect();
    through_tonic(parts, Prefixed::new(read, body), max_decoding).await
}

/// The message of a plain response's frames: whole, uncompressed, within
/// `limit`, alone, followed by trailers that say `grpc-status: 0`.
fn plain<R: Message + Default>(frames: &[Frame<Bytes>], limit: usize) -> Option<R> {
    let (last, data) = frames.split_last()?;
    let trailers = last.trailers_ref()?;
    if find(trailers, &STATUS)?.as_bytes() != b"0" {
        return None;
    }
    let joined;
    let message: &[u8] = match data {
        [one] => one.data_ref()?,
        _ => {
            let mut all = Vec::new();
            for frame in data {
                all.extend_from_slice(frame.data_ref()?);
            }
            joined = all;
            &joined
        }
    };
    let (&[flag, a, b, c, d], payload) = message.split_first_chunk::<PREFIX>()?;
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    if flag != 0 || len != payload.len() || len > limit {
        return None;
    }
    R::decode(payload).ok()
}

/// The response of a plain call: its headers and trailers as metadata, as
/// tonic merges them.
fn done<R>(
    mut headers: HeaderMap,
    mut frames: Vec<Frame<Bytes>>,
    message: R,
    extensions: http::Extensions,
) -> Response<R> {
    if let Some(Ok(trailers)) = frames.pop().map(Frame::into_trailers) {
        headers.extend(trailers);
    }
    Response::from_parts(MetadataMap::from_headers(headers), message, extensions)
}

/// What tonic's `Grpc::unary` does with a response (its `create_response`
/// and `client_streaming`), with public parts.
async fn through_tonic<B, R>(
    parts: http::response::Parts,
    body: Prefixed<B>,
    max_decoding: Option<usize>,
) -> Result<Response<R>, Status>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError> + Send,
    R: Message + Default + Send + 'static,
{
    if let Some(encoding) = find(&parts.headers, &ENCODING) {
        if encoding.as_bytes() != b"identity" {
            return Err(unsupported(encoding.as_bytes()));
        }
    }
    let expect_trailers = match Status::from_header_map(&parts.headers) {
        Some(status) if status.code() != Code::Ok => return Err(status),
        Some(_) => false,
        None => true,
    };
    let decoder = ProstCodec::<R, R>::default().decoder();
    let mut stream = if expect_trailers {
        Streaming::new_response(decoder, body, parts.status, None, max_decoding)
    } else {
        Streaming::new_empty(decoder, body)
    };
    let mut metadata = MetadataMap::from_headers(parts.headers);
    let message = match stream.message().await {
        Ok(Some(message)) => message,
        Ok(None) => return Err(Status::internal("Missing response message.")),
        Err(mut status) => {
            merge(status.metadata_mut(), metadata);
            return Err(status);
        }
    };
    if let Some(trailers) = stream.trailers().await? {
        merge(&mut metadata, trailers);
    }
    Ok(Response::from_parts(metadata, message, parts.extensions))
}

/// tonic's `MetadataMap::merge`: `more`'s entries replace `into`'s.
fn merge(into: &mut MetadataMap, more: MetadataMap) {
    let mut headers = std::mem::take(into).into_headers();
    headers.extend(more.into_headers());
    *into = MetadataMap::from_headers(headers);
}

/// tonic's answer to a response compressed with an encoding the client
/// does not accept (it accepts none here).
fn unsupported(encoding: &[u8]) -> Status {
    let encoding = match std::str::from_utf8(encoding) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(format!("{encoding:?}")),
    };
    let mut status = Status::unimplemented(format!(
        "Content is compressed with `{encoding}` which isn't supported"
    ));
    status
        .metadata_mut()
        .insert(ACCEPT_ENCODING, MetadataValue::from_static("identity"));
    status
}

#[cfg(test)]
mod tests;
