//! [`ServiceConfigLayer`]: a gRPC service config applied under a tonic
//! client, as a `tower::Layer`. Laid out as tower lays out a middleware:
//! the layer here, the service it makes (`service.rs`), its response
//! future (`future.rs`), a call of one attempt sent as the service is
//! called (`once.rs`), a call that may make more (`call.rs`), each
//! attempt's request and future (`request.rs`, `attempt.rs`), and the two
//! ways of making more attempts (`retry.rs`, `hedge.rs`). Every decision
//! is the runtime's state machines' (`RetryState`, `HedgeState`,
//! `tonic::rule`); this only drives them.

use std::sync::Arc;

use super::service::ServiceConfigService;
use super::{ServiceConfig, ServiceConfigError};

/// How much of a request body is kept for sending it again: 256 KiB, as
/// grpc-go's default retry buffer (and generated clients' for a streamed
/// request). A call that sent more is committed: no retry, no hedge.
pub(crate) use crate::tonic::streamed::DEFAULT_BUFFER_LIMIT;

/// A gRPC service config applied under a tonic client: per method
/// (`/package.Service/Method`, then the service's entry, then the global
/// one), its `timeout` bounds the call, its `retryPolicy` or
/// `hedgingPolicy` runs the attempts, and `retryThrottling` is one A6
/// budget for all of them (one per layer: make one per channel).
///
/// ```
/// use steadfast::tonic::ServiceConfigLayer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = ServiceConfigLayer::from_json(r#"{
///   "methodConfig": [{
///     "name": [{"service": "user.UserService"}],
///     "timeout": "2s",
///     "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
///                     "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
///   }]
/// }"#)?;
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
/// // let mut client = UserServiceClient::new(channel); // tonic's own generated client
/// # let _ = channel;
/// # Ok(())
/// # }
/// ```
///
/// The call's own timeout (`Request::set_timeout`) and any deadline scope
/// around it bound the call too; each attempt carries what is left as
/// `grpc-timeout`, and retries carry `grpc-previous-rpc-attempts`. The
/// timeout covers the call until its response headers arrive; a response
/// stream is bounded by the server, which got the deadline.
#[derive(Debug, Clone)]
pub struct ServiceConfigLayer {
    pub(super) config: Arc<ServiceConfig>,
    pub(super) buffer_limit: usize,
}

impl ServiceConfigLayer {
    /// The layer of a service config (JSON); a malformed config is an error
    /// that lists each problem and where it is.
    ///
    /// ```
    /// let error = steadfast::tonic::ServiceConfigLayer::from_json(
    ///     r#"{"methodConfig": [{"name": [{}], "timeout": "soon"}]}"#,
    /// )
    /// .unwrap_err();
    /// assert!(error.to_string().starts_with("service config: methodConfig[0].timeout:"));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ServiceConfigError> {
        Ok(Self::new(ServiceConfig::from_json(text)?))
    }

    /// The layer of `config`.
    ///
    /// ```
    /// use steadfast::tonic::{ServiceConfig, ServiceConfigLayer};
    /// let config = ServiceConfig::from_json(r#"{"methodConfig": []}"#).unwrap();
    /// let _layer = ServiceConfigLayer::new(config);
    /// ```
    pub fn new(config: ServiceConfig) -> Self {
        Self {
            config: Arc::new(config),
            buffer_limit: DEFAULT_BUFFER_LIMIT,
        }
    }

    /// Keeps up to `bytes` of each request body for retries and hedges
    /// (default 256 KiB, as grpc-go); a larger request is sent once.
    ///
    /// ```
    /// use steadfast::tonic::ServiceConfigLayer;
    /// let layer = ServiceConfigLayer::from_json("{}").unwrap().buffer_limit(1 << 20);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn buffer_limit(mut self, bytes: usize) -> Self {
        self.buffer_limit = bytes;
        self
    }
}

impl<S> tower_layer::Layer<S> for ServiceConfigLayer {
    type Service = ServiceConfigService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServiceConfigService {
            inner,
            config: Arc::clone(&self.config),
            buffer_limit: self.buffer_limit,
        }
    }
}
