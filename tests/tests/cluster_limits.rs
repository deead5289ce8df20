//! `RateLimiter::cluster` against a real `redis-server` on a loopback port
//! of each test's own (started and stopped by the test; a machine without
//! Redis fails here, loudly): one limit shared by several limiters as by
//! replicas, keyed limits whose Redis keys vanish when idle, a `LimitLayer`
//! on two servers and generated clients sharing one registered limit; and
//! the faults: Redis killed mid-run, restarted, slow, and a call's deadline
//! shorter than the wait for Redis.
#![allow(clippy::unwrap_used)] // test-only

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use steadfast::limit::{Cluster, Unreachable};
use steadfast::tonic::LimitLayer;
use steadfast::{deadline, KeyedRateLimiter, RateLimiter};
use steadfast_examples::redis_server::RedisServer;
use steadfast_tests::limits::clustered_client::ClusteredClient;
use steadfast_tests::limits::clustered_server::{Clustered, ClusteredServer};
use steadfast_tests::limits::{Order, ResilientClusteredClient};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

async fn connect(redis: &RedisServer) -> ConnectionManager {
    let client = redis::Client::open(redis.url()).unwrap();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(200)))
        .set_max_delay(Duration::from_millis(100));
    ConnectionManager::new_with_config(client, config)
        .await
        .unwrap()
}

/// A limit's Redis with a bound no loaded test machine misses (1 s), and
/// nothing admitted without it: what these tests see is Redis's decision.
async fn patient(redis: &RedisServer) -> Cluster {
    Cluster::new(connect(redis).await)
        .timeout(Duration::from_secs(1))
        .when_unreachable(Unreachable::Refuse)
}

async fn command<T: redis::FromRedisValue>(redis: &RedisServer, args: &[&str]) -> T {
    let mut connection = connect(redis).await;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(&mut connection).await.unwrap()
}

