//! End-to-end: a real tonic server on 127.0.0.1 that injects faults, and
//! clients using `steadfast`'s attributes, interceptor and layer. Real
//! clocks, so time bounds are generous.
#![allow(clippy::unwrap_used)] // the helpers below run only inside tests

use std::net::SocketAddr;
use std::time::Duration;

use steadfast::deadline;
use steadfast::tonic::{PropagateDeadline, PropagateDeadlineLayer};
use steadfast_examples::faulty::{closing_proxy, serve_with_deadlines, Fault, Seen};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::user_service_server::{UserService, UserServiceServer};
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::codegen::InterceptedService;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Status};

mod common;
use common::{channel, request, server, MS};

type Client = UserServiceClient<InterceptedService<Channel, PropagateDeadline>>;

fn client(addr: SocketAddr) -> Client {
    UserServiceClient::with_interceptor(channel(addr), PropagateDeadline)
}

#[steadfast::retry(max = 3, backoff = "const", initial = 20ms, jitter = "none")]
async fn get_user(client: &mut Client) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

#[tokio::test]
async fn unavailable_is_retried_and_attempts_are_numbered() {
    let s = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    let user = get_user(&mut client(s.addr)).await.unwrap();
    assert_eq!(user.name, "user 42");
    assert_eq!(
        s.previous_attempts(),
        [None, Some("1".into()), Some("2".into())]
    );
}

#[tokio::test]
async fn non_retryable_codes_are_not_retried() {
    for code in [
        Code::NotFound,
        Code::InvalidArgument,
        Code::Internal,
        Code::PermissionDenied,
    ] {
        let s = server([Fault::Fail(code)]).await;
        let err = get_user(&mut client(s.addr)).await.unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(s.users.calls(), 1, "{code:?} must not be retried");
    }
}

#[tokio::test]
async fn the_remaining_deadline_travels_as_grpc_timeout() {
    let s = server([]).await;
    let mut c = client(s.addr);
    deadline::scope(Duration::from_secs(1), async {
        tokio::time::sleep(MS(100)).await;
        c.get_user(request()).await
    })
    .await
    .unwrap()
    .unwrap();
    let seen = s.users.seen().remove(0);
    let sent = steadfast::__private::parse_timeout(seen.timeout.unwrap().as_bytes()).unwrap();
    assert!(sent <= MS(900) && sent > MS(400), "sent {sent:?}");
    // The server's handler ran inside that deadline.
    let remaining = seen.remaining_ms.unwrap();
    assert!(remaining <= 900 && remaining > 300, "{remaining} ms");
}

#[tokio::test]
async fn the_methods_own_shorter_timeout_is_kept() {
    let s = server([]).await;
    let mut c = client(s.addr);
    deadline::scope(Duration::from_secs(10), async {
        let mut req = tonic::Request::new(request());
        req.set_timeout(MS(200));
        c.get_user(req).await
    })
    .await
    .unwrap()
    .unwrap();
    let sent = s.users.seen()[0].timeout.clone().unwrap();
    let sent = steadfast::__private::parse_timeout(sent.as_bytes()).unwrap();
    assert!(sent <= MS(200), "sent {sent:?}");
}

