//! A call's first attempt, sent when the layer is called: the whole of a
//! call to a method whose policy is a timeout only, and the first attempt
//! of one that retries (`retry::Retried`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tokio::time::Instant;
use tonic::body::Body;

use super::attempt::{result_code, Failure, Sent};
use super::call::{bounded_answer, call_timeout, Answer, Bounded, CallRecord};
use super::spans;
use super::BoxError;
use crate::retry::Attempt as Numbered;
use crate::tonic::client::stamp;
use crate::tonic::guard::Guarded;
use crate::tonic::metrics::AttemptStart;
use crate::trace::{InSpan, Span};

/// What an attempt gives: its response once committed, or its failure.
pub(super) type AttemptResult<RB> = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

pin_project_lite::pin_project! {
    /// A call whose first attempt was sent when the layer was called, on
    /// the service the caller polled ready: no clone of the service for a
    /// future to own, no box. For a timeout-only method that attempt is the
    /// call, and nothing is kept for an attempt that will never be made.
    /// A body ready whole within the limit (a unary request) goes as one
    /// chunk that ends the stream, as every attempt's does (tonic's own body
    /// sends a second, empty DATA frame).
    pub(super) struct Once<F, RB> {
        #[pin]
        call: Bounded<InSpan<Numbered<Sent<F, RB>>>>,
        attempt_span: Span,
        // The attempt's record until it ends; cancelled if the call's
        // future is dropped first.
        attempt: Option<AttemptStart>,
        // The call's span and metrics, until they are finished here or
        // taken by the attempts after this one.
        record: Option<CallRecord>,
    }

    impl<F, RB> PinnedDrop for Once<F, RB> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(start), Some(record)) = (this.attempt.take(), this.record.as_ref()) {
                record.stats.cancel_attempt(start);
            }
        }
    }
}

impl<F, RB, E> Once<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    /// Sends `request` (its body as it is to go) on `service` (polled
    /// ready by the caller) as the attempt that `previous` attempts came
    /// before, in its attempt's span and inside the call's deadline,
    /// stamped with what is left of it; or refuses it there, when the
    /// deadline has passed.
    pub(super) fn send<S>(
        service: &mut S,
        timeout: Option<Duration>,
        enforced_below: bool,
        mut request: Request<Body>,
        previous: u32,
    ) -> Self
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>, Error = E, Future = F>,
    {
        let timeout = call_timeout(timeout, &request);
        let path = request.uri().path();
        let record = CallRecord::start(path, false);
        let attempt_span = spans::attempt(&record.span, path, previous);
        let attempt = Some(record.stats.start_attempt());
        let call = Bounded::sent(timeout, enforced_below, || {
            let sent = crate::retry::numbered(previous, || {
                let _entered = crate::trace::enter(&attempt_span);
                match stamp(request.headers_mut()) {
                    Ok(()) => Sent::Called {
                        future: service.call(request),
                    },
                    Err(status) => Sent::refused(status),
                }
            });
            // Polled as that attempt too: what it runs reads its number,
            // and a retry loop after it reads whether it was committed.
            let numbered = crate::retry::attempt(previous, false, sent);
            crate::trace::in_span(Clone::clone(&attempt_span), numbered)
        });
        Self {
            call,
            attempt_span,
            attempt,
            record: Some(record),
        }
    }

    /// The attempt's result, recorded on its span and in its metrics, or
    /// `None` when the call's timeout ran out first; with the deadline the
    /// call runs under, when it has one.
    pub(super) fn poll_attempt(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<(Option<AttemptResult<RB>>, Option<Instant>)> {
        let this = self.project();
        let (result, until) = std::task::ready!(this.call.poll_bounded(cx));
        let start = this.attempt.take();
        let stats = this.record.as_ref().map(|record| &record.stats);
        match &result {
            Some(result) => {
                let response = match result {
                    Ok(response) => response,
                    Err(failure) => &failure.response,
                };
                spans::record(this.attempt_span, response);
                if let (Some(start), Some(stats)) = (start, stats) {
                    stats.end_attempt(start, result_code(result));
                }
            }
            None => {
                if let (Some(start), Some(stats)) = (start, stats) {
                    stats.cancel_attempt(start);
                }
            }
        }
        Poll::Ready((result, until))
    }

    /// The call's end: what the caller gets of `answer` (`None`: the
    /// timeout ran out first) under the deadline `until`, recorded on the
    /// call's span and in its metrics.
    pub(super) fn finish(
        self: Pin<&mut Self>,
        answer: Option<Answer<RB>>,
        until: Option<Instant>,
    ) -> Response<Guarded<RB>> {
        let answer = bounded_answer(answer, until);
        if let Some(record) = self.project().record.take() {
            record.finish(&answer);
        }
        answer.response
    }

    /// The call's span and metrics, for the attempts after this one to go
    /// on with (and finish).
    pub(super) fn take_record(self: Pin<&mut Self>) -> Option<CallRecord> {
        self.project().record.take()
    }
}

impl<F, RB, E> Future for Once<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    type Output = Response<Guarded<RB>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (result, until) = std::task::ready!(self.as_mut().poll_attempt(cx));
        Poll::Ready(self.finish(result.map(Answer::of), until))
    }
}
