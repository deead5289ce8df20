//! gRPC A6 hedging through the layer: the runtime's `hedge` runs the
//! attempts, each sending the whole request body.

use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use tonic::body::Body;

use super::attempt::{Attempts, Failure};
use super::body::Collected;
use super::call::{call_timeout, Answer, Bounded, CallRecord};
use super::request::{CallerParts, Template};
use super::BoxError;
use super::{CodeSet, Throttle};
use crate::hedge::HedgePolicy;
use crate::tonic::guard::Guarded;

/// A call to a method that hedges, on `ready` (the service the caller
/// polled ready; hedges after the first clone it). Every outcome is a
/// response: a failure the policy gives up on is the last attempt's.
///
/// What needs no waiting is done here, before the call's future is made:
/// that future is boxed and moved, and an async block stores what it
/// captures as well as the futures it awaits (BENCHMARKS.md, section 9).
pub(super) fn call<S, RB>(
    mut ready: S,
    timeout: Option<Duration>,
    enforced_below: bool,
    (policy, codes): (HedgePolicy<Throttle>, CodeSet),
    request: Request<Body>,
    limit: usize,
) -> impl Future<Output = Response<Guarded<RB>>>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: Into<BoxError>,
{
    let timeout = call_timeout(timeout, &request);
    let (parts, body) = request.into_parts();
    let template = Template::of(&parts);
    // The first hedge sends the caller's own, lent to it.
    let mut caller = Some(CallerParts {
        headers: parts.headers,
        extensions: parts.extensions,
    });
    let record = CallRecord::start(template.uri.path(), true);
    async move {
        let attempts = Attempts {
            template: &template,
            span: &record.span,
            stats: &record.stats,
        };
        // Made in place inside `Bounded`: a future held as a local, then
        // awaited, would be stored twice.
        let answer = Bounded::new(
            timeout,
            enforced_below,
            attempts.hedged(&mut ready, body, limit, &mut caller, &policy, codes),
        )
        .await;
        record.finish(&answer);
        answer.response
    }
}

impl Attempts<'_> {
    /// gRPC A6 hedging: the runtime's `hedge` runs the attempts; each sends the
    /// whole request body. Only a body ready whole when the call is made (a
    /// unary request, a stream whose messages are all there) is hedged: one
    /// that must be waited for may be a bidi call whose requests depend on
    /// its responses, and would wait on itself. It is sent once, as is a
    /// body over the limit.
    async fn hedged<S, RB>(
        &self,
        service: &mut S,
        body: Body,
        limit: usize,
        caller: &mut Option<CallerParts>,
        policy: &HedgePolicy<Throttle>,
        codes: CodeSet,
    ) -> Answer<RB>
    where
        S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone,
        S::Error: Into<BoxError>,
    {
        let chunks = match Collected::ready(body, limit) {
            Collected::Whole(chunks) => chunks,
            Collected::TooLarge(body) => return self.once(service, body, caller).await,
        };
        // The service polled ready goes with the first hedge; the others
        // clone the one left in its place.
        let spare = service.clone();
        let mut first = Some(std::mem::replace(service, spare));
        // Lent as `&mut`: a shared `&S` would ask `S: Sync` of the future.
        let spare = service;
        let chunks = &chunks;
        let mut first_caller = caller.take();
        let make = move |number: u32| {
            // Hedges run at once: each has a service of its own.
            let mut service = first.take().unwrap_or_else(|| spare.clone());
            let mut caller = first_caller.take();
            async move {
                self.send(&mut service, Collected::body(chunks), number, &mut caller)
                    .await
            }
        };
        let verdict = |failure: &Failure<Guarded<RB>>| failure.verdict(codes);
        Answer::of(crate::hedge::hedge(policy, make, verdict).await)
    }
}
