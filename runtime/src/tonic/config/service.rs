//! [`ServiceConfigService`]: each call looked up by its path and run under
//! its method's timeout, retries or hedges.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;

use super::body::Collected;
use super::call::enforces_grpc_timeout;
use super::future::ServiceConfigFuture;
use super::once::Once;
use super::retry::Retried;
use super::BoxError;
use super::{hedge, AttemptPolicy, MethodPolicy, ServiceConfig};
use crate::tonic::guard::Guarded;

/// The service made by [`ServiceConfigLayer`](super::ServiceConfigLayer): clones share the config and
/// its retry budget.
///
/// ```
/// use steadfast::tonic::ServiceConfigLayer;
/// use tower_layer::Layer;
///
/// let layer = ServiceConfigLayer::from_json("{}").unwrap();
/// let service = layer.layer(());
/// assert_eq!(*service.get_ref(), ());
/// ```
#[derive(Debug, Clone)]
pub struct ServiceConfigService<S> {
    pub(super) inner: S,
    pub(super) config: Arc<ServiceConfig>,
    pub(super) buffer_limit: usize,
}

impl<S> ServiceConfigService<S> {
    /// The wrapped service.
    ///
    /// ```
    /// use tower_layer::Layer;
    /// let service = steadfast::tonic::ServiceConfigLayer::from_json("{}").unwrap().layer(7);
    /// assert_eq!(*service.get_ref(), 7);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, RB> tower_service::Service<Request<Body>> for ServiceConfigService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    RB: Send + 'static,
{
    /// Guarded (see [`ResponseGuard`](crate::tonic::ResponseGuard)):
    /// what tonic would panic on is replaced by an `INTERNAL` status.
    type Response = Response<Guarded<RB>>;
    type Error = S::Error;
    type Future = ServiceConfigFuture<S, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let limit = self.buffer_limit;
        let enforced_below = enforces_grpc_timeout::<S>();
        match self.config.policy(request.uri().path()) {
            // Sent now, on the service the caller polled ready: no attempt
            // after it needs a service of the call's own.
            None => ServiceConfigFuture::passed(self.inner.call(request)),
            Some(MethodPolicy {
                timeout,
                attempts: None,
            }) => {
                let (parts, body) = request.into_parts();
                let request = Request::from_parts(parts, Collected::ready(body, limit).into_body());
                let once = Once::send(&mut self.inner, *timeout, enforced_below, request, {
                    // Whatever attempt of an outer retry loop this call is.
                    crate::retry::previous_attempts()
                });
                ServiceConfigFuture::once(once)
            }
            // The first attempt sent now as well; a clone of the service
            // kept for the attempts after it.
            Some(MethodPolicy {
                timeout,
                attempts: Some(AttemptPolicy::Retry(policy, codes)),
            }) => ServiceConfigFuture::retried(Retried::send(
                &mut self.inner,
                *timeout,
                enforced_below,
                request,
                (policy, *codes),
                limit,
            )),
            Some(MethodPolicy {
                timeout,
                attempts: Some(AttemptPolicy::Hedge(policy, codes)),
            }) => {
                // The service polled ready takes this call; its clone stays
                // for the next.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ServiceConfigFuture::boxed(Box::pin(hedge::call(
                    ready,
                    *timeout,
                    enforced_below,
                    (policy.clone(), *codes),
                    request,
                    limit,
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests;
