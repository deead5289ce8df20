//! [`ServiceConfigFuture`]: the response future of
//! [`ServiceConfigService`](super::ServiceConfigService).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tonic::body::Body;

use super::once::Once;
use super::retry::{Retried, Step};
use super::BoxError;
use crate::tonic::guard::{GuardFuture, Guarded};

/// The rest of a call whose attempts a future of its own runs (retries
/// after a failed first attempt, hedges).
pub(super) type BoxedCall<RB> = Pin<Box<dyn Future<Output = Response<Guarded<RB>>> + Send>>;

pin_project! {
    /// The future of [`ServiceConfigService`](super::ServiceConfigService),
    /// over an inner service `S` whose responses have bodies `RB`: the
    /// inner service's, for a method the config does not name; or the
    /// call's first attempt, sent when the service was called, for a method
    /// with a timeout only or with retries (the attempts after a failed
    /// one are boxed); or, boxed, the hedges of a method that hedges. Every
    /// outcome of a call under a policy is a response (a failure the policy
    /// gives up on is the last attempt's status).
    ///
    /// ```
    /// use steadfast::tonic::{ServiceConfigFuture, ServiceConfigService};
    /// use tonic::body::Body;
    /// use tonic::transport::Channel;
    /// use tower_service::Service;
    ///
    /// // What a call through the layer over tonic's `Channel` gives.
    /// type Call = <ServiceConfigService<Channel> as Service<http::Request<Body>>>::Future;
    /// fn is_the_layers(_: Option<ServiceConfigFuture<Channel, Body>>) {}
    /// is_the_layers(None::<Call>);
    /// ```
    pub struct ServiceConfigFuture<S, RB>
    where
        S: tower_service::Service<Request<Body>>,
    {
        #[pin]
        state: State<S, RB>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, RB>
    where
        S: tower_service::Service<Request<Body>>,
    {
        Passed { #[pin] future: GuardFuture<S::Future> },
        Once { #[pin] call: Once<S::Future, RB> },
        Retried { #[pin] call: Retried<S, RB> },
        Boxed { call: BoxedCall<RB> },
    }
}

impl<S, RB> ServiceConfigFuture<S, RB>
where
    S: tower_service::Service<Request<Body>>,
{
    /// A call to a method the config does not name: the inner service's.
    pub(super) fn passed(future: S::Future) -> Self {
        Self {
            state: State::Passed {
                future: GuardFuture::new(future),
            },
        }
    }

    /// A call of one attempt, already sent.
    pub(super) fn once(call: Once<S::Future, RB>) -> Self {
        Self {
            state: State::Once { call },
        }
    }

    /// A call that retries, its first attempt sent.
    pub(super) fn retried(call: Retried<S, RB>) -> Self {
        Self {
            state: State::Retried { call },
        }
    }

    /// A call that hedges.
    pub(super) fn boxed(call: BoxedCall<RB>) -> Self {
        Self {
            state: State::Boxed { call },
        }
    }
}

impl<S, RB> std::fmt::Debug for ServiceConfigFuture<S, RB>
where
    S: tower_service::Service<Request<Body>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Passed { .. } => "ServiceConfigFuture::Passed",
            State::Once { .. } => "ServiceConfigFuture::Once",
            State::Retried { .. } => "ServiceConfigFuture::Retried",
            State::Boxed { .. } => "ServiceConfigFuture::Boxed",
        })
    }
}

impl<S, RB> Future for ServiceConfigFuture<S, RB>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    RB: Send + 'static,
{
    type Output = Result<Response<Guarded<RB>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let rest = match self.as_mut().project().state.project() {
                StateProj::Passed { future } => return future.poll(cx),
                StateProj::Once { call } => return Poll::Ready(Ok(ready!(call.poll(cx)))),
                StateProj::Boxed { call } => {
                    return Poll::Ready(Ok(ready!(call.as_mut().poll(cx))))
                }
                StateProj::Retried { call } => match ready!(call.poll_step(cx)) {
                    Step::Answered(response) => return Poll::Ready(Ok(response)),
                    // Polled at once, in this task poll: the rest decides
                    // on the first attempt's failure as a retry loop does,
                    // right after it.
                    Step::Failed(rest) => rest,
                },
            };
            self.as_mut()
                .project()
                .state
                .set(State::Boxed { call: rest });
        }
    }
}
