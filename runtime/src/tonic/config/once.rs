//! A call to a method whose policy is a timeout only: one attempt, the
//! caller's request itself, sent when the layer is called.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tonic::body::Body;

use super::attempt::{result_code, Failure, Sent};
use super::body::Collected;
use super::call::{bounded_answer, call_timeout, Answer, Bounded};
use super::spans;
use super::BoxError;
use crate::tonic::client::stamp;
use crate::tonic::guard::Guarded;
use crate::tonic::metrics::{AttemptStart, CallStats, Target};
use crate::trace::{InSpan, Span};

pin_project_lite::pin_project! {
    /// A timeout-only method's call. Its one attempt is sent when the
    /// layer is called, on the service the caller polled ready: no clone of
    /// the service for a future to own, nothing kept for an attempt that
    /// will never be made, no box. A body ready whole within the limit (a
    /// unary request) goes as one chunk that ends the stream, as a retried
    /// call's does (tonic's own body sends a second, empty DATA frame).
    pub(super) struct Once<F, RB> {
        #[pin]
        call: Bounded<InSpan<Sent<F, RB>>>,
        span: Span,
        attempt_span: Span,
        stats: CallStats,
        // The attempt's record until it ends; cancelled if the call's
        // future is dropped first.
        attempt: Option<AttemptStart>,
    }

    impl<F, RB> PinnedDrop for Once<F, RB> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(start) = this.attempt.take() {
                this.stats.cancel_attempt(start);
            }
        }
    }
}

impl<F, RB, E> Once<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    /// Sends `request` on `service` (polled ready by the caller) in its
    /// attempt's span and inside the call's deadline, stamped with what is
    /// left of it; or refuses it there, when the deadline has passed.
    pub(super) fn send<S>(
        service: &mut S,
        timeout: Option<Duration>,
        enforced_below: bool,
        request: Request<Body>,
        limit: usize,
    ) -> Self
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>, Error = E, Future = F>,
    {
        let timeout = call_timeout(timeout, &request);
        let path = request.uri().path();
        let span = spans::call(path);
        let stats = CallStats::start_owned(path.trim_start_matches('/'), false, &Target::OTHER);
        let attempt_span = spans::attempt(&span, path, 0);
        let (parts, body) = request.into_parts();
        let mut request = Request::from_parts(parts, Collected::ready(body, limit).into_body());
        let attempt = Some(stats.start_attempt());
        let call = Bounded::sent(timeout, enforced_below, || {
            let sent = {
                let _entered = crate::trace::enter(&attempt_span);
                match stamp(request.headers_mut()) {
                    Ok(()) => Sent::Called {
                        future: service.call(request),
                    },
                    Err(status) => Sent::Refused {
                        failure: Some(Failure::status(status)),
                    },
                }
            };
            crate::trace::in_span(Clone::clone(&attempt_span), sent)
        });
        Self {
            call,
            span,
            attempt_span,
            stats,
            attempt,
        }
    }
}

impl<F, RB, E> Future for Once<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    type Output = Response<Guarded<RB>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (result, until) = std::task::ready!(this.call.poll_bounded(cx));
        let start = this.attempt.take();
        let answer = match result {
            Some(result) => {
                let response = match &result {
                    Ok(response) => response,
                    Err(failure) => &failure.response,
                };
                spans::record(this.attempt_span, response);
                if let Some(start) = start {
                    this.stats.end_attempt(start, result_code(&result));
                }
                Some(Answer::of(result))
            }
            None => {
                if let Some(start) = start {
                    this.stats.cancel_attempt(start);
                }
                None
            }
        };
        let answer = bounded_answer(answer, until);
        spans::record(this.span, &answer.response);
        this.stats.finish_code(answer.code);
        Poll::Ready(answer.response)
    }
}
