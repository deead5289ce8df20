//! [`LimitService`]: asks a request's limits, then calls the handler.

use std::sync::Arc;
use std::task::{Context, Poll};

use super::future::LimitFuture;
use super::limits::Chains;
use super::queued;

/// The service made by [`LimitLayer`](super::LimitLayer).
///
/// ```
/// use tower_layer::Layer;
/// let svc = steadfast::tonic::LimitLayer::new().layer(7);
/// assert_eq!(*svc.get_ref(), 7);
/// ```
#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    chains: Arc<Chains>,
}

impl<S> LimitService<S> {
    pub(super) fn new(inner: S, chains: Arc<Chains>) -> Self {
        Self { inner, chains }
    }

    /// The wrapped service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// assert_eq!(*steadfast::tonic::LimitLayer::new().layer(1).get_ref(), 1);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for LimitService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = LimitFuture<S::Future, RB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(chain) = self.chains.of(request.uri().path()) else {
            return LimitFuture::calling(self.inner.call(request), None);
        };
        if chain.may_wait {
            let chain = Arc::clone(chain);
            // The service polled ready takes this call; its clone stays for the next.
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            return LimitFuture::queued(Box::pin(async move {
                queued::admit_then_call(&chain, ready, request).await
            }));
        }
        match chain.admit_now() {
            Ok(held) => LimitFuture::calling(self.inner.call(request), held),
            Err(refusal) => LimitFuture::refused(refusal.into_http()),
        }
    }
}
