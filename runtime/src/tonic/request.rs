//! Requests that go out more than once: the caller's metadata and
//! extensions travel with every attempt.

use std::time::Duration;

use ::tonic::metadata::MetadataMap;
use ::tonic::{Extensions, IntoRequest, Request, Status};

use super::client::stamp;
use super::timeout::{parse_timeout, TIMEOUT_NAME};

/// A unary request taken apart once and rebuilt for each attempt: the
/// caller's metadata (auth tokens, request ids) and extensions go out with
/// every attempt, and each attempt carries what is left of the deadline as
/// `grpc-timeout` and its number as `grpc-previous-rpc-attempts`.
///
/// What the generated `Resilient<Name>Client` methods use; for hand-written
/// retries around a plain tonic client too.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::ReplayableRequest;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut request = tonic::Request::new("hello".to_owned());
/// request.metadata_mut().insert("x-request-id", "42".parse().unwrap());
/// request.set_timeout(Duration::from_millis(500));
/// let replayable = ReplayableRequest::<String>::new(request);
/// assert_eq!(replayable.timeout(), Some(Duration::from_millis(500)));
///
/// for _ in 0..2 {
///     let attempt = replayable.attempt().unwrap();
///     assert_eq!(attempt.metadata().get("x-request-id").unwrap(), "42");
///     assert_eq!(attempt.get_ref(), "hello");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct ReplayableRequest<M> {
    metadata: MetadataMap,
    extensions: Extensions,
    message: M,
    timeout: Option<Duration>,
}

impl<M: Clone> ReplayableRequest<M> {
    /// Takes `request` (a message, or a `tonic::Request` with metadata,
    /// extensions and perhaps a timeout) apart.
    ///
    /// ```
    /// let r = steadfast::__private::ReplayableRequest::new(7u32);
    /// assert_eq!(r.timeout(), None);
    /// ```
    pub fn new(request: impl IntoRequest<M>) -> Self {
        let (metadata, extensions, message) = request.into_request().into_parts();
        let timeout = request_timeout(&metadata);
        Self {
            metadata,
            extensions,
            message,
            timeout,
        }
    }

    /// The call's own timeout (`tonic::Request::set_timeout`), if any: it
    /// bounds the whole call, every attempt included.
    ///
    /// ```
    /// let mut request = tonic::Request::new(());
    /// request.set_timeout(std::time::Duration::from_secs(1));
    /// let r = steadfast::__private::ReplayableRequest::<()>::new(request);
    /// assert_eq!(r.timeout(), Some(std::time::Duration::from_secs(1)));
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The request of the attempt about to run, or `DEADLINE_EXCEEDED`
    /// when the deadline has already passed (nothing is sent then).
    ///
    /// # Errors
    ///
    /// `DEADLINE_EXCEEDED` when the current deadline has passed.
    ///
    /// ```
    /// let r = steadfast::__private::ReplayableRequest::new(1u8);
    /// assert_eq!(*r.attempt().unwrap().get_ref(), 1);
    /// ```
    pub fn attempt(&self) -> Result<Request<M>, Status> {
        Ok(Request::from_parts(
            attempt_metadata(&self.metadata)?,
            self.extensions.clone(),
            self.message.clone(),
        ))
    }
}

/// A copy of the caller's `metadata` for one attempt, stamped with what is
/// left of the deadline and the attempt's number.
pub(crate) fn attempt_metadata(metadata: &MetadataMap) -> Result<MetadataMap, Status> {
    // Room for what goes in on the way out (`grpc-timeout`, the attempt
    // number, `te`, `content-type`): a clone is full to capacity, and
    // growing it costs more than copying into a larger one.
    let caller = metadata.as_ref();
    let mut headers = http::HeaderMap::with_capacity(caller.len() + 4);
    for (name, value) in caller {
        headers.append(name, value.clone());
    }
    stamp(&mut headers)?;
    Ok(MetadataMap::from_headers(headers))
}

/// The timeout a caller set on a request (`tonic::Request::set_timeout`):
/// its `grpc-timeout`, when that is well formed.
///
/// ```
/// let mut request = tonic::Request::new(());
/// assert_eq!(steadfast::__private::request_timeout(request.metadata()), None);
/// request.set_timeout(std::time::Duration::from_millis(20));
/// assert_eq!(steadfast::__private::request_timeout(request.metadata()), Some(std::time::Duration::from_millis(20)));
/// ```
pub fn request_timeout(metadata: &MetadataMap) -> Option<Duration> {
    metadata
        .as_ref()
        .get(&TIMEOUT_NAME)
        .and_then(|value| parse_timeout(value.as_bytes()).ok())
}

/// Stamps a request that goes out once (a streamed one): what is left of the
/// deadline as `grpc-timeout`, kept shorter where the request's own timeout
/// is, and the attempt's number.
///
/// # Errors
///
/// `DEADLINE_EXCEEDED` when the current deadline has passed.
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let request = steadfast::deadline::scope(Duration::from_millis(250), async {
///     steadfast::__private::propagate_deadline(tonic::Request::new(()))
/// })
/// .await
/// .unwrap()
/// .unwrap();
/// assert_eq!(request.metadata().get("grpc-timeout").unwrap(), "250000u");
/// # }
/// ```
pub fn propagate_deadline<T>(request: Request<T>) -> Result<Request<T>, Status> {
    let (metadata, extensions, message) = request.into_parts();
    let mut headers = metadata.into_headers();
    stamp(&mut headers)?;
    Ok(Request::from_parts(
        MetadataMap::from_headers(headers),
        extensions,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_of_the_callers_metadata_goes_out_in_order() {
        let mut request = Request::new(1u8);
        let metadata = request.metadata_mut();
        for value in ["a", "b", "c"] {
            metadata.append("x-tag", value.parse().unwrap());
        }
        metadata.insert("x-one", "1".parse().unwrap());
        let replayable = ReplayableRequest::<u8>::new(request);
        for _ in 0..2 {
            let attempt = replayable.attempt().unwrap();
            let tags: Vec<_> = attempt.metadata().get_all("x-tag").iter().collect();
            assert_eq!(tags, ["a", "b", "c"]);
            assert_eq!(attempt.metadata().get("x-one").unwrap(), "1");
            assert_eq!(attempt.metadata().len(), 4);
        }
    }
}
