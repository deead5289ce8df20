//! End to end: a generated client's `rate_limit` and `concurrency` proto
//! options (`tests/proto/limits.proto`) against a real tonic server on
//! 127.0.0.1. One limit per method and client, shared by its clones,
//! asked by every attempt; a refusal never reaches the server. And a
//! `#[concurrency_limit]` with a queue in front of a slow backend.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use steadfast_tests::limits::orders_server::{Orders, OrdersServer};
use steadfast_tests::limits::{Order, ResilientOrdersClient};
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// Counts the calls it gets, and the most `Slow` calls in flight at once;
/// fails the first `fail` of `Create`.
#[derive(Clone, Default)]
struct Server {
    calls: Arc<AtomicU32>,
    fail: Arc<AtomicU32>,
    in_flight: Arc<AtomicU32>,
    most_in_flight: Arc<AtomicU32>,
}

#[tonic::async_trait]
impl Orders for Server {
    async fn create(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.calls.fetch_add(1, SeqCst);
        let failing = self
            .fail
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(Status::unavailable("injected"));
        }
        Ok(Response::new(request.into_inner()))
    }

    async fn adaptive(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.slow(request).await
    }

    async fn throttled(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.calls.fetch_add(1, SeqCst);
        let _ = request;
        Err(Status::unavailable("down"))
    }

    async fn slow(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.calls.fetch_add(1, SeqCst);
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now, SeqCst);
        let order = request.into_inner();
        tokio::time::sleep(Duration::from_millis(u64::from(order.work_ms))).await;
        self.in_flight.fetch_sub(1, SeqCst);
        Ok(Response::new(order))
    }
}

async fn serve(server: Server) -> (ResilientOrdersClient<Channel>, tokio::task::JoinHandle<()>) {
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let task = steadfast_examples::faulty::serve_with_deadlines(
        Routes::new(OrdersServer::new(server)),
        incoming,
    );
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    (ResilientOrdersClient::new(channel), task)
}

fn order(id: u32, work_ms: u32) -> Order {
    Order { id, work_ms }
}

#[tokio::test]
async fn the_rate_limit_admits_its_burst_and_refuses_the_rest_before_the_server() {
    let server = Server::default();
    let (client, task) = serve(server.clone()).await;
    let mut a = client.clone();
    let mut b = client.clone(); // a clone shares the limit
    a.create(order(1, 0)).await.unwrap();
    b.create(order(2, 0)).await.unwrap();
    let refused = a.create(order(3, 0)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.metadata().get("grpc-retry-pushback-ms").is_some());
    assert_eq!(
        server.calls.load(SeqCst),
        2,
        "the refusal never reached the server"
    );
    let limiter = client.rate_limiter("Create").unwrap();
    assert_eq!(limiter.name(), "limits.testing.Orders/Create");
    assert!(client.rate_limiter("Slow").is_none());
    // Another client has a limit of its own.
    let (mut other, other_task) = serve(Server::default()).await;
    other.create(order(4, 0)).await.unwrap();
    task.abort();
    other_task.abort();
}

#[tokio::test]
async fn every_attempt_asks_the_rate_limit() {
    let server = Server::default();
    server.fail.store(2, SeqCst);
    let (mut client, task) = serve(server.clone()).await;
    // Attempt 1 and 2 take the burst and fail; attempt 3 is refused.
    let status = client.create(order(1, 0)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(server.calls.load(SeqCst), 2);
    task.abort();
}

#[tokio::test]
async fn the_concurrency_limit_keeps_one_call_in_flight() {
    let server = Server::default();
    let (client, task) = serve(server.clone()).await;
    let (mut a, mut b) = (client.clone(), client.clone());
    let slow = tokio::spawn(async move { a.slow(order(1, 300)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = b.slow(order(2, 0)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(slow.await.unwrap().is_ok());
    assert!(b.slow(order(3, 0)).await.is_ok(), "the place came back");
    assert_eq!(server.calls.load(SeqCst), 2);
    assert_eq!(client.concurrency_limit("Slow").unwrap().in_flight(), 0);
    task.abort();
}

/// `breaker { throttle: 2.0 }`: the method is throttled as the SRE book
/// says (never opened): of 300 calls to a failing server, most are refused
/// in the client as "throttled", some still reach it.
#[tokio::test]
async fn a_throttle_option_throttles_the_methods_calls_in_the_client() {
    let server = Server::default();
    let (mut client, task) = serve(server.clone()).await;
    let mut throttled = 0;
    for id in 0..300 {
        let status = client.throttled(order(id, 0)).await.unwrap_err();
        if status.message().starts_with("throttled") {
            throttled += 1;
        }
    }
    let reached = server.calls.load(SeqCst);
    assert_eq!(throttled + reached, 300);
    assert!(throttled > 150, "{throttled} throttled, {reached} reached");
    assert!(reached >= 1);
    task.abort();
}

/// `concurrency { max: 64 adaptive: "gradient" }`: the method's limit is an
/// `AdaptiveLimit`, starting at 20 places, that moves (here: pinned at 3
/// to measure the latency without load, as it does first) and stays
/// within 1 and 64, while the calls are served.
#[tokio::test]
async fn an_adaptive_concurrency_option_gives_the_method_an_adaptive_limit() {
    let server = Server::default();
    let (client, task) = serve(server.clone()).await;
    let limit = client.concurrency_limit("Adaptive").unwrap();
    assert_eq!(limit.max(), 20);
    let mut calls = tokio::task::JoinSet::new();
    for id in 0..3 {
        let mut client = client.clone();
        calls.spawn(async move { client.adaptive(order(id, 5)).await });
    }
    while let Some(call) = calls.join_next().await {
        call.unwrap().unwrap();
    }
    let max = client.concurrency_limit("Adaptive").unwrap().max();
    assert_eq!(max, 3, "pinned for its first measurement");
    for id in 0..60 {
        client.clone().adaptive(order(id, 1)).await.unwrap();
    }
    let max = client.concurrency_limit("Adaptive").unwrap().max();
    assert!((1..=64).contains(&max), "{max}");
    assert!(
        max != 3,
        "the measurement ended and the limit went back: {max}"
    );
    task.abort();
}

/// A slow backend behind a bulkhead of 8 with a queue: 200 callers at
/// once, every one served, never more than 8 at the backend.
#[steadfast::concurrency_limit(max = 8, queue = 10s)]
async fn guarded(
    client: &mut steadfast_tests::limits::orders_client::OrdersClient<Channel>,
    id: u32,
) -> Result<Order, Status> {
    Ok(client.slow(order(id, 20)).await?.into_inner())
}

#[tokio::test]
async fn a_bulkhead_keeps_a_slow_backend_at_its_limit_under_200_callers() {
    let server = Server::default();
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let task = steadfast_examples::faulty::serve_with_deadlines(
        Routes::new(OrdersServer::new(server.clone())),
        incoming,
    );
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let client = steadfast_tests::limits::orders_client::OrdersClient::new(channel);
    let mut callers = tokio::task::JoinSet::new();
    for id in 0..200 {
        let mut client = client.clone();
        callers.spawn(async move { guarded(&mut client, id).await });
    }
    let mut served = 0;
    while let Some(answer) = callers.join_next().await {
        answer.unwrap().unwrap();
        served += 1;
    }
    assert_eq!(served, 200);
    assert_eq!(server.calls.load(SeqCst), 200);
    let most = server.most_in_flight.load(SeqCst);
    assert!(most <= 8, "{most} calls at the backend at once");
    assert!(most >= 2, "the callers did run side by side: {most}");
    task.abort();
}
