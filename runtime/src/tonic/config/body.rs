//! Request bodies that can be sent again: a streamed body recorded as the
//! attempts send it (up to a limit; `tonic::replay`), a body ready whole,
//! and a recorded head chained to the rest of a body that outgrew the
//! limit.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as _, Frame};
use tonic::body::Body;
use tonic::Status;

use crate::tonic::prefixed::Prefixed;
use crate::tonic::replay::{self, Cursor, Record, Source};

/// Messages up to this size are copied when recorded and for each attempt
/// that sends them: the buffer tonic encoded the message into (8 KiB) is
/// then freed at once by the call's thread, which made it, and no buffer's
/// reference count is touched by the call and by the connection's thread
/// both; on a loaded two-worker runtime that costs more than the copies
/// (BENCHMARKS.md, section 9). Larger messages are shared.
const COPIED_UP_TO: usize = 4096;

/// A message for one attempt to send: a copy of its own when small.
fn own(data: &Bytes) -> Bytes {
    if data.len() <= COPIED_UP_TO {
        Bytes::copy_from_slice(data)
    } else {
        data.clone()
    }
}

/// The caller's request body as the replay record reads it: data frames
/// are kept (shared, copied when sent again: see [`own`]); trailers or an
/// error cannot be sent again.
pub(super) struct BodySource(Body);

impl Source for BodySource {
    type Item = Result<Frame<Bytes>, Status>;
    type Kept = Bytes;

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    /// A frame's bytes (at least one: empty frames count too).
    fn keep(item: &Self::Item) -> Option<(Bytes, usize)> {
        let data = item.as_ref().ok()?.data_ref()?;
        Some((data.clone(), data.len().max(1)))
    }

    fn again(kept: &Bytes) -> Self::Item {
        Ok(Frame::data(own(kept)))
    }

    /// hyper stops polling a body that says it has ended.
    fn ended(&self) -> bool {
        self.0.is_end_stream()
    }
}

/// The record of a request body, for sending it again.
#[derive(Debug)]
pub(super) enum Recording {
    /// A body read whole before it was sent (a unary request): nothing is
    /// shared, nothing locked.
    Whole(Chunks),
    /// What the attempts took of a streamed body, as they go.
    Streamed(Record<BodySource>),
}

impl std::fmt::Debug for BodySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodySource")
    }
}

impl Recording {
    /// Records `body` as attempts send it, up to `limit` bytes; returns the
    /// first attempt's body.
    pub(super) fn tee(body: Body, limit: usize) -> (Self, Body) {
        let record = replay::record(BodySource(body), limit);
        let first = match Cursor::start(&record) {
            Some(cursor) => Body::new(Sent(cursor)),
            // Unreachable: a new record is not spoiled.
            None => Body::empty(),
        };
        (Recording::Streamed(record), first)
    }

    /// The record of a body as [`Collected::ready`] left it, and the
    /// first attempt's body: a body read whole is kept before it is sent
    /// (so that an attempt whose connection broke before sending it can be
    /// made again), and each attempt sends a copy of its own; a streamed
    /// one is recorded as the first attempt sends it.
    pub(super) fn of(collected: Collected, limit: usize) -> (Self, Body) {
        match collected {
            Collected::Whole(mut chunks) => {
                // Small chunks copied: see [`COPIED_UP_TO`].
                for chunk in chunks.iter_mut() {
                    *chunk = own(chunk);
                }
                let first = Collected::body(&chunks);
                (Recording::Whole(chunks), first)
            }
            Collected::TooLarge(body) => Self::tee(body, limit),
        }
    }

    /// Whether another attempt may send the body from its start: all that
    /// was sent of it so far was kept (gRPC A6: the next attempt replays it,
    /// then sends the rest as it comes).
    pub(super) fn replayable(&self) -> bool {
        match self {
            Recording::Whole(_) => true,
            Recording::Streamed(record) => replay::replayable(record),
        }
    }

