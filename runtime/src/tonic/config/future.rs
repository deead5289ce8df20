//! [`ServiceConfigFuture`]: the response future of
//! [`ServiceConfigService`](super::ServiceConfigService).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::once::Once;
use super::BoxError;
use crate::tonic::guard::{GuardFuture, Guarded};

/// A call whose attempts a future of its own runs (retries, hedges).
pub(super) type Attempts<RB> = Pin<Box<dyn Future<Output = Response<Guarded<RB>>> + Send>>;

pin_project! {
    /// The future of [`ServiceConfigService`](super::ServiceConfigService):
    /// the inner service's, for a method the config does not name; the one
    /// attempt of a method with a timeout only, sent when the service was
    /// called; or, boxed, the attempts of a method that retries or hedges.
    /// Every outcome of a call under a policy is a response (a failure the
    /// policy gives up on is the last attempt's status).
    ///
    /// ```
    /// use steadfast::tonic::{ServiceConfigFuture, ServiceConfigService};
    /// use tonic::body::Body;
    /// use tonic::transport::Channel;
    /// use tower_service::Service;
    ///
    /// // What a call through the layer over tonic's `Channel` gives.
    /// type Call = <ServiceConfigService<Channel> as Service<http::Request<Body>>>::Future;
    /// fn is_the_layers<F, RB, E>(_: Option<ServiceConfigFuture<F, RB, E>>) {}
    /// is_the_layers(None::<Call>);
    /// ```
    pub struct ServiceConfigFuture<F, RB, E> {
        #[pin]
        state: State<F, RB, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, RB, E> {
        Passed { #[pin] future: GuardFuture<F> },
        Once { #[pin] call: Once<F, RB> },
        Attempts { call: Attempts<RB>, error: std::marker::PhantomData<fn() -> E> },
    }
}

impl<F, RB, E> ServiceConfigFuture<F, RB, E> {
    /// A call to a method the config does not name: the inner service's.
    pub(super) fn passed(future: F) -> Self {
        Self {
            state: State::Passed {
                future: GuardFuture::new(future),
            },
        }
    }

    /// A call of one attempt, already sent.
    pub(super) fn once(call: Once<F, RB>) -> Self {
        Self {
            state: State::Once { call },
        }
    }

    /// A call that retries or hedges.
    pub(super) fn attempts(call: Attempts<RB>) -> Self {
        Self {
            state: State::Attempts {
                call,
                error: std::marker::PhantomData,
            },
        }
    }
}

impl<F, RB, E> std::fmt::Debug for ServiceConfigFuture<F, RB, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Passed { .. } => "ServiceConfigFuture::Passed",
            State::Once { .. } => "ServiceConfigFuture::Once",
            State::Attempts { .. } => "ServiceConfigFuture::Attempts",
        })
    }
}

impl<F, RB, E> Future for ServiceConfigFuture<F, RB, E>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<Guarded<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Passed { future } => future.poll(cx),
            StateProj::Once { call } => Poll::Ready(Ok(ready!(call.poll(cx)))),
            StateProj::Attempts { call, .. } => Poll::Ready(Ok(ready!(call.as_mut().poll(cx)))),
        }
    }
}
