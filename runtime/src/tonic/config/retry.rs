//! gRPC A6 retries through the layer: `RetryState` decides, the request
//! body is replayed from its record.

use http::{Request, Response};
use tonic::body::Body;
use tonic::Status;

use super::attempt::Attempts;
use super::body::{Collected, Recording};
use super::call::Answer;
use super::request::CallerParts;
use super::BoxError;
use super::{CodeSet, Throttle};
use crate::retry::{ByRetryable, Next, RetryState};
use crate::{Backoff, RetryPolicy};

impl Attempts<'_> {
    /// gRPC A6 retries: the runtime's `RetryState` decides; the body is
    /// replayed from its record (then sent on as it comes), and a failure
    /// whose body cannot be replayed (more was sent than the limit keeps) is
    /// the call's.
    pub(super) async fn retried<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        caller: &mut Option<CallerParts>,
        policy: &RetryPolicy<Backoff, ByRetryable, Throttle>,
        codes: CodeSet,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
        S::Error: Into<BoxError>,
    {
        // A request already whole (a unary call's) is kept before it is
        // sent, so that an attempt whose connection broke before sending it
        // can be made again (a small one as a copy, and each attempt sends a
        // copy of its own); a streamed one is recorded as the first attempt
        // sends it.
        let (recording, mut body) = match Collected::ready(body, self.limit) {
            Collected::Whole(chunks) => (Recording::whole(chunks), None),
            Collected::TooLarge(body) => {
                let (recording, body) = Recording::tee(body, self.limit);
                (recording, Some(body))
            }
        };
        let mut state = RetryState::new(policy);
        loop {
            let Some(attempt_body) = body.take().or_else(|| recording.replay()) else {
                // Unreachable: a retry is only made with a replayable body.
                return Answer::failed(Status::internal("request body not replayable"));
            };
            // The attempt's outcome is scoped to this block: a local of the
            // loop's body would keep its (response-sized) place in the
            // call's future through the backoff sleep, even once moved.
            let delay = {
                let previous = state.previous_attempts();
                let result = state
                    .begin_as(false, self.send(service, attempt_body, previous, caller))
                    .await;
                if result.is_err() && !recording.replayable() {
                    return Answer::of(result);
                }
                // Decided inside the call's span: its events are the call's.
                let _decided = crate::trace::enter(self.span);
                match state.end(result, |failure| failure.verdict(codes)) {
                    Next::Return(result) => {
                        // Committed: a stream's record is kept no longer
                        // (the rest of the stream goes as it comes).
                        recording.commit();
                        return Answer::of(result);
                    }
                    Next::Retry { delay, .. } => delay,
                }
            };
            self.stats.delayed(delay);
            tokio::time::sleep(delay).await;
        }
    }
}