    /// The body again, from its start, when all that was sent was kept.
    pub(super) fn replay(&self) -> Option<Body> {
        match self {
            Recording::Whole(chunks) => Some(Collected::body(chunks)),
            Recording::Streamed(record) => Cursor::start(record).map(|c| Body::new(Sent(c))),
        }
    }

    /// The call is committed: nothing more of its body is kept.
    pub(super) fn commit(&self) {
        if let Recording::Streamed(record) = self {
            replay::commit(record);
        }
    }
}

/// One attempt's body: what was sent before, then the rest as it comes.
struct Sent(Cursor<BodySource>);

impl http_body::Body for Sent {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.0.poll_item(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end()
    }
}

/// A whole request body read before the first attempt (for hedging, whose
/// attempts all need it), or, when it outgrew the limit, what was read and
/// the rest, to be sent once.
pub(super) enum Collected {
    Whole(Chunks),
    TooLarge(Body),
}

/// The chunks of a body read whole. Most bodies (a unary request's
/// message) are one chunk, kept without a list: a list would cost every
/// call an allocation.
#[derive(Debug, Default)]
pub(super) enum Chunks {
    #[default]
    Empty,
    One(Bytes),
    Many(Vec<Bytes>),
}

impl Chunks {
    fn push(&mut self, data: Bytes) {
        *self = match std::mem::take(self) {
            Chunks::Empty => Chunks::One(data),
            Chunks::One(first) => Chunks::Many(vec![first, data]),
            Chunks::Many(mut all) => {
                all.push(data);
                Chunks::Many(all)
            }
        };
    }

    fn into_vec(self) -> Vec<Bytes> {
        match self {
            Chunks::Empty => Vec::new(),
            Chunks::One(one) => vec![one],
            Chunks::Many(all) => all,
        }
    }
}

impl std::ops::Deref for Chunks {
    type Target = [Bytes];

    fn deref(&self) -> &[Bytes] {
        match self {
            Chunks::Empty => &[],
            Chunks::One(one) => std::slice::from_ref(one),
            Chunks::Many(all) => all,
        }
    }
}

impl std::ops::DerefMut for Chunks {
    fn deref_mut(&mut self) -> &mut [Bytes] {
        match self {
            Chunks::Empty => &mut [],
            Chunks::One(one) => std::slice::from_mut(one),
            Chunks::Many(all) => all,
        }
    }
}

impl Collected {
    /// What of `body` is ready now, without waiting: all of it, when it
    /// ends within `limit` bytes (a unary request, or a stream whose
    /// messages were all ready), or what was read and the rest
    /// (`TooLarge`, also for a body that would have to be waited for: a
    /// stream whose requests may depend on its responses).
    pub(super) fn ready(mut body: Body, limit: usize) -> Self {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut chunks = Chunks::Empty;
        let mut size = 0usize;
        loop {
            if body.is_end_stream() {
                break;
            }
            let frame = match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Pending => return Self::too_large(chunks, None, body),
                Poll::Ready(None) => break,
                Poll::Ready(Some(frame)) => frame,
            };
            // Past the limit, trailers or an error: sent once, as they came.
            match frame.map(Frame::into_data) {
                Ok(Ok(data)) => {
                    size = size.saturating_add(data.len());
                    chunks.push(data);
                    if size > limit {
                        return Self::too_large(chunks, None, body);
                    }
                }
                Ok(Err(frame)) => return Self::too_large(chunks, Some(Ok(frame)), body),
                Err(status) => return Self::too_large(chunks, Some(Err(status)), body),
            }
        }
        Collected::Whole(chunks)
    }

    /// The chunks read, then `last` (a frame that was not data), then the
    /// rest of the body: to be sent once.
    fn too_large(chunks: Chunks, last: Option<Result<Frame<Bytes>, Status>>, rest: Body) -> Self {
        let mut head: VecDeque<_> = chunks
            .into_vec()
            .into_iter()
            .map(|data| Ok(Frame::data(data)))
            .collect();
        head.extend(last);
        Collected::TooLarge(Body::new(Prefixed::new(head, Some(rest))))
    }

    /// The body to send once: the chunks read whole (small ones copied, as
    /// for every attempt: see [`COPIED_UP_TO`]), or what was read and the
    /// rest.
    pub(super) fn into_body(self) -> Body {
        match self {
            Collected::Whole(chunks) => Self::body(&chunks),
            Collected::TooLarge(body) => body,
        }
    }

    /// A body of the chunks.
    pub(super) fn body(chunks: &[Bytes]) -> Body {
        Body::new(match chunks {
            [one] => Replay::One(Some(own(one))),
            _ => Replay::Many(chunks.iter().map(own).collect()),
        })
    }
}

