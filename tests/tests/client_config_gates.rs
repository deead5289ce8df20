//! The breakers, limits and retry budgets of a settings file
//! (`circuitBreaker`, `rateLimit`, `concurrency`, `budget`): asked by each
//! attempt of a call made by hand and of a generated client made
//! `from_config` (against a real tonic server on 127.0.0.1), over the proto
//! options' ones key by key or turned `off`, and kept across reloads with
//! their state where their shape allows.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use steadfast::config::{CallPolicy, Clients, Format};
use steadfast::CircuitState;
use steadfast_tests::configured::orders_server::{Orders, OrdersServer};
use steadfast_tests::configured::{Order, ResilientOrdersClient};
use tonic::{Code, Request, Response, Status};

/// A file with one client `c` whose section is `body` (YAML flow-map
/// entries).
fn file(body: &str) -> String {
    format!("grpc:\n  client:\n    c: {{ {body} }}\n")
}

/// `policy.run` of an attempt that fails with `UNAVAILABLE` (`fail`) or
/// succeeds, counting attempts in `attempts`.
async fn run(policy: &CallPolicy, attempts: &AtomicU32, fail: bool) -> Result<(), Status> {
    policy
        .run(|| async {
            attempts.fetch_add(1, SeqCst);
            if fail {
                Err(Status::unavailable("down"))
            } else {
                Ok(())
            }
        })
        .await
}