/// Makes `redis` answer nothing for 400 ms (`DEBUG SLEEP`), from a
/// connection of its own; returns once the sleep has begun.
async fn slow_down(redis: &RedisServer) -> tokio::task::JoinHandle<redis::RedisResult<()>> {
    let url = redis.url();
    let sleeper = tokio::spawn(async move {
        let mut connection = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.4")
            .query_async::<()>(&mut connection)
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    sleeper
}

/// Calls `limiter` until `run` has passed, pausing `every` between calls:
/// the calls it admitted.
async fn admitted_during(limiter: Arc<RateLimiter>, run: Duration, every: Duration) -> u32 {
    let start = Instant::now();
    let mut admitted = 0;
    while start.elapsed() < run {
        if limiter.acquire().await.is_ok() {
            admitted += 1;
        }
        tokio::time::sleep(every).await;
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_share_one_rate_and_four_local_limiters_admit_four_times_it() {
    let redis = RedisServer::start();
    let run = Duration::from_millis(1500);
    let mut replicas = Vec::new();
    for _ in 0..4 {
        let limiter = RateLimiter::cluster(
            patient(&redis).await,
            "shared-rate",
            RateLimiter::per_second(100).burst(10),
        );
        replicas.push(tokio::spawn(admitted_during(
            Arc::new(limiter),
            run,
            Duration::from_millis(1),
        )));
    }
    let start = Instant::now();
    let mut total = 0;
    for replica in replicas {
        total += replica.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    // GCRA on Redis's clock: at most rate × time + burst, all replicas together.
    let most = 100.0 * elapsed + 10.0 + 1.0;
    assert!(
        f64::from(total) <= most,
        "{total} admitted in {elapsed:.2} s, at most {most:.0}"
    );
    assert!(
        f64::from(total) >= 100.0 * 1.5 * 0.8,
        "{total} admitted: the rate is used"
    );

    // Four limiters of their own admit about four times the rate.
    let mut locals = Vec::new();
    for _ in 0..4 {
        let limiter = Arc::new(RateLimiter::per_second(100).burst(10));
        locals.push(tokio::spawn(admitted_during(
            limiter,
            run,
            Duration::from_millis(1),
        )));
    }
    let mut local_total = 0;
    for local in locals {
        local_total += local.await.unwrap();
    }
    assert!(
        local_total >= 3 * total,
        "local {local_total}, cluster {total}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_names_the_wait_redis_computed() {
    let redis = RedisServer::start();
    let limiter = RateLimiter::cluster(
        patient(&redis).await,
        "refusal",
        RateLimiter::per_second(10).burst(1),
    );
    limiter.acquire().await.unwrap();
    let refused = limiter.acquire().await.unwrap_err();
    assert_eq!(refused.name(), "refusal");
    let wait = refused.retry_after().unwrap();
    assert!(
        wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
        "{wait:?}"
    );
    assert_eq!(limiter.redis_reachable(), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_waits_for_the_turn_two_replicas_share() {
    let redis = RedisServer::start();
    let make = |connection| {
        RateLimiter::cluster(
            connection,
            "queued",
            RateLimiter::per_second(20)
                .burst(1)
                .queue(Duration::from_secs(2)),
        )
    };
    let (a, b) = (make(patient(&redis).await), make(patient(&redis).await));
    let start = Instant::now();
    for _ in 0..3 {
        a.acquire().await.unwrap();
        b.acquire().await.unwrap();
    }
    // Six turns 50 ms apart, the first at once: 250 ms at least.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(240), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_limits_keep_one_redis_key_per_key_that_vanishes_when_idle() {
    let redis = RedisServer::start();
    let per_user = KeyedRateLimiter::new(RateLimiter::cluster(
        patient(&redis).await,
        "per-user",
        RateLimiter::per_second(10).burst(1),
    ));
    per_user.acquire_key(&"alice").await.unwrap();
    assert!(
        per_user.acquire_key(&"alice").await.is_err(),
        "alice's budget is spent"
    );
    per_user.acquire_key(&"bob").await.unwrap();
    let mut keys: Vec<String> = command(&redis, &["KEYS", "steadfast:rate:per-user:*"]).await;
    keys.sort();
    assert_eq!(
        keys,
        [
            "steadfast:rate:per-user:\"alice\"",
            "steadfast:rate:per-user:\"bob\""
        ]
    );
    let ttl: i64 = command(&redis, &["PTTL", "steadfast:rate:per-user:\"bob\""]).await;
    assert!(
        (1..=102).contains(&ttl),
        "bob's key expires when his turn comes: {ttl} ms"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let left: u64 = command(&redis, &["DBSIZE"]).await;
    assert_eq!(left, 0, "idle keys are gone from Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_the_local_share_takes_over_within_the_bound() {
    let mut redis = RedisServer::start();
    let limiter = RateLimiter::cluster(
        Cluster::new(connect(&redis).await).replicas(4),
        "killed",
        RateLimiter::per_second(400).burst(40),
    );
    limiter.acquire().await.unwrap();
    redis.kill();
    let start = Instant::now();
    let first = limiter.acquire().await;
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(limiter.redis_reachable(), Some(false));
    // The share: 100/s in bursts of 10; the first call took one.
    let mut admitted = u32::from(first.is_ok());
    let start = Instant::now();
    for _ in 0..30 {
        if limiter.acquire().await.is_ok() {
            admitted += 1;
        }
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "nothing waits for the dead Redis"
    );
    assert!(
        (10..=12).contains(&admitted),
        "the local share's burst: {admitted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_the_cluster_limit_resumes_and_loads_its_script_again() {
    let mut redis = RedisServer::start();
    let limiter = RateLimiter::cluster(
        patient(&redis).await,
        "restarted",
        RateLimiter::per(100, Duration::from_secs(60)), // a key that lives a while
    );
    limiter.acquire().await.unwrap();
    redis.restart(); // empty: no keys, no scripts
    let _ = limiter.acquire().await;
    let start = Instant::now();
    while limiter.redis_reachable() != Some(true) || command::<u64>(&redis, &["DBSIZE"]).await == 0
    {
        assert!(start.elapsed() < Duration::from_secs(10), "never resumed");
        let _ = limiter.acquire().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exists: u64 = command(&redis, &["EXISTS", "steadfast:rate:restarted"]).await;
    assert_eq!(exists, 1, "the limit's state is in the new Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_is_not_waited_for_past_the_bound() {
    let redis = RedisServer::start();
    let limiter = Arc::new(RateLimiter::cluster(
        Cluster::new(connect(&redis).await).timeout(Duration::from_millis(20)),
        "slow",
        RateLimiter::per_second(100),
    ));
    limiter.acquire().await.unwrap();
    let sleeper = slow_down(&redis).await;
    let start = Instant::now();
    let admitted = limiter.acquire().await;
    let waited = start.elapsed();
    assert!(admitted.is_ok(), "decided locally: {admitted:?}");
    assert!(waited < Duration::from_millis(300), "{waited:?}");
    assert_eq!(limiter.redis_reachable(), Some(false));
    sleeper.await.unwrap().unwrap();
    let start = Instant::now();
    while limiter.redis_reachable() != Some(true) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the probe never found Redis again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_never_waits_for_redis_past_its_deadline() {
    let redis = RedisServer::start();
    let limiter = RateLimiter::cluster(
        Cluster::new(connect(&redis).await)
            .timeout(Duration::from_secs(5))
            .when_unreachable(Unreachable::Refuse),
        "deadline",
        RateLimiter::per_second(100),
    );
    limiter.acquire().await.unwrap();
    let sleeper = slow_down(&redis).await;
    let start = Instant::now();
    let result = deadline::scope(Duration::from_millis(100), limiter.acquire()).await;
    let waited = start.elapsed();
    assert!(waited < Duration::from_millis(300), "{waited:?}");
    assert!(
        matches!(result, Ok(Err(_)) | Err(_)),
        "refused, or out of time: {result:?}"
    );
    assert_eq!(
        limiter.redis_reachable(),
        Some(true),
        "the call's own deadline is not Redis's fault"
    );
    sleeper.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_calls_are_admitted_or_refused_as_chosen() {
    let mut redis = RedisServer::start();
    let open = RateLimiter::cluster(
        Cluster::new(connect(&redis).await).when_unreachable(Unreachable::Admit),
        "open",
        RateLimiter::per_second(1).burst(1),
    );
    let closed = RateLimiter::cluster(
        Cluster::new(connect(&redis).await).when_unreachable(Unreachable::Refuse),
        "closed",
        RateLimiter::per_second(1000),
    );
    redis.kill();
    for _ in 0..20 {
        assert!(open.acquire().await.is_ok());
        let refused = closed.acquire().await.unwrap_err();
        assert_eq!(refused.retry_after(), None);
    }
    // A blocking caller cannot wait for Redis: it is decided as without it.
    assert!(open.try_acquire().is_ok());
    assert!(closed.try_acquire().is_err());
}

#[derive(Clone, Default)]
struct Counting {
    calls: Arc<AtomicU32>,
}

#[tonic::async_trait]
impl Clustered for Counting {
    async fn create(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.calls.fetch_add(1, SeqCst);
        Ok(Response::new(request.into_inner()))
    }
}

async fn serve(users: Counting, limits: LimitLayer) -> SocketAddr {
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(limits)
            .add_service(ClusteredServer::new(users))
            .serve_with_incoming(incoming),
    );
    addr
}

fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_behind_one_cluster_limit_admit_its_burst_between_them() {
    let redis = RedisServer::start();
    let calls = Counting::default();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let limit = RateLimiter::cluster(
            patient(&redis).await,
            "servers",
            RateLimiter::per(5, Duration::from_secs(60)),
        );
        let layer = LimitLayer::new().method("/limits.testing.Clustered/Create", limit);
        servers.push(serve(calls.clone(), layer).await);
    }
    let mut codes = Vec::new();
    for i in 0..12 {
        let mut client = ClusteredClient::new(channel(servers[i % 2]));
        let answer = client.create(Order::default()).await;
        codes.push(answer.map_or_else(|status| status.code(), |_| Code::Ok));
    }
    let ok = codes.iter().filter(|c| **c == Code::Ok).count();
    assert_eq!(ok, 5, "{codes:?}");
    assert!(
        codes[5..].iter().all(|c| *c == Code::ResourceExhausted),
        "{codes:?}"
    );
    assert_eq!(
        calls.calls.load(SeqCst),
        5,
        "refusals never reach the handler"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_clients_ask_the_limiter_registered_under_their_options_name() {
    let redis = RedisServer::start();
    let server = Counting::default();
    let addr = serve(server.clone(), LimitLayer::new()).await;

    // Before it is registered, each client has a limiter of its own: 1000/s.
    let early = ResilientClusteredClient::new(channel(addr));
    assert_eq!(early.rate_limiter("Create").unwrap().rate().0, 1000);

    let shared = RateLimiter::cluster(
        patient(&redis).await,
        "clustered",
        RateLimiter::per(4, Duration::from_secs(60)),
    );
    steadfast::limit::register("limits.testing.clustered", shared).unwrap();
    let mut clients = [
        ResilientClusteredClient::new(channel(addr)),
        ResilientClusteredClient::new(channel(addr)),
    ];
    assert_eq!(clients[0].rate_limiter("Create").unwrap().rate().0, 4);
    let mut ok = 0;
    for i in 0..10 {
        if clients[i % 2].create(Order::default()).await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 4, "the two clients share the registered limit's burst");
    assert_eq!(server.calls.load(SeqCst), 4);
    let state: u64 = command(&redis, &["EXISTS", "steadfast:rate:clustered"]).await;
    assert_eq!(state, 1, "the shared limit's state is in Redis");
}

/// A limit outlives the runtime whose probe was looking for Redis (a
/// `static` used by one `#[tokio::test]` after another): the next runtime's
/// calls ask Redis again rather than deciding locally for ever.
#[test]
fn a_probe_ended_with_its_runtime_leaves_redis_to_be_asked_again() {
    let mut redis = RedisServer::start();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let limiter = first.block_on(async {
        RateLimiter::cluster(
            connect(&redis).await,
            "outlives",
            RateLimiter::per(100, Duration::from_secs(60)),
        )
    });
    redis.kill();
    first.block_on(async {
        let _ = limiter.acquire().await;
    });
    assert_eq!(limiter.redis_reachable(), Some(false));
    drop(first); // and its probe with it
    assert_eq!(limiter.redis_reachable(), Some(true), "to be asked again");

    redis.restart();
    runtime().block_on(async {
        let start = Instant::now();
        while command::<u64>(&redis, &["EXISTS", "steadfast:rate:outlives"]).await == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Redis never asked again"
            );
            let _ = limiter.acquire().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}
