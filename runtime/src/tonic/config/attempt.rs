//! One attempt: sent once the service is ready, judged by its response
//! headers. A call is committed when response headers without
//! `grpc-status` arrive (gRPC A6), so trailers-only failures, and HTTP
//! errors without gRPC headers (mapped as the gRPC spec says), are retried.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;
use tonic::{Code, Status};

use super::call::Answer;
use super::outcome::{code_of, judge, Outcome};
use super::request::{CallerParts, FromTemplate, MakeRequest, Template};
use super::spans;
use super::BoxError;
use super::CodeSet;
use crate::retry::Verdict;
use crate::tonic::guard::{guard_response, Guarded};
use crate::tonic::metrics::{AttemptStats, CallStats};
use crate::tonic::rule;
use crate::tonic::{effective_code, Pushback};

/// An attempt that failed before its response was committed.
pub(super) struct Failure<RB> {
    pub(super) code: Code,
    pub(super) pushback: Pushback,
    /// What the caller gets if this is the last attempt.
    pub(super) response: Response<RB>,
}

impl<RB> Failure<Guarded<RB>> {
    pub(super) fn status(status: Status) -> Self {
        Self {
            code: effective_code(&status),
            pushback: Pushback::Absent,
            response: status.into_http(),
        }
    }

    /// The transport failed: the status tonic would make of the error.
    pub(super) fn transport(error: impl Into<BoxError>) -> Self {
        Self::status(Status::from_error(error.into()))
    }

    /// The one rule's verdict (`tonic::rule`): retried (or, for a hedge,
    /// not fatal) when its code is one of `codes` and no pushback said stop.
    pub(super) fn verdict(&self, codes: CodeSet) -> Verdict {
        rule::verdict(self.code, self.pushback, codes.contains(self.code))
    }
}

/// One attempt, in its `span`: sent on `service` once it is ready, with
/// the request `make` gives then, and judged by its response headers. The
/// service is lent, not given: the call's next attempt uses it again
/// (polled ready again), where a clone per attempt would cost a `Channel`
/// an allocation or two.
pub(super) fn attempt<'a, S, RB, M>(
    span: crate::trace::Span,
    stats: &'a CallStats,
    service: &'a mut S,
    make: M,
) -> Attempt<'a, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    let sending = crate::trace::in_span(Clone::clone(&span), Sending::Ready { service, make });
    Attempt {
        span,
        stats: Some(stats.attempt()),
        sending,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`attempt`], by hand: an `async fn` would keep its
    /// arguments beside the send it moves them into.
    pub(super) struct Attempt<'a, S, M, F> {
        span: crate::trace::Span,
        stats: Option<AttemptStats<'a>>,
        #[pin]
        sending: crate::trace::InSpan<Sending<'a, S, M, F>>,
    }
}

impl<S, RB, M> Future for Attempt<'_, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    type Output = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.sending.poll(cx));
        let response = match &result {
            Ok(response) => response,
            Err(failure) => &failure.response,
        };
        spans::record(this.span, response);
        if let Some(stats) = this.stats.take() {
            stats.end_code(result_code(&result));
        }
        Poll::Ready(result)
    }
}

pin_project_lite::pin_project! {
    /// An attempt's send, by hand: an `async fn` would store the service
    /// and the request twice, and every attempt's future is moved and lives
    /// in the call's boxed future (kept small: BENCHMARKS.md, section 9).
    #[project = SendingProj]
    pub(super) enum Sending<'a, S, M, F> {
        /// Waiting for the service to be ready.
        Ready { service: &'a mut S, make: M },
        /// Waiting for the response headers.
        Called { #[pin] future: F },
    }
}

impl<S, RB, M> Future for Sending<'_, S, M, S::Future>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    M: MakeRequest,
{
    type Output = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                SendingProj::Ready { service, make } => {
                    if let Err(error) = std::task::ready!(service.poll_ready(cx)) {
                        return Poll::Ready(Err(Failure::transport(error)));
                    }
                    let request = match make.make() {
                        Ok(request) => request,
                        Err(status) => return Poll::Ready(Err(Failure::status(status))),
                    };
                    let future = service.call(request);
                    self.set(Sending::Called { future });
                }
                SendingProj::Called { future } => {
                    return Poll::Ready(judged(std::task::ready!(future.poll(cx))));
                }
            }
        }
    }
}

