//! [`LimitFuture`]: the response future of [`LimitService`](super::LimitService).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::limits::Held;

pin_project! {
    /// The future of [`LimitService`](super::LimitService): the handler's,
    /// holding the request's concurrency places until its response is
    /// ready; a refusal, ready at once; or, for a request that may wait for
    /// a limit (a queue, a cluster limit), that wait and then the handler's.
    pub struct LimitFuture<F, RB, E> {
        #[pin]
        state: State<F, RB, E>,
    }
}

/// A wait for admission and then the handler's response.
pub(super) type Queued<RB, E> = Pin<Box<dyn Future<Output = Result<http::Response<RB>, E>> + Send>>;

pin_project! {
    #[project = StateProj]
    enum State<F, RB, E> {
        Calling { #[pin] future: F, held: Option<Held> },
        Refused { response: Option<http::Response<RB>> },
        Queued { future: Queued<RB, E> },
    }
}

impl<F, RB, E> LimitFuture<F, RB, E> {
    /// The handler's call, admitted (holding `held`) or without limits.
    pub(super) fn calling(future: F, held: Option<Held>) -> Self {
        Self {
            state: State::Calling { future, held },
        }
    }

    /// A request refused before the handler: `response` is the refusal.
    pub(super) fn refused(response: http::Response<RB>) -> Self {
        Self {
            state: State::Refused {
                response: Some(response),
            },
        }
    }

    /// A request that may wait for its admission.
    pub(super) fn queued(future: Queued<RB, E>) -> Self {
        Self {
            state: State::Queued { future },
        }
    }
}

impl<F, RB, E> std::fmt::Debug for LimitFuture<F, RB, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Calling { .. } => "LimitFuture::Calling",
            State::Refused { .. } => "LimitFuture::Refused",
            State::Queued { .. } => "LimitFuture::Queued",
        })
    }
}

impl<F, RB, E> Future for LimitFuture<F, RB, E>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = Result<http::Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Calling { future, held } => {
                let response = ready!(future.poll(cx));
                // The response (its headers) is ready: the places free.
                drop(held.take());
                Poll::Ready(response)
            }
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("LimitFuture polled after it completed"),
            },
            StateProj::Queued { future } => future.as_mut().poll(cx),
        }
    }
}