#[tokio::test(start_paused = true)]
async fn a_files_breaker_opens_on_failures_then_refuses_without_an_attempt() {
    let clients = Clients::parse(
        &file(
            "maxRetryAttempts: 0, circuitBreaker: { failureRatio: 0.5, minCalls: 4, openFor: 10s }",
        ),
        Format::Yaml,
    )
    .unwrap();
    let users = clients.client("c").unwrap();
    let attempts = AtomicU32::new(0);
    for _ in 0..4 {
        run(&users.call("M"), &attempts, true).await.unwrap_err();
    }
    assert_eq!(attempts.load(SeqCst), 4);
    let breaker = users.call("M").circuit_breaker().unwrap();
    assert_eq!(breaker.state(), CircuitState::Open);
    let refused = run(&users.call("M"), &attempts, false).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(attempts.load(SeqCst), 4, "refused before the attempt");
    assert!(
        users
            .call("Other")
            .circuit_breaker()
            .is_some_and(|b| b.state() == CircuitState::Closed),
        "one breaker per method"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_that_changes_the_breakers_settings_keeps_it_open() {
    let breaker = |open_for: &str| {
        file(&format!(
            "maxRetryAttempts: 0, circuitBreaker: {{ failureRatio: 0.5, minCalls: 2, openFor: {open_for}, halfOpen: 1 }}"
        ))
    };
    let clients = Clients::parse(&breaker("10s"), Format::Yaml).unwrap();
    let c = clients.client("c").unwrap();
    let attempts = AtomicU32::new(0);
    for _ in 0..2 {
        run(&c.call("M"), &attempts, true).await.unwrap_err();
    }
    let before = c.call("M").circuit_breaker().unwrap();
    assert_eq!(before.state(), CircuitState::Open);

    clients.reload(&breaker("10s")).unwrap();
    assert!(
        Arc::ptr_eq(&before, &c.call("M").circuit_breaker().unwrap()),
        "the same settings keep the same breaker"
    );

    clients.reload(&breaker("20s")).unwrap();
    let after = c.call("M").circuit_breaker().unwrap();
    assert!(!Arc::ptr_eq(&before, &after), "new settings, a new breaker");
    assert_eq!(
        after.state(),
        CircuitState::Open,
        "that took over the open state"
    );
    run(&c.call("M"), &attempts, false).await.unwrap_err();
    assert_eq!(attempts.load(SeqCst), 2, "still refused without an attempt");

    // Open until the old breaker's 10 s were over, then probes.
    tokio::time::advance(Duration::from_secs(10)).await;
    run(&c.call("M"), &attempts, false).await.unwrap();
    assert_eq!(attempts.load(SeqCst), 3);
    assert_eq!(after.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_reload_that_changes_a_rate_keeps_the_limiter_and_its_turns() {
    let rate =
        |rate: &str, queue: &str| file(&format!("rateLimit: {{ rate: {rate}, burst: 1{queue} }}"));
    let clients = Clients::parse(&rate("1/s", ""), Format::Yaml).unwrap();
    let c = clients.client("c").unwrap();
    let attempts = AtomicU32::new(0);
    run(&c.call("M"), &attempts, false).await.unwrap();
    let limiter = c.call("M").rate_limiter().unwrap();

    clients.reload(&rate("2/s", "")).unwrap();
    let kept = c.call("M").rate_limiter().unwrap();
    assert!(Arc::ptr_eq(&limiter, &kept), "a new rate, the same limiter");
    assert_eq!(kept.rate(), (2, Duration::from_secs(1)));
    // GCRA: the next turn stays where the old rate put it, a second after
    // the first call; then the new rate spaces them half a second apart.
    let refused = run(&c.call("M"), &attempts, false).await.unwrap_err();
    assert_eq!(
        refused.code(),
        Code::ResourceExhausted,
        "the turn taken before the reload still counts"
    );
    assert_eq!(attempts.load(SeqCst), 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    run(&c.call("M"), &attempts, false).await.unwrap();
    tokio::time::advance(Duration::from_millis(500)).await;
    run(&c.call("M"), &attempts, false).await.unwrap();
    assert_eq!(attempts.load(SeqCst), 3, "half a second apart at 2/s");

    clients.reload(&rate("2/s", ", queue: 1s")).unwrap();
    let queued = c.call("M").rate_limiter().unwrap();
    assert!(
        !Arc::ptr_eq(&limiter, &queued),
        "a queue is a limiter of another shape"
    );
    assert_eq!(queued.max_wait(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_concurrency_limit_refuses_the_call_beyond_it_and_a_reload_raises_it_in_place() {
    let clients = Clients::parse(&file("concurrency: 1"), Format::Yaml).unwrap();
    let c = clients.client("c").unwrap();
    let policy = c.call("M");
    let (entered, release) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
    let first = policy.run(|| async {
        entered.notify_one();
        release.notified().await;
        Ok::<_, Status>(())
    });
    let second = async {
        entered.notified().await;
        let refused = run(&c.call("M"), &AtomicU32::new(0), false).await;
        release.notify_one();
        refused
    };
    let (first, second) = tokio::join!(first, second);
    first.unwrap();
    assert_eq!(second.unwrap_err().code(), Code::ResourceExhausted);

    let limit = policy.concurrency_limit().unwrap();
    clients.reload(&file("concurrency: 2")).unwrap();
    let raised = c.call("M").concurrency_limit().unwrap();
    assert!(Arc::ptr_eq(&limit, &raised));
    assert_eq!(raised.max(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_files_budget_stops_retries_once_half_its_tokens_are_spent() {
    // gRPC A6: each failed attempt takes a token; a retry needs more than
    // half the bucket. With 4 tokens: the first failure leaves 3 (retry),
    // the second 2 (no more).
    let clients = Clients::parse(
        &file(
            "maxRetryAttempts: 9, initialBackoff: 1ms, budget: { maxTokens: 4, tokenRatio: 0.1 }",
        ),
        Format::Yaml,
    )
    .unwrap();
    let c = clients.client("c").unwrap();
    let attempts = AtomicU32::new(0);
    run(&c.call("M"), &attempts, true).await.unwrap_err();
    assert_eq!(attempts.load(SeqCst), 2);
    assert!(
        Arc::ptr_eq(
            &c.call("M").budget().unwrap(),
            &c.call("Other").budget().unwrap()
        ),
        "one budget for the client's calls"
    );

    let unbounded = Clients::parse(
        &file("maxRetryAttempts: 9, initialBackoff: 1ms"),
        Format::Yaml,
    )
    .unwrap();
    let attempts = AtomicU32::new(0);
    run(&unbounded.client("c").unwrap().call("M"), &attempts, true)
        .await
        .unwrap_err();
    assert_eq!(attempts.load(SeqCst), 10, "without a budget, every retry");
}

#[tokio::test(start_paused = true)]
async fn per_try_timeouts_retry_within_the_calls_timeout_and_stop_at_it() {
    let clients = Clients::parse(
        &file("timeout: 500ms, perTryTimeout: 200ms, maxRetryAttempts: 5, initialBackoff: 1ms, jitter: none"),
        Format::Yaml,
    )
    .unwrap();
    let policy = clients.client("c").unwrap().call("M");
    let attempts = AtomicU32::new(0);
    let start = tokio::time::Instant::now();
    let answer = policy
        .run(|| async {
            attempts.fetch_add(1, SeqCst);
            std::future::pending::<Result<(), Status>>().await
        })
        .await;
    assert_eq!(answer.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(
        attempts.load(SeqCst),
        3,
        "200 ms, 200 ms, and the 98 ms left"
    );
    assert_eq!(start.elapsed(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn a_files_hedge_starts_the_next_attempt_after_its_delay_and_keeps_the_first_answer() {
    let clients = Clients::parse(
        &file("maxRetryAttempts: 4, methods: { M: { hedge: { maxAttempts: 3, delay: 50ms } } }"),
        Format::Yaml,
    )
    .unwrap();
    let c = clients.client("c").unwrap();
    let policy = c.call("M");
    assert!(policy.is_hedged());
    assert!(
        !c.call("Other").is_hedged(),
        "the client's other methods retry"
    );
    let started = AtomicU32::new(0);
    let start = tokio::time::Instant::now();
    let answer = policy
        .run(|| async {
            let n = started.fetch_add(1, SeqCst);
            if n == 0 {
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            Ok::<_, Status>(n)
        })
        .await;
    assert_eq!(answer.unwrap(), 1, "the hedge answered first");
    assert_eq!(started.load(SeqCst), 2);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
}

#[test]
fn a_shared_rate_limit_is_the_one_registered_under_its_name() {
    let error = Clients::parse(
        &file("rateLimit: { shared: config-test-missing }"),
        Format::Yaml,
    )
    .unwrap_err();
    assert_eq!(
        error.problems(),
        ["<text>:3:5: grpc.client.c: rateLimit.shared: no rate limiter is registered as `config-test-missing` (steadfast::limit::register, before the settings are read)"]
    );

    let registered = Arc::new(steadfast::RateLimiter::per_second(7));
    steadfast::limit::register("config-test-shared", Arc::clone(&registered)).unwrap();
    let clients = Clients::parse(
        &file("rateLimit: { shared: config-test-shared }"),
        Format::Yaml,
    )
    .unwrap();
    let asked = clients
        .client("c")
        .unwrap()
        .call("M")
        .rate_limiter()
        .unwrap();
    assert!(Arc::ptr_eq(&asked, &registered));

    let refused = clients
        .reload(&file("rateLimit: { shared: config-test-missing }"))
        .unwrap_err();
    assert_eq!(refused.problems().len(), 1, "{refused}");
}

/// `Orders` of `tests/proto/limits.proto` (`Create`: rate 10/s, burst 2,
/// retried on `UNAVAILABLE`; `Slow`: one in flight), counting calls.
#[derive(Clone, Default)]
struct Server {
    calls: Arc<AtomicU32>,
    in_flight: Arc<AtomicU32>,
    most_in_flight: Arc<AtomicU32>,
}

#[tonic::async_trait]
impl Orders for Server {
    /// The first call takes the order's `work_ms`; the others answer at once.
    async fn create(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        let first = self.calls.fetch_add(1, SeqCst) == 0;
        let order = request.into_inner();
        if first {
            tokio::time::sleep(Duration::from_millis(u64::from(order.work_ms))).await;
        }
        Ok(Response::new(order))
    }

    async fn slow(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.calls.fetch_add(1, SeqCst);
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.in_flight.fetch_sub(1, SeqCst);
        Ok(Response::new(request.into_inner()))
    }

    async fn throttled(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.create(request).await
    }

    async fn adaptive(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.create(request).await
    }
}

async fn serve(server: Server) -> std::net::SocketAddr {
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrdersServer::new(server))
            .serve_with_incoming(incoming),
    );
    addr
}

fn orders(address: std::net::SocketAddr, rest: &str) -> String {
    format!("grpc:\n  client:\n    orders:\n      address: 'static://{address}'\n{rest}")
}

#[tokio::test]
async fn a_generated_client_keeps_the_protos_rate_limit_until_the_file_turns_it_off() {
    let server = Server::default();
    let addr = serve(server.clone()).await;
    let clients = Clients::parse(&orders(addr, ""), Format::Yaml).unwrap();
    let mut client = ResilientOrdersClient::from_config(&clients, "orders").unwrap();
    let mut refused = 0;
    for _ in 0..4 {
        if let Err(status) = client.create(Order::default()).await {
            assert_eq!(status.code(), Code::ResourceExhausted);
            refused += 1;
        }
    }
    assert_eq!(server.calls.load(SeqCst), 2, "the proto's burst of 2");
    assert_eq!(refused, 2);
    let limiter = clients
        .client("orders")
        .unwrap()
        .call("Create")
        .rate_limiter()
        .unwrap();
    assert_eq!(
        limiter.rate(),
        (10, Duration::from_secs(1)),
        "the proto's rate, seen by name"
    );

    clients
        .reload(&orders(
            addr,
            "      methods:\n        Create: { rateLimit: off }\n",
        ))
        .unwrap();
    for _ in 0..4 {
        client.create(Order::default()).await.unwrap();
    }
    assert_eq!(
        server.calls.load(SeqCst),
        2 + 4,
        "no limit once the file says off"
    );
}

#[tokio::test]
async fn a_generated_clients_retried_method_is_hedged_when_the_file_says_so() {
    let server = Server::default();
    let addr = serve(server.clone()).await;
    let clients = Clients::parse(
        &orders(
            addr,
            "      methods:\n        Create: { hedge: { maxAttempts: 2, delay: 100ms } }\n",
        ),
        Format::Yaml,
    )
    .unwrap();
    let mut client = ResilientOrdersClient::from_config(&clients, "orders").unwrap();
    let start = std::time::Instant::now();
    let order = Order {
        id: 7,
        work_ms: 5000,
    };
    assert_eq!(client.create(order).await.unwrap().into_inner().id, 7);
    let took = start.elapsed();
    assert_eq!(
        server.calls.load(SeqCst),
        2,
        "the first attempt slow, the hedge answered"
    );
    assert!(
        took >= Duration::from_millis(90) && took < Duration::from_secs(3),
        "{took:?}"
    );

    let refused = clients
        .reload(&orders(
            addr,
            "      methods:\n        Slow: { hedge: { maxAttempts: 2, delay: 10ms } }\n",
        ))
        .unwrap_err();
    assert_eq!(
        refused.problems(),
        ["<text>:6:9: grpc.client.orders.methods.Slow: its proto options do not retry it (not idempotent, or no retry policy): the file cannot make it retried or hedged"]
    );
}

#[tokio::test]
async fn a_files_concurrency_over_the_protos_lets_more_calls_in_flight() {
    let server = Server::default();
    let addr = serve(server.clone()).await;
    let clients = Clients::parse(
        &orders(
            addr,
            "      methods:\n        Slow: { concurrency: { max: 3, queue: 5s } }\n",
        ),
        Format::Yaml,
    )
    .unwrap();
    let client = ResilientOrdersClient::from_config(&clients, "orders").unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let mut client = client.clone();
        calls.spawn(async move { client.slow(Order::default()).await });
    }
    while let Some(answer) = calls.join_next().await {
        answer.unwrap().unwrap();
    }
    assert_eq!(server.calls.load(SeqCst), 6, "queued, not refused");
    assert_eq!(
        server.most_in_flight.load(SeqCst),
        3,
        "the file's 3, not the proto's 1"
    );
}

/// Calls by hand that name ever-new methods (a proxy passing on what it
/// was asked) give the first 256 gates of their own; the rest share one
/// set, so the sets do not grow without end. A method the file names keeps
/// its own past the bound.
#[tokio::test(start_paused = true)]
async fn past_256_methods_called_by_hand_the_unnamed_ones_share_one_set_of_gates() {
    let clients = Clients::parse(
        &file("rateLimit: 100/s, methods: { Named: { rateLimit: 5/s } }"),
        Format::Yaml,
    )
    .unwrap();
    let c = clients.client("c").unwrap();
    let limiter = |method: &str| c.call(method).rate_limiter().unwrap();
    let own: Vec<_> = (0..256).map(|i| limiter(&format!("M{i}"))).collect();
    for (i, a) in own.iter().enumerate() {
        assert!(
            !own[..i].iter().any(|b| Arc::ptr_eq(a, b)),
            "M{i} has a limiter of its own"
        );
        assert!(Arc::ptr_eq(a, &limiter(&format!("M{i}"))), "and keeps it");
    }
    let past = limiter("M256");
    assert!(!own.iter().any(|a| Arc::ptr_eq(a, &past)));
    for i in 257..400 {
        assert!(
            Arc::ptr_eq(&past, &limiter(&format!("M{i}"))),
            "M{i} shares"
        );
    }
    assert_eq!(past.rate(), (100, Duration::from_secs(1)), "the client's");
    let named = limiter("Named");
    assert!(!Arc::ptr_eq(&named, &past), "a named method keeps its own");
    assert_eq!(named.rate(), (5, Duration::from_secs(1)));
}
