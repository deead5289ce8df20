//! A body whose first frames were already read: they come again, in order,
//! then the rest of the body. The unary client reads a response this way
//! before it hands one it cannot decode itself to tonic; the service-config
//! layer reads a request this way before it finds it too large to keep.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};

/// `head` (frames or an error, as they were read), then `rest`, if the
/// body had more. No `size_hint`: an exact one makes hyper send
/// `content-length`, which a gRPC message does not carry (tonic sends
/// none); both ends would pay for the header.
pub(crate) struct Prefixed<B: HttpBody> {
    head: VecDeque<Result<Frame<Bytes>, B::Error>>,
    rest: Option<B>,
}

impl<B: HttpBody> Prefixed<B> {
    /// The frames read (`head`), then the body they were read from, unless
    /// it ended (`None`).
    pub(crate) fn new(
        head: impl Into<VecDeque<Result<Frame<Bytes>, B::Error>>>,
        rest: Option<B>,
    ) -> Self {
        Self {
            head: head.into(),
            rest,
        }
    }
}

// Nothing in it is pinned: the rest is polled through `Pin::new`.
impl<B: HttpBody + Unpin> Unpin for Prefixed<B> {}

impl<B> HttpBody for Prefixed<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.head.pop_front() {
            return Poll::Ready(Some(frame));
        }
        match this.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty() && self.rest.as_ref().is_none_or(HttpBody::is_end_stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of `frames`, in order.
    struct Frames(VecDeque<Result<Frame<Bytes>, &'static str>>);

    impl HttpBody for Frames {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
            Poll::Ready(self.0.pop_front())
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_empty()
        }
    }

    fn data(s: &'static str) -> Result<Frame<Bytes>, &'static str> {
        Ok(Frame::data(Bytes::from_static(s.as_bytes())))
    }

    /// Each frame as text (`trailers` for trailers), errors as themselves.
    fn drain(mut body: Prefixed<Frames>) -> Vec<Result<String, &'static str>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            out.push(frame.map(|frame| match frame.into_data() {
                Ok(data) => String::from_utf8_lossy(&data).into_owned(),
                Err(_) => "trailers".to_owned(),
            }));
        }
        out
    }

    #[test]
    fn the_head_comes_first_then_the_rest() {
        let rest = Frames(vec![data("c"), Err("broken")].into());
        let body = Prefixed::new(vec![data("a"), data("b")], Some(rest));
        assert!(!body.is_end_stream());
        assert_eq!(
            drain(body),
            [
                Ok("a".into()),
                Ok("b".into()),
                Ok("c".into()),
                Err("broken")
            ]
        );
    }

    #[test]
    fn an_error_read_stays_in_place_and_an_ended_body_adds_nothing() {
        let trailers = Ok(Frame::trailers(http::HeaderMap::new()));
        let body = Prefixed::<Frames>::new(vec![data("a"), Err("reset"), trailers], None);
        assert_eq!(
            drain(body),
            [Ok("a".into()), Err("reset"), Ok("trailers".into())]
        );
        let ended = Prefixed::new(Vec::new(), Some(Frames(VecDeque::new())));
        assert!(ended.is_end_stream());
        assert!(drain(ended).is_empty());
        assert!(Prefixed::<Frames>::new(Vec::new(), None).is_end_stream());
    }
}
