//! Streamed requests that go out more than once, as gRPC A6 retries a
//! client-streaming or bidi call: the messages are recorded as the first
//! attempt sends them (up to a limit), a retry sends them again and goes on
//! with the caller's stream, and the call is committed once a response
//! starts.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::metadata::MetadataMap;
use ::tonic::{Extensions, IntoStreamingRequest, Request, Status};
use futures_core::Stream;
use tonic_prost::prost::Message;

use super::replay::{self, Cursor, Record, Source};
use super::request::{attempt_metadata, request_timeout};

/// How much of a streamed request is kept for a retry: 256 KiB, as
/// grpc-go's default retry buffer and `ServiceConfigLayer`'s.
pub(crate) const DEFAULT_BUFFER_LIMIT: usize = 256 * 1024;

/// The caller's message stream.
struct Messages<M>(Pin<Box<dyn Stream<Item = M> + Send>>);

impl<M: Message + Clone + Send> Source for Messages<M> {
    type Item = M;
    type Kept = M;

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.0.as_mut().poll_next(cx)
    }

    /// A message's size as it goes on the wire: its 5-byte gRPC prefix
    /// and its encoding (so that empty messages count too).
    fn keep(message: &M) -> Option<(M, usize)> {
        Some((message.clone(), message.encoded_len().saturating_add(5)))
    }

    fn again(kept: &M) -> M {
        kept.clone()
    }
}

/// A streamed request taken apart once and sent by each attempt of a
/// retried call: the caller's metadata and extensions go out with every
/// attempt, stamped with what is left of the deadline and the attempt's
/// number; the messages are recorded as they are sent (up to 256 KiB of
/// them, encoded) and sent again by the next attempt, which then goes on
/// with the caller's stream.
///
/// What the generated clients' client-streaming and bidi methods use.
///
/// ```
/// use steadfast::__private::ReplayableStream;
/// use tonic::codegen::tokio_stream::{self, StreamExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let messages = tokio_stream::iter([1u32, 2, 3]);
/// let replayable = ReplayableStream::new(tonic::Request::new(messages));
/// let first: Vec<u32> = replayable.attempt().unwrap().into_inner().take(2).collect().await;
/// assert_eq!(first, [1, 2]);
/// // The next attempt sends what was sent, then the rest.
/// let second: Vec<u32> = replayable.attempt().unwrap().into_inner().collect().await;
/// assert_eq!(second, [1, 2, 3]);
/// # }
/// ```
pub struct ReplayableStream<M: Message + Clone + Send + 'static> {
    metadata: MetadataMap,
    extensions: Extensions,
    timeout: Option<Duration>,
    record: Record<Messages<M>>,
}