/// Recorded chunks sent again. One chunk (a unary request's message) needs
/// no queue.
enum Replay {
    One(Option<Bytes>),
    Many(VecDeque<Bytes>),
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let next = match &mut *self {
            Replay::One(one) => one.take(),
            Replay::Many(chunks) => chunks.pop_front(),
        };
        Poll::Ready(next.map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Replay::One(one) => one.is_none(),
            Replay::Many(chunks) => chunks.is_empty(),
        }
    }

    // No `size_hint`: an exact one makes hyper send `content-length`, which
    // a gRPC request does not carry (tonic's client sends none); both ends
    // would pay for the header on every attempt.
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of `frames`, then its end; `Pending` once first when `wait`.
    struct Scripted {
        frames: VecDeque<Result<Frame<Bytes>, Status>>,
        wait: bool,
    }

    impl http_body::Body for Scripted {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            if std::mem::take(&mut self.wait) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(self.frames.pop_front())
        }
    }

    fn body(frames: Vec<Result<Frame<Bytes>, Status>>, wait: bool) -> Body {
        Body::new(Scripted {
            frames: frames.into(),
            wait,
        })
    }

    fn data(s: &'static str) -> Result<Frame<Bytes>, Status> {
        Ok(Frame::data(Bytes::from_static(s.as_bytes())))
    }

    /// Every frame of `body`, as data or a marker.
    fn drain(mut body: Body) -> Vec<String> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(None) => return out,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => out.push(String::from_utf8_lossy(&data).into_owned()),
                    Err(_) => out.push("<trailers>".to_owned()),
                },
                Poll::Ready(Some(Err(status))) => out.push(format!("<{}>", status.message())),
                Poll::Pending => out.push("<pending>".to_owned()),
            }
        }
    }

    #[test]
    fn chunks_keep_their_order_and_one_needs_no_list() {
        let mut chunks = Chunks::default();
        assert!(chunks.is_empty());
        chunks.push(Bytes::from_static(b"a"));
        assert!(matches!(chunks, Chunks::One(_)));
        chunks.push(Bytes::from_static(b"bc"));
        chunks.push(Bytes::from_static(b"def"));
        assert_eq!(&*chunks, &[&b"a"[..], b"bc", b"def"]);
        chunks[0] = Bytes::from_static(b"z");
        assert_eq!(chunks.into_vec(), [&b"z"[..], b"bc", b"def"]);
    }

    #[test]
    fn a_ready_body_within_the_limit_is_whole_and_replays_as_it_was() {
        for chunks in [vec!["one"], vec!["a", "bc", "def"], vec![]] {
            let frames = chunks.iter().map(|c| data(c)).collect();
            let Collected::Whole(whole) = Collected::ready(body(frames, false), 100) else {
                panic!("{chunks:?}: not whole");
            };
            let replay = Collected::body(&whole);
            // Unknown, as tonic's own request bodies say: no `content-length`
            // (tonic's `Body::new` makes an empty body its own empty one).
            if !chunks.is_empty() {
                assert_eq!(replay.size_hint().exact(), None, "{chunks:?}");
            }
            assert_eq!(replay.is_end_stream(), chunks.is_empty(), "{chunks:?}");
            assert_eq!(drain(replay), chunks, "{chunks:?}");
            let (recording, first) = Recording::of(Collected::Whole(whole), 100);
            assert_eq!(drain(first), chunks, "{chunks:?}");
            assert!(recording.replayable());
            let again = recording.replay().expect("a whole recording replays");
            assert_eq!(drain(again), chunks, "{chunks:?}");
        }
    }

    #[test]
    fn collected_bodies_are_sent_once_as_they_were_read() {
        for chunks in [vec!["one"], vec!["a", "bc"]] {
            let frames = chunks.iter().map(|c| data(c)).collect();
            let sent = Collected::ready(body(frames, false), 100).into_body();
            assert_eq!(sent.size_hint().exact(), None, "{chunks:?}");
            assert_eq!(drain(sent), chunks);
        }
        // One chunk ends the stream with it.
        let mut one = Collected::ready(body(vec![data("m")], false), 100).into_body();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(matches!(
            Pin::new(&mut one).poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(one.is_end_stream());
        // Past the limit: what was read, then the rest.
        let large = vec![data("12345"), data("678")];
        let sent = Collected::ready(body(large, false), 4).into_body();
        assert_eq!(drain(sent), ["12345", "678"]);
    }

    /// The first frame of `body`'s data, polled once.
    fn first_data(mut body: Body) -> Bytes {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
            _ => Bytes::new(),
        }
    }

    #[test]
    fn small_messages_are_copied_for_the_record_and_each_attempt_large_ones_shared() {
        let small = Bytes::from(vec![7u8; 32]);
        let large = Bytes::from(vec![7u8; COPIED_UP_TO + 1]);
        for (message, copied) in [(small, true), (large, false)] {
            let whole = Collected::Whole(Chunks::One(message.clone()));
            let (recording, first) = Recording::of(whole, usize::MAX);
            let first = first_data(first);
            let replayed = first_data(recording.replay().expect("whole"));
            for sent in [&first, &replayed] {
                assert_eq!(*sent, message);
                assert_eq!(sent.as_ptr() != message.as_ptr(), copied);
            }
            let again = first_data(Collected::body(std::slice::from_ref(&message)));
            assert_eq!(again.as_ptr() != message.as_ptr(), copied);
        }
    }

    #[test]
    fn a_replayed_chunk_ends_the_stream_with_it() {
        let mut replay = Collected::body(&[Bytes::from_static(b"m")]);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(!replay.is_end_stream());
        assert!(matches!(
            Pin::new(&mut replay).poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        // hyper sets END_STREAM on the last DATA frame when the body says so.
        assert!(replay.is_end_stream());
    }

    #[test]
    fn past_the_limit_trailers_errors_and_waits_are_sent_once_in_order() {
        type Frames = Vec<Result<Frame<Bytes>, Status>>;
        let cases: Vec<(Frames, bool, Vec<&str>)> = vec![
            (
                vec![data("12345"), data("678")],
                false,
                vec!["12345", "678"],
            ),
            (
                vec![
                    data("a"),
                    Ok(Frame::trailers(http::HeaderMap::new())),
                    data("b"),
                ],
                false,
                vec!["a", "<trailers>", "b"],
            ),
            (
                vec![data("a"), Err(Status::internal("broken")), data("b")],
                false,
                vec!["a", "<broken>", "b"],
            ),
            // Not there yet: sent as it comes, nothing read ahead.
            (vec![data("a")], true, vec!["a"]),
        ];
        for (frames, wait, expected) in cases {
            let Collected::TooLarge(rest) = Collected::ready(body(frames, wait), 4) else {
                panic!("{expected:?}: read whole");
            };
            assert_eq!(drain(rest), expected);
        }
    }
}
