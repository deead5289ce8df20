//! gRPC A6 retries through the layer: the first attempt sent when the layer
//! is called (`Once`), and, if it fails, the boxed loop of the attempts
//! after it. `RetryState` decides; the request body is replayed from its
//! record.

use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tokio::time::Instant;
use tonic::body::Body;
use tonic::Status;

use super::attempt::{Attempts, Failure};
use super::body::{Collected, Recording};
use super::call::{Answer, Bounded, CallRecord};
use super::future::BoxedCall;
use super::once::{AttemptResult, Once};
use super::request::Template;
use super::BoxError;
use super::{CodeSet, Throttle};
use crate::retry::{ByRetryable, Next, RetryState};
use crate::tonic::guard::Guarded;
use crate::{Backoff, RetryPolicy};

/// A method's retry policy, as the layer keeps it.
type Policy = RetryPolicy<Backoff, ByRetryable, Throttle>;

pin_project_lite::pin_project! {
    /// A call to a method that retries. Its first attempt is sent when the
    /// layer is called, as a timeout-only call's, with the caller's request
    /// itself; beside it is kept what the attempts after it would need. A
    /// call answered at once (most are) costs no box and no `async` loop;
    /// one whose first attempt fails goes on in [`Rest::after`], boxed.
    pub(super) struct Retried<S, RB>
    where
        S: tower_service::Service<Request<Body>>,
    {
        #[pin]
        first: Once<S::Future, RB>,
        rest: Option<Rest<S>>,
    }
}

/// Where a retried call is once its first attempt has ended.
pub(super) enum Step<RB> {
    /// The call ended: what the caller gets.
    Answered(Response<Guarded<RB>>),
    /// The first attempt failed: the rest of the call.
    Failed(BoxedCall<RB>),
}

/// What the attempts after a call's first need: a service of their own,
/// the request to make again, its body's record, and the policy.
pub(super) struct Rest<S> {
    service: S,
    template: Template,
    recording: Recording,
    policy: Policy,
    codes: CodeSet,
    enforced_below: bool,
}

impl<S, RB> Retried<S, RB>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    RB: Send + 'static,
{
    /// Sends the call's first attempt on `service` (polled ready by the
    /// caller), keeping a clone of it for the attempts after.
    pub(super) fn send(
        service: &mut S,
        timeout: Option<Duration>,
        enforced_below: bool,
        request: Request<Body>,
        (policy, codes): (&Policy, CodeSet),
        limit: usize,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let template = Template::of(&parts);
        let (recording, body) = Recording::of(Collected::ready(body, limit), limit);
        let rest = Rest {
            service: service.clone(),
            template,
            recording,
            policy: policy.clone(),
            codes,
            enforced_below,
        };
        let request = Request::from_parts(parts, body);
        Self {
            first: Once::send(service, timeout, enforced_below, request, 0),
            rest: Some(rest),
        }
    }

    /// Polls the first attempt: the call's answer, when it is the last;
    /// the rest of the call otherwise.
    pub(super) fn poll_step(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Step<RB>> {
        let mut this = self.project();
        let (result, until) = std::task::ready!(this.first.as_mut().poll_attempt(cx));
        let answer = match (result, this.rest.take()) {
            (Some(Err(failure)), Some(rest)) => match this.first.as_mut().take_record() {
                Some(record) => {
                    return Poll::Ready(Step::Failed(Box::pin(rest.after(failure, until, record))))
                }
                None => Some(Answer::of(Err(failure))),
            },
            (Some(Ok(response)), Some(rest)) => {
                // The policy's books: a success refills its budget. The
                // rest of a streamed body goes as it comes, kept no longer.
                RetryState::new(&rest.policy).on_success();
                rest.recording.commit();
                Some(Answer::of(Ok(response)))
            }
            (result, _) => result.map(Answer::of),
        };
        Poll::Ready(Step::Answered(this.first.finish(answer, until)))
    }
}

impl<S> Rest<S> {
    /// The rest of a call whose first attempt failed with `first`: the
    /// retry loop under the call's deadline (`until`, set as the call
    /// began), then the call's end, recorded.
    async fn after<RB>(
        self,
        first: Failure<Guarded<RB>>,
        until: Option<Instant>,
        record: CallRecord,
    ) -> Response<Guarded<RB>>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        let Rest {
            mut service,
            template,
            recording,
            policy,
            codes,
            enforced_below,
        } = self;
        let attempts = Attempts {
            template: &template,
            span: &record.span,
            stats: &record.stats,
        };
        let retried = attempts.retried(&mut service, first, &recording, &policy, codes);
        let answer = Bounded::resumed(until, enforced_below, retried).await;
        record.finish(&answer);
        answer.response
    }
}

impl Attempts<'_> {
    /// gRPC A6 retries after a failed first attempt: the runtime's
    /// `RetryState` decides; each attempt replays the body from its record
    /// (then sends the rest as it comes), and a failure whose body cannot
    /// be replayed (more was sent than the limit keeps) is the call's.
    async fn retried<S, RB>(
        &self,
        service: &mut S,
        first: Failure<Guarded<RB>>,
        recording: &Recording,
        policy: &Policy,
        codes: CodeSet,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>>,
        S::Error: Into<BoxError>,
    {
        let mut state = RetryState::new(policy);
        // Only the delay is kept through each sleep: an answer held there
        // would take its (response-sized) place in the future.
        let mut delay = match self.decide(&mut state, Err(first), recording, codes) {
            ControlFlow::Break(answer) => return answer,
            ControlFlow::Continue(delay) => delay,
        };
        loop {
            self.stats.delayed(delay);
            tokio::time::sleep(delay).await;
            let Some(body) = recording.replay() else {
                // Unreachable: a retry is only made with a replayable body.
                return Answer::failed(Status::internal("request body not replayable"));
            };
            let previous = state.previous_attempts();
            // Later attempts send copies of the caller's headers.
            let mut caller = None;
            let attempt = self.send(service, body, previous, &mut caller);
            let result = state.begin_as(false, attempt).await;
            delay = match self.decide(&mut state, result, recording, codes) {
                ControlFlow::Break(answer) => return answer,
                ControlFlow::Continue(delay) => delay,
            };
        }
    }

    /// The state's decision on an attempt's `result`, inside the call's
    /// span (its events are the call's): the caller's answer, or the
    /// delay before the next attempt.
    fn decide<RB>(
        &self,
        state: &mut RetryState<'_, Backoff, ByRetryable, Throttle>,
        result: AttemptResult<RB>,
        recording: &Recording,
        codes: CodeSet,
    ) -> ControlFlow<Answer<RB>, Duration> {
        if result.is_err() && !recording.replayable() {
            return ControlFlow::Break(Answer::of(result));
        }
        let _decided = crate::trace::enter(self.span);
        match state.end(result, |failure| failure.verdict(codes)) {
            Next::Return(result) => {
                // Committed: a stream's record is kept no longer (the
                // rest of the stream goes as it comes).
                recording.commit();
                ControlFlow::Break(Answer::of(result))
            }
            Next::Retry { delay, .. } => ControlFlow::Continue(delay),
        }
    }
}
