//! `ChannelPolicy`: keepalive finds a peer that died without closing (a
//! loopback proxy that stops forwarding and keeps its connections open),
//! where a channel without it waits for as long as the call does.
#![allow(clippy::unwrap_used)] // test-only

use std::time::{Duration, Instant};

use steadfast::tonic::ChannelPolicy;
use steadfast_examples::faulty::{Fault, FreezingProxy};
use steadfast_examples::user::user_service_client::UserServiceClient;
use tonic::Code;

mod common;
use common::{request, server};

#[tokio::test]
async fn keepalive_finds_a_dead_peer_within_interval_and_timeout() {
    // Every call hangs at the server: only the connection can end it.
    let server = server([Fault::Ok, Fault::Hang, Fault::Ok, Fault::Hang]).await;

    let policy =
        ChannelPolicy::new().keepalive(Duration::from_millis(200), Duration::from_millis(300));
    let (call, _proxy) = call_behind_a_frozen_peer(policy, server.addr).await;
    let frozen = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("keepalive did not end the call")
        .unwrap()
        .unwrap_err();
    let took = frozen.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // interval + timeout is 0.5 s; four times that for a shared machine.
    let bound = Duration::from_secs(2);
    assert!(took < bound, "{took:?}");

    // Without keepalive the same call is still waiting well past that bound.
    let (call, _proxy) = call_behind_a_frozen_peer(ChannelPolicy::new(), server.addr).await;
    tokio::time::sleep(bound + Duration::from_secs(1)).await;
    assert!(
        !call.is_finished(),
        "a call behind a frozen peer ended without keepalive"
    );
    call.abort();
}

/// A call through a channel made by `policy`, in flight when the proxy in
/// front of `server` froze (after one call went through).
async fn call_behind_a_frozen_peer(
    policy: ChannelPolicy,
    server: std::net::SocketAddr,
) -> (
    tokio::task::JoinHandle<
        Result<tonic::Response<steadfast_examples::user::UserResponse>, tonic::Status>,
    >,
    FreezingProxy,
) {
    let proxy = FreezingProxy::start(server).await.unwrap();
    let channel = policy
        .connect_lazy(format!("http://{}", proxy.addr))
        .unwrap();
    let mut client = UserServiceClient::new(channel);
    client.get_user(request()).await.unwrap();
    let call = tokio::spawn(async move { client.get_user(request()).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.freeze();
    (call, proxy)
}
