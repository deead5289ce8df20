//! [`ServiceConfigService`]: each call looked up by its path and run under
//! its method's timeout, retries or hedges.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;

use super::call::{enforces_grpc_timeout, run};
use super::future::ServiceConfigFuture;
use super::once::Once;
use super::BoxError;
use super::{MethodPolicy, ServiceConfig};
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
    type Future = ServiceConfigFuture<S::Future, RB, S::Error>;

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
            }) => ServiceConfigFuture::once(Once::send(
                &mut self.inner,
                *timeout,
                enforced_below,
                request,
                limit,
            )),
            Some(MethodPolicy {
                timeout,
                attempts: Some(attempts),
            }) => {
                // The service polled ready takes this call; its clone stays
                // for the next.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ServiceConfigFuture::attempts(Box::pin(run(
                    ready,
                    *timeout,
                    enforced_below,
                    attempts.clone(),
                    request,
                    limit,
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests;
