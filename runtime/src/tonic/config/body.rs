//! Request bodies that can be sent again: a tee that records what the first
//! attempt sends (up to a limit), the replay of a complete record, and a
//! recorded head chained to the rest of a body that outgrew the limit.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use tonic::body::Body;
use tonic::Status;

/// What the first attempt sent, shared by its body and the call.
#[derive(Debug)]
struct Record {
    chunks: Vec<Bytes>,
    size: usize,
    limit: usize,
    /// The body ended, all of it recorded.
    ended: bool,
    /// More than `limit`, trailers or an error: it cannot be sent again.
    spoiled: bool,
}

impl Record {
    fn push(&mut self, data: &Bytes) {
        if self.spoiled {
            return;
        }
        match self.size.checked_add(data.len()) {
            Some(size) if size <= self.limit => {
                self.size = size;
                self.chunks.push(data.clone());
            }
            _ => self.spoil(),
        }
    }

    fn spoil(&mut self) {
        self.spoiled = true;
        self.chunks = Vec::new();
    }
}

/// The record of a request body, for sending it again.
#[derive(Debug, Clone)]
pub(super) struct Recording(Arc<Mutex<Record>>);

impl Recording {
    /// Records `body` as it is sent, up to `limit` bytes; returns the body
    /// to send.
    pub(super) fn tee(body: Body, limit: usize) -> (Self, Body) {
        let ended = body.is_end_stream();
        let recording = Recording(Arc::new(Mutex::new(Record {
            chunks: Vec::new(),
            size: 0,
            limit,
            ended,
            spoiled: false,
        })));
        let tee = Tee {
            body,
            record: recording.clone(),
        };
        (recording, Body::new(tee))
    }

    /// The record of a body read whole already.
    pub(super) fn whole(chunks: Vec<Bytes>) -> Self {
        let size = chunks.iter().map(Bytes::len).sum();
        Recording(Arc::new(Mutex::new(Record {
            chunks,
            size,
            limit: size,
            ended: true,
            spoiled: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // Nothing panics while holding it; a poisoned record is still whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether all of the body was sent and recorded.
    pub(super) fn replayable(&self) -> bool {
        let record = self.lock();
        record.ended && !record.spoiled
    }

    /// The body again, when all of it was sent and recorded.
    pub(super) fn replay(&self) -> Option<Body> {
        let record = self.lock();
        (record.ended && !record.spoiled).then(|| Collected::body(&record.chunks))
    }
}

/// The body sent by the first attempt, recording as it goes.
struct Tee {
    body: Body,
    record: Recording,
}

impl http_body::Body for Tee {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        let ended = self.body.is_end_stream();
        let mut record = self.record.lock();
        match &frame {
            Some(Ok(frame)) => match frame.data_ref() {
                Some(data) => record.push(data),
                // Trailers: gRPC requests have none, and they are not replayed.
                None => record.spoil(),
            },
            Some(Err(_)) => record.spoil(),
            None => record.ended = true,
        }
        // hyper stops polling a body that says it has ended.
        record.ended |= ended;
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A whole request body read before the first attempt (for hedging, whose
/// attempts all need it), or, when it outgrew the limit, what was read and
/// the rest, to be sent once.
pub(super) enum Collected {
    Whole(Vec<Bytes>),
    TooLarge(Body),
}

impl Collected {
    /// What of `body` is ready now, without waiting: all of it, when it
    /// ends within `limit` bytes (a unary request), or what was read and
    /// the rest (`TooLarge`, also for a body that would have to be waited
    /// for: a stream).
    pub(super) fn ready(body: Body, limit: usize) -> Self {
        let mut read = std::pin::pin!(Self::read(body, limit, true));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match read.as_mut().poll(&mut cx) {
            Poll::Ready(collected) => collected,
            // `read` with `stop_at_pending` never waits.
            Poll::Pending => Collected::TooLarge(Body::empty()),
        }
    }

    /// Reads `body` to its end, or until more than `limit` bytes (or, with
    /// `stop_at_pending`, until a frame is not ready).
    pub(super) async fn read(mut body: Body, limit: usize, stop_at_pending: bool) -> Self {
        let mut head = VecDeque::new();
        let mut size = 0usize;
        loop {
            if body.is_end_stream() {
                break;
            }
            let next = std::future::poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
                Poll::Pending if stop_at_pending => Poll::Ready(Err(())),
                Poll::Pending => Poll::Pending,
                Poll::Ready(frame) => Poll::Ready(Ok(frame)),
            })
            .await;
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(()) => return Collected::TooLarge(Body::new(Chain { head, rest: body })),
            };
            let data = frame
                .as_ref()
                .ok()
                .and_then(Frame::data_ref)
                .map(Bytes::len);
            size = size.saturating_add(data.unwrap_or(0));
            head.push_back(frame);
            // Past the limit, trailers or an error: sent once, as they came.
            if size > limit || data.is_none() {
                return Collected::TooLarge(Body::new(Chain { head, rest: body }));
            }
        }
        let chunks = head
            .into_iter()
            .filter_map(|frame| frame.ok().and_then(|f| f.into_data().ok()))
            .collect();
        Collected::Whole(chunks)
    }

    /// A body of the chunks.
    pub(super) fn body(chunks: &[Bytes]) -> Body {
        Body::new(Chain {
            head: chunks
                .iter()
                .map(|data| Ok(Frame::data(data.clone())))
                .collect(),
            rest: Body::empty(),
        })
    }
}

/// Frames already read, then the rest of the body.
struct Chain {
    head: VecDeque<Result<Frame<Bytes>, Status>>,
    rest: Body,
}

impl http_body::Body for Chain {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.head.pop_front() {
            return Poll::Ready(Some(frame));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if !self.rest.is_end_stream() {
            return SizeHint::default();
        }
        let head = self.head.iter();
        let size = head
            .filter_map(|frame| frame.as_ref().ok().and_then(Frame::data_ref))
            .map(|data| data.len() as u64)
            .sum();
        SizeHint::with_exact(size)
    }
}