impl<M: Message + Clone + Send + 'static> std::fmt::Debug for ReplayableStream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayableStream")
            .field("metadata", &self.metadata)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<M: Message + Clone + Send + 'static> ReplayableStream<M> {
    /// Takes `request` (a stream of messages, or a `tonic::Request` of one
    /// with metadata, extensions and perhaps a timeout) apart.
    ///
    /// ```
    /// use tonic::codegen::tokio_stream;
    /// let r = steadfast::__private::ReplayableStream::new(tokio_stream::iter([1u32]));
    /// assert_eq!(r.timeout(), None);
    /// ```
    pub fn new(request: impl IntoStreamingRequest<Message = M>) -> Self {
        Self::with_limit(request, DEFAULT_BUFFER_LIMIT)
    }

    /// As [`new`](Self::new), keeping up to `limit` bytes of encoded
    /// messages for a retry.
    ///
    /// ```
    /// use tonic::codegen::tokio_stream;
    /// let r = steadfast::__private::ReplayableStream::with_limit(tokio_stream::iter([1u32]), 0);
    /// assert!(r.attempt().is_ok());
    /// ```
    pub fn with_limit(request: impl IntoStreamingRequest<Message = M>, limit: usize) -> Self {
        let (metadata, extensions, stream) = request.into_streaming_request().into_parts();
        let timeout = request_timeout(&metadata);
        let stream: Pin<Box<dyn Stream<Item = M> + Send>> = Box::pin(stream);
        Self {
            metadata,
            extensions,
            timeout,
            record: replay::record(Messages(stream), limit),
        }
    }

    /// The call's own timeout (`tonic::Request::set_timeout`), if any: it
    /// bounds the whole call, every attempt included.
    ///
    /// ```
    /// use tonic::codegen::tokio_stream;
    /// let mut request = tonic::Request::new(tokio_stream::iter([1u32]));
    /// request.set_timeout(std::time::Duration::from_secs(1));
    /// let r = steadfast::__private::ReplayableStream::new(request);
    /// assert_eq!(r.timeout(), Some(std::time::Duration::from_secs(1)));
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The request of the attempt about to run: the messages from the
    /// start, as a stream.
    ///
    /// # Errors
    ///
    /// `DEADLINE_EXCEEDED` when the current deadline has passed;
    /// `INTERNAL` for an attempt after the call was committed (never made
    /// by a retry loop: [`settle`](Self::settle) ends it).
    ///
    /// ```
    /// use tonic::codegen::tokio_stream;
    /// let r = steadfast::__private::ReplayableStream::new(tokio_stream::iter([1u32]));
    /// let _ = r.settle(Ok::<(), tonic::Status>(()));
    /// assert_eq!(r.attempt().unwrap_err().code(), tonic::Code::Internal);
    /// ```
    pub fn attempt(&self) -> Result<Request<Replayed<M>>, Status> {
        let Some(cursor) = Cursor::start(&self.record) else {
            return Err(Status::internal(
                "streamed request sent again after its call was committed",
            ));
        };
        Ok(Request::from_parts(
            attempt_metadata(&self.metadata)?,
            self.extensions.clone(),
            Replayed(cursor),
        ))
    }

    /// Ends an attempt with its `result`. A response (headers came) commits
    /// the call: nothing more is recorded, and the rest of the stream goes
    /// as it comes. A failure after more was sent than the record keeps
    /// cannot be sent again: it is committed too, and the retry loop
    /// around returns it.
    ///
    /// # Errors
    ///
    /// `result`'s error.
    ///
    /// ```
    /// use tonic::codegen::tokio_stream;
    /// let r = steadfast::__private::ReplayableStream::new(tokio_stream::iter([1u32]));
    /// assert_eq!(r.settle(Ok::<u8, tonic::Status>(7)).unwrap(), 7);
    /// ```
    pub fn settle<T>(&self, result: Result<T, Status>) -> Result<T, Status> {
        match &result {
            Ok(_) => replay::commit(&self.record),
            Err(_) if !replay::replayable(&self.record) => crate::retry::attempt::commit(),
            Err(_) => {}
        }
        result
    }
}

/// One attempt's messages: those sent before, then the rest of the
/// caller's stream.
pub struct Replayed<M: Message + Clone + Send + 'static>(Cursor<Messages<M>>);

impl<M: Message + Clone + Send + 'static> std::fmt::Debug for Replayed<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replayed")
    }
}

impl<M: Message + Clone + Send + 'static> Stream for Replayed<M> {
    type Item = M;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.0.poll_item(cx)
    }
}

#[cfg(test)]
mod tests {
    use ::tonic::codegen::tokio_stream::{self, StreamExt};

    use super::*;

    #[tokio::test]
    async fn empty_messages_count_toward_the_limit_by_their_prefix() {
        // Twenty empty messages: 0 bytes encoded, 5 on the wire each.
        let replayable = ReplayableStream::with_limit(tokio_stream::iter([0u32; 20]), 50);
        let sent: Vec<u32> = replayable.attempt().unwrap().into_inner().collect().await;
        assert_eq!(sent.len(), 20);
        assert!(!replay::replayable(&replayable.record), "100 bytes > 50");
        let small = ReplayableStream::with_limit(tokio_stream::iter([0u32; 10]), 50);
        let _: Vec<u32> = small.attempt().unwrap().into_inner().collect().await;
        let again: Vec<u32> = small.attempt().unwrap().into_inner().collect().await;
        assert_eq!(again.len(), 10, "50 bytes: kept whole");
    }
}