/// What an attempt's service answered, judged by its response headers: a
/// failure unless committed (gRPC A6).
// A failure is a response too, as large as a success: what the futures
// around this return, inline.
#[allow(clippy::result_large_err)]
fn judged<RB, E: Into<BoxError>>(
    result: Result<Response<RB>, E>,
) -> Result<Response<Guarded<RB>>, Failure<Guarded<RB>>> {
    let response = result.map_err(Failure::transport)?;
    // Guarded first: a status tonic would panic on is judged as the
    // `INTERNAL` it becomes.
    let response = guard_response(response);
    match judge(response.status(), response.headers()) {
        Outcome::Committed => Ok(response),
        Outcome::Failed { code, pushback } => Err(Failure {
            code,
            pushback,
            response,
        }),
    }
}

pin_project_lite::pin_project! {
    /// An attempt sent when it was made (the service was ready), or refused
    /// before it touched the network: its response judged as [`Sending`]'s.
    /// A refusal keeps its status (boxed by tonic), not the response made
    /// of it: every call's future is as large as this one's largest state.
    #[project = SentProj]
    pub(super) enum Sent<F, RB> {
        Refused { status: Option<Status>, body: std::marker::PhantomData<fn() -> RB> },
        Called { #[pin] future: F },
    }
}

impl<F, RB> Sent<F, RB> {
    /// An attempt refused with `status`.
    pub(super) fn refused(status: Status) -> Self {
        Sent::Refused {
            status: Some(status),
            body: std::marker::PhantomData,
        }
    }
}

impl<F, RB, E> Future for Sent<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            SentProj::Called { future } => Poll::Ready(judged(std::task::ready!(future.poll(cx)))),
            SentProj::Refused { status, .. } => {
                let status = status.take().unwrap_or_else(|| {
                    // Unreachable: polled again after it was ready.
                    Status::internal("attempt polled after it ended")
                });
                Poll::Ready(Err(Failure::status(status)))
            }
        }
    }
}

/// What each attempt of a call needs: the request to remake, the call's
/// span (the attempts' parent) and metrics.
pub(super) struct Attempts<'a> {
    pub(super) template: &'a Template,
    pub(super) span: &'a crate::trace::Span,
    pub(super) stats: &'a CallStats,
}

/// The status the caller reads of an attempt's result: `OK` for one
/// committed (its own status comes in its trailers), what a failed one's
/// response says otherwise (for a transport error that may differ from the
/// code retries go by, `Failure::code`: see `effective_code`).
pub(super) fn result_code<RB>(result: &Result<Response<RB>, Failure<RB>>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(failure) => code_of(&failure.response),
    }
}

impl<'a> Attempts<'a> {
    /// The attempt that `previous` attempts came before, in its span (with
    /// the `caller`'s own headers and extensions if it is the first sent).
    pub(super) fn send<'s, S, RB>(
        &self,
        service: &'s mut S,
        body: Body,
        previous: u32,
        caller: &'s mut Option<CallerParts>,
    ) -> Attempt<'s, S, FromTemplate<'s>, S::Future>
    where
        'a: 's,
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        let span = spans::attempt(self.span, self.template.uri.path(), previous);
        let make = FromTemplate {
            template: self.template,
            body: Some(body),
            previous,
            caller,
        };
        attempt(span, self.stats, service, make)
    }

    /// A call of one attempt: a hedged request too large to keep.
    pub(super) async fn once<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        caller: &mut Option<CallerParts>,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        Answer::of(self.send(service, body, 0, caller).await)
    }
}
