//! What the end-to-end tests share: the fault-injecting `UserService` on
//! 127.0.0.1, a channel to it, a request.
#![allow(clippy::unwrap_used, dead_code)] // test-only; not every file uses every helper

pub(crate) mod catalog;
pub(crate) mod hostile;
#[cfg(feature = "otel")]
pub(crate) mod otel_metrics;

use std::net::SocketAddr;
use std::time::Duration;

use steadfast_examples::faulty::{Fault, FaultyUsers};
use steadfast_examples::user::UserRequest;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub(crate) const MS: fn(u64) -> Duration = Duration::from_millis;

/// A fault-injecting server, stopped when dropped.
pub(crate) struct Server {
    pub(crate) users: FaultyUsers,
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// The `grpc-previous-rpc-attempts` of every call received, in order.
    pub(crate) fn previous_attempts(&self) -> Vec<Option<String>> {
        self.users
            .seen()
            .into_iter()
            .map(|seen| seen.previous_attempts)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server that follows `script`, one fault per call.
pub(crate) async fn server(script: impl IntoIterator<Item = Fault>) -> Server {
    let users = FaultyUsers::new(script);
    let (addr, task) = users.serve().await.unwrap();
    Server { users, addr, task }
}

/// A channel to `addr` that connects on first use.
pub(crate) fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

pub(crate) fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

/// tonic's own `UserServiceClient` over `ServiceConfigLayer`, `GetUser`
/// retried 3 times, 10 ms apart, on `UNAVAILABLE`.
pub(crate) fn layered_users(
    addr: SocketAddr,
) -> steadfast_examples::user::user_service_client::UserServiceClient<
    steadfast::tonic::ServiceConfigService<Channel>,
> {
    let layer = steadfast::tonic::ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}],
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                            "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(addr));
    steadfast_examples::user::user_service_client::UserServiceClient::new(channel)
}
