//! `LimitLayer` on a real tonic server on 127.0.0.1: refusals answered
//! before the handler runs, with the right code and pushback; queues that
//! never wait past a request's deadline; either order beside
//! `DeadlineLayer`; and a generated client that comes back when the server
//! said.
#![allow(clippy::unwrap_used)] // test-only

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{channel, request, MS};
use steadfast::tonic::{DeadlineLayer, LimitLayer};
use steadfast::{ConcurrencyLimit, RateLimiter};
use steadfast_examples::faulty::{bind, Fault, FaultyUsers};
use steadfast_examples::user::user_directory_client::UserDirectoryClient;
use steadfast_examples::user::user_directory_server::UserDirectoryServer;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::user_service_server::UserServiceServer;
use steadfast_examples::user::ResilientUserServiceClient;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::{Code, Status};

/// Serves `users` behind `limits` (outermost when `limits_first`) and
/// `DeadlineLayer`; stopped when dropped.
struct Limited {
    users: FaultyUsers,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Limited {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(script: Vec<Fault>, limits: LimitLayer, limits_first: bool) -> Limited {
    let users = FaultyUsers::new(script);
    let (addr, incoming) = bind().await.unwrap();
    let routes = Routes::new(UserServiceServer::new(users.clone()))
        .add_service(UserDirectoryServer::new(users.clone()));
    let task = tokio::spawn(async move {
        let builder = tonic::transport::Server::builder();
        let _ = if limits_first {
            builder
                .layer(limits)
                .layer(DeadlineLayer::new())
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await
        } else {
            builder
                .layer(DeadlineLayer::new())
                .layer(limits)
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await
        };
    });
    Limited { users, addr, task }
}

async fn get_user(addr: SocketAddr, timeout: Option<Duration>) -> Result<(), Status> {
    let mut request = tonic::Request::new(request());
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    UserServiceClient::new(channel(addr))
        .get_user(request)
        .await
        .map(drop)
}

fn pushback_ms(status: &Status) -> Option<u64> {
    status
        .metadata()
        .get("grpc-retry-pushback-ms")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Over a method's rate: `RESOURCE_EXHAUSTED` with the time to its next
/// turn as pushback, the handler never run; in either order beside
/// `DeadlineLayer`.
#[tokio::test]
async fn a_call_over_the_rate_is_resource_exhausted_with_pushback_and_never_reaches_the_handler() {
    for limits_first in [true, false] {
        let limits = LimitLayer::new().method(
            "/user.UserService/GetUser",
            RateLimiter::per_second(10).burst(2),
        );
        let server = serve(vec![], limits, limits_first).await;
        get_user(server.addr, None).await.unwrap();
        get_user(server.addr, None).await.unwrap();
        let refused = get_user(server.addr, None).await.unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        let pushback = pushback_ms(&refused).unwrap();
        assert!((1..=100).contains(&pushback), "{pushback} ms");
        assert_eq!(server.users.calls(), 2, "limits first: {limits_first}");
    }
}

/// A method without limits passes untouched beside a limited one.
#[tokio::test]
async fn a_method_without_limits_passes_untouched() {
    let limits = LimitLayer::new().method(
        "/user.UserService/GetUser",
        RateLimiter::per_second(1).burst(1),
    );
    let server = serve(vec![], limits, true).await;
    let mut directory = UserDirectoryClient::new(channel(server.addr));
    for _ in 0..20 {
        directory.find_user(request()).await.unwrap();
    }
    get_user(server.addr, None).await.unwrap();
    assert_eq!(
        get_user(server.addr, None).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
}

/// Over a service's concurrency limit: `UNAVAILABLE` (overload), with the
/// time its calls hold a place as pushback once one has finished.
#[tokio::test]
async fn an_overloaded_service_answers_unavailable_with_how_long_a_place_is_held() {
    let limits = LimitLayer::new().service("user.UserService", ConcurrencyLimit::new(1));
    let slow = || Fault::Slow(MS(200));
    let server = serve(vec![slow(), slow(), slow()], limits, false).await;
    get_user(server.addr, None).await.unwrap(); // a place held ~200 ms
    let addr = server.addr;
    let first = tokio::spawn(async move { get_user(addr, None).await });
    tokio::time::sleep(MS(50)).await;
    let refused = get_user(server.addr, None).await.unwrap_err();
    first.await.unwrap().unwrap();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().starts_with("overloaded"), "{refused:?}");
    let pushback = pushback_ms(&refused).unwrap();
    assert!((150..=2000).contains(&pushback), "{pushback} ms");
    assert_eq!(server.users.calls(), 2);
}

/// A request whose turn in a rate limit's queue would come after its
/// deadline is refused at once; one with time to wait is served in its turn.
#[tokio::test]
async fn a_request_whose_deadline_falls_before_its_turn_is_refused_at_once() {
    let limits = LimitLayer::new().global(
        RateLimiter::per_second(2)
            .burst(1)
            .queue(Duration::from_secs(2)),
    );
    let server = serve(vec![], limits, false).await;
    get_user(server.addr, None).await.unwrap();
    let start = std::time::Instant::now();
    let refused = get_user(server.addr, Some(MS(100))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        start.elapsed() < MS(100),
        "refused after {:?}",
        start.elapsed()
    );
    let start = std::time::Instant::now();
    get_user(server.addr, Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= MS(300),
        "served after {:?}",
        start.elapsed()
    );
    assert_eq!(server.users.calls(), 2);
}

/// The loop closed: a generated client (its retry policy retries
/// `UNAVAILABLE`, from 50 ms of backoff) shed by an overloaded server comes
/// back when the server said (~200 ms, the time a call holds a place), and
/// is served then.
#[tokio::test]
async fn a_generated_client_shed_by_the_server_comes_back_when_it_said() {
    let limits = LimitLayer::new().service("user.UserService", ConcurrencyLimit::new(1));
    let slow = || Fault::Slow(MS(200));
    let server = serve(vec![slow(), slow(), slow()], limits, false).await;
    get_user(server.addr, None).await.unwrap(); // the server learns ~200 ms
    let addr = server.addr;
    let occupying = tokio::spawn(async move { get_user(addr, None).await });
    tokio::time::sleep(MS(20)).await;
    let start = tokio::time::Instant::now();
    let mut client = ResilientUserServiceClient::new(channel(server.addr));
    client.get_user(request()).await.unwrap();
    occupying.await.unwrap().unwrap();
    let seen = server.users.seen();
    assert_eq!(
        seen.len(),
        3,
        "the refused attempt never reached the handler"
    );
    let came_back = seen[2].at.duration_since(start);
    assert!(
        came_back >= MS(150),
        "came back after {came_back:?}: its own backoff, not the pushback"
    );
    assert_eq!(seen[2].previous_attempts.as_deref(), Some("1"));
}

/// A request its method's limit admitted and the server's rate refused
/// gives the method's place back at once: nothing is held by a call that
/// never ran.
#[tokio::test]
async fn a_request_refused_by_a_later_limit_gives_back_the_place_an_earlier_one_gave_it() {
    let method = std::sync::Arc::new(ConcurrencyLimit::new(1));
    let limits = LimitLayer::new()
        .method("/user.UserService/GetUser", std::sync::Arc::clone(&method))
        .global(RateLimiter::per(1, Duration::from_secs(60)).burst(1));
    let server = serve(vec![], limits, false).await;
    get_user(server.addr, None).await.unwrap();
    for _ in 0..3 {
        let refused = get_user(server.addr, None).await.unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        assert_eq!(method.in_flight(), 0, "the method's place was given back");
    }
    assert_eq!(server.users.calls(), 1);
}

/// A call its client gave up (its deadline passed while the handler ran)
/// frees its place: the next call is admitted, not refused as overload.
#[tokio::test]
async fn a_call_given_up_by_its_client_frees_its_place_for_the_next() {
    for limits_first in [true, false] {
        let limit = std::sync::Arc::new(ConcurrencyLimit::new(1));
        let limits = LimitLayer::new().global(std::sync::Arc::clone(&limit));
        let server = serve(vec![Fault::Hang], limits, limits_first).await;
        let gave_up = get_user(server.addr, Some(MS(100))).await.unwrap_err();
        // The server's deadline or tonic's client timeout, whichever first.
        assert!(
            matches!(gave_up.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{gave_up:?}"
        );
        let start = std::time::Instant::now();
        while limit.in_flight() > 0 && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(MS(10)).await;
        }
        assert_eq!(limit.in_flight(), 0, "limits first: {limits_first}");
        get_user(server.addr, None).await.unwrap();
        assert_eq!(server.users.calls(), 2);
    }
}

/// A path that is not `/package.Service/Method` is an error, not a limit
/// that never applies.
#[test]
fn a_method_path_that_cannot_match_is_an_error() {
    let limit = || RateLimiter::per_second(1);
    assert!(LimitLayer::new().try_method("GetUser", limit()).is_err());
    assert!(LimitLayer::new()
        .try_method("/user.UserService/", limit())
        .is_err());
    assert!(LimitLayer::new().try_method("/a/b/c", limit()).is_err());
    assert!(LimitLayer::new()
        .try_method("user.UserService/GetUser", limit())
        .is_ok());
}