#[tokio::test]
async fn a_call_past_its_deadline_never_touches_the_network() {
    let s = server([]).await;
    let mut c = client(s.addr);
    // Carry the deadline into a task that outlives it.
    let task = deadline::scope(MS(50), async {
        Some(tokio::spawn(deadline::propagate(async move {
            tokio::time::sleep(MS(100)).await;
            c.get_user(request()).await
        })))
    })
    .await
    .unwrap()
    .unwrap();
    let result = task.await.unwrap();
    assert_eq!(result.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(s.users.calls(), 0);
}

#[tokio::test]
async fn the_tower_layer_does_what_the_interceptor_does() {
    let s = server([Fault::Fail(Code::Unavailable)]).await;
    let channel = tower::ServiceBuilder::new()
        .layer(PropagateDeadlineLayer)
        .service(channel(s.addr));
    let c = UserServiceClient::new(channel);
    let policy = steadfast::RetryPolicy::new().backoff(steadfast::Backoff::none());
    deadline::scope(
        Duration::from_secs(2),
        steadfast::retry(&policy, || {
            let mut c = c.clone();
            async move { c.get_user(request()).await }
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let seen = s.users.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.timeout.is_some()));
    assert_eq!(seen[1].previous_attempts.as_deref(), Some("1"));
}

#[tokio::test]
async fn pushback_sets_the_next_delay() {
    let s = server([Fault::Pushback("300")]).await;
    let start = Instant::now();
    get_user(&mut client(s.addr)).await.unwrap();
    let took = start.elapsed();
    assert_eq!(s.users.calls(), 2);
    assert!(took >= MS(300) && took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn negative_or_malformed_pushback_stops_retries() {
    for value in ["-1", "later"] {
        let s = server([Fault::Pushback(value)]).await;
        let err = get_user(&mut client(s.addr)).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(s.users.calls(), 1, "pushback {value:?}");
    }
}

#[tokio::test]
async fn a_hung_attempt_times_out_and_is_retried() {
    #[steadfast::retry(max = 3, initial = 10ms, per_attempt = 200ms)]
    async fn call(client: &mut Client) -> Result<UserResponse, Status> {
        Ok(client.get_user(request()).await?.into_inner())
    }
    let s = server([Fault::Hang]).await;
    let start = Instant::now();
    call(&mut client(s.addr)).await.unwrap();
    let took = start.elapsed();
    assert_eq!(s.users.calls(), 2);
    assert!(took >= MS(200) && took < Duration::from_secs(3), "{took:?}");
    // Each attempt told the server it had 200 ms at most.
    let sent = s.users.seen()[0].timeout.clone().unwrap();
    assert!(steadfast::__private::parse_timeout(sent.as_bytes()).unwrap() <= MS(200));
}

#[tokio::test]
async fn total_time_never_exceeds_the_deadline_by_more_than_noise() {
    #[steadfast::deadline(500ms)]
    #[steadfast::retry(max = 10, backoff = "const", initial = 50ms, per_attempt = 200ms)]
    async fn call(client: &mut Client) -> Result<UserResponse, Status> {
        Ok(client.get_user(request()).await?.into_inner())
    }
    let s = server(vec![Fault::Slow(Duration::from_secs(5)); 10]).await;
    let start = Instant::now();
    let err = call(&mut client(s.addr)).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(took >= MS(400) && took < MS(500) + MS(400), "{took:?}");
    assert!(s.users.calls() >= 2, "per-attempt timeouts led to retries");
}

#[tokio::test]
async fn a_closed_connection_is_retried() {
    let s = server([]).await;
    let (proxy, proxy_task) = closing_proxy(s.addr, 1).await.unwrap();
    let user = get_user(&mut client(proxy)).await;
    proxy_task.abort();
    assert_eq!(user.unwrap().name, "user 42");
    // The first attempt died with its connection and never reached the
    // server; the one that did was the retry.
    assert_eq!(s.users.calls(), 1);
    assert_eq!(s.previous_attempts(), [Some("1".to_owned())]);
}

/// A server whose handler forwards each call to another server, inside a
/// deadline of its own written as an attribute on the `async_trait` method.
#[derive(Clone)]
struct Forwarder {
    next: Client,
}

#[tonic::async_trait]
impl UserService for Forwarder {
    #[steadfast::deadline(300ms)]
    async fn get_user(
        &self,
        request: tonic::Request<UserRequest>,
    ) -> Result<tonic::Response<UserResponse>, Status> {
        tokio::time::sleep(MS(100)).await;
        let mut next = self.next.clone();
        next.get_user(request.into_inner()).await
    }
}

/// A (the forwarder, with `DeadlineLayer`) in front of B.
async fn chain(b: SocketAddr) -> (SocketAddr, JoinHandle<()>) {
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let routes = Routes::new(UserServiceServer::new(Forwarder { next: client(b) }));
    (addr, serve_with_deadlines(routes, incoming))
}

fn sent_timeout(seen: &Seen) -> Duration {
    steadfast::__private::parse_timeout(seen.timeout.as_ref().unwrap().as_bytes()).unwrap()
}

#[tokio::test]
async fn deadlines_shrink_hop_by_hop() {
    // client (2 s) -> A, whose handler has `#[deadline(300ms)]` and spends
    // 100 ms before it forwards -> B, which must be told 200 ms at most.
    let b = server([]).await;
    let (a, a_task) = chain(b.addr).await;
    deadline::scope(Duration::from_secs(2), client(a).get_user(request()))
        .await
        .unwrap()
        .unwrap();
    a_task.abort();
    let at_b = sent_timeout(&b.users.seen()[0]);
    assert!(at_b <= MS(200) && at_b > MS(20), "B was told {at_b:?}");
    let remaining_at_b = b.users.seen()[0].remaining_ms.unwrap();
    assert!(remaining_at_b <= 200, "B's handler had {remaining_at_b} ms");
}

#[tokio::test]
async fn a_handlers_deadline_attribute_answers_deadline_exceeded() {
    let b = server([Fault::Hang]).await;
    let (a, a_task) = chain(b.addr).await;
    let start = Instant::now();
    let err = deadline::scope(Duration::from_secs(5), client(a).get_user(request()))
        .await
        .unwrap()
        .unwrap_err();
    let took = start.elapsed();
    a_task.abort();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(took >= MS(300) && took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_retry_around_the_generated_client_numbers_each_rpc_from_zero() {
    fn always(_: &Status) -> bool {
        true
    }
    // Two rounds of the generated method's own three attempts.
    #[steadfast::retry(max = 2, backoff = "none", when = always)]
    async fn twice(
        client: &mut ResilientUserServiceClient<Channel>,
    ) -> Result<UserResponse, Status> {
        Ok(client.get_user(request()).await?.into_inner())
    }
    let s = server(vec![Fault::Fail(Code::Unavailable); 6]).await;
    let mut c = ResilientUserServiceClient::new(channel(s.addr));
    twice(&mut c).await.unwrap_err();
    let round = [None, Some("1".to_owned()), Some("2".to_owned())];
    assert_eq!(s.previous_attempts(), [round.clone(), round].concat());
}
