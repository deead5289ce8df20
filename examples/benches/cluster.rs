//! Cluster-wide rate limits (`RateLimiter::cluster`, feature `redis`)
//! against a real redis-server on loopback, started here:
//!
//! 1. Four replicas (four tokio runtimes on threads of their own, each with
//!    its own Redis connection and its own limiter of the same name) share
//!    one limit of 1,000/s (burst 100) for 10 s: the total admitted against
//!    `rate × time + burst`; the same with four local limiters.
//! 2. What one admission costs on loopback, calls one after another on one
//!    connection: the cluster limiter against the local limiter and against
//!    one plain `GET` with the same client (the floor of a round trip). In
//!    one process, the variants alternated round by round; each one's
//!    median and spread (min–max), and the ratio to the `GET`.
//! 3. Calls a second one connection sustains, 64 calls in flight.
//! 4. A keyed limit over 100,000 keys: Redis's memory with the keys live,
//!    and once they have gone idle.
//!
//! `cargo bench -p steadfast-examples --no-default-features --features redis --bench cluster`
#![allow(clippy::unwrap_used)] // a benchmark

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use steadfast::limit::{Cluster, Unreachable};
use steadfast::{KeyedRateLimiter, RateLimiter};
use steadfast_examples::redis_server::RedisServer;

#[path = "../../runtime/benches/common/alternated.rs"]
mod alternated;

use alternated::{median, sample, spread, Variant};

const RATE: u32 = 1000;
const BURST: u32 = 100;
const SHARED_FOR: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(url: &str) -> ConnectionManager {
    ConnectionManager::new(redis::Client::open(url).unwrap())
        .await
        .unwrap()
}

/// Four replicas, each a runtime of its own with 4 tasks asking its
/// limiter as fast as they can for `SHARED_FOR`: the calls admitted, all
/// together, and the time they ran.
fn four_replicas(url: &str, make: impl Fn(ConnectionManager) -> RateLimiter + Sync) -> (u64, f64) {
    let admitted = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                runtime().block_on(async {
                    let limiter = Arc::new(make(connect(url).await));
                    let stop = Instant::now() + SHARED_FOR;
                    let tasks: Vec<_> = (0..4)
                        .map(|_| {
                            let limiter = Arc::clone(&limiter);
                            tokio::spawn(async move {
                                let mut admitted = 0u64;
                                while Instant::now() < stop {
                                    if limiter.acquire().await.is_ok() {
                                        admitted += 1;
                                    }
                                    tokio::task::yield_now().await;
                                }
                                admitted
                            })
                        })
                        .collect();
                    for task in tasks {
                        admitted.fetch_add(task.await.unwrap(), Ordering::Relaxed);
                    }
                });
            });
        }
    });
    (admitted.into_inner(), start.elapsed().as_secs_f64())
}

fn shared_limit(url: &str) {
    println!("== 1. four replicas sharing {RATE}/s (burst {BURST}) for {SHARED_FOR:?}");
    for run in 1..=2 {
        let (total, seconds) = four_replicas(url, |redis| {
            // Refused when decided without Redis: every admission counted is Redis's.
            RateLimiter::cluster(
                Cluster::new(redis).when_unreachable(Unreachable::Refuse),
                "bench-shared",
                RateLimiter::per_second(RATE).burst(BURST),
            )
        });
        let bound = f64::from(RATE) * seconds + f64::from(BURST);
        println!(
            "run {run}: cluster: {total} admitted in {seconds:.2} s; rate × time + burst = {bound:.0}; \
             ratio {:.4}",
            total as f64 / bound
        );
        let (local, seconds) = four_replicas(url, |_| RateLimiter::per_second(RATE).burst(BURST));
        let bound = f64::from(RATE) * seconds + f64::from(BURST);
        println!(
            "run {run}: four local limiters: {local} admitted in {seconds:.2} s; {:.2} × one limit",
            local as f64 / bound
        );
        // The next run starts from a fresh state.
        std::thread::sleep(Duration::from_millis(200));
    }
}

const CALLS: u32 = 5_000;
const ROUNDS: usize = 9;

fn admission_cost(url: &str) {
    println!("\n== 2. one admission, one call after another on one connection ({CALLS} calls a round, {ROUNDS} rounds)");
    let rt = Arc::new(runtime());
    let redis = rt.block_on(connect(url));
    let never_full = || RateLimiter::per_second(u32::MAX);
    let cluster = Arc::new(RateLimiter::cluster(
        redis.clone(),
        "bench-cost",
        never_full(),
    ));
    let local = Arc::new(never_full());
    let mut variants: Vec<Variant> = Vec::new();
    {
        let (rt, redis) = (Arc::clone(&rt), redis.clone());
        variants.push((
            "admission",
            "plain GET, the same client (floor)",
            Box::new(move || {
                let mut redis = redis.clone();
                rt.block_on(async move {
                    let start = Instant::now();
                    for _ in 0..CALLS {
                        let _: Option<String> = redis::cmd("GET")
                            .arg("bench-floor")
                            .query_async(&mut redis)
                            .await
                            .unwrap();
                    }
                    start.elapsed()
                })
            }),
        ));
    }
    {
        let (rt, cluster) = (Arc::clone(&rt), Arc::clone(&cluster));
        variants.push((
            "admission",
            "RateLimiter::cluster acquire (EVALSHA)",
            Box::new(move || {
                let cluster = Arc::clone(&cluster);
                rt.block_on(async move {
                    let start = Instant::now();
                    for _ in 0..CALLS {
                        cluster.acquire().await.unwrap();
                    }
                    start.elapsed()
                })
            }),
        ));
    }
    {
        let (rt, local) = (Arc::clone(&rt), Arc::clone(&local));
        variants.push((
            "admission",
            "local RateLimiter acquire",
            Box::new(move || {
                let local = Arc::clone(&local);
                rt.block_on(async move {
                    let start = Instant::now();
                    for _ in 0..CALLS {
                        local.acquire().await.unwrap();
                    }
                    start.elapsed()
                })
            }),
        ));
    }
    let samples = sample(&mut variants, ROUNDS, CALLS);
    let floor = median(&samples[0]);
    for ((_, name, _), samples) in variants.iter().zip(&samples) {
        println!(
            "{name:<42} median {:>9.1} ns  spread {:>19} ns  ratio to GET {:.4}",
            median(samples),
            spread(samples),
            median(samples) / floor
        );
    }
    assert_eq!(
        cluster.redis_reachable(),
        Some(true),
        "every admission was Redis's"
    );
}

fn throughput(url: &str) {
    println!("\n== 3. calls a second on one connection, 64 in flight, 3 s");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for run in 1..=3 {
            let redis = connect(url).await;
            // Refused only when decided without Redis: what is admitted is Redis's.
            let limiter = Arc::new(RateLimiter::cluster(
                Cluster::new(redis).when_unreachable(Unreachable::Refuse),
                "bench-throughput",
                RateLimiter::per_second(u32::MAX),
            ));
            let done = Arc::new(AtomicBool::new(false));
            let answered = Arc::new(AtomicU64::new(0));
            let refused = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let (limiter, done, answered, refused) = (
                        Arc::clone(&limiter),
                        Arc::clone(&done),
                        Arc::clone(&answered),
                        Arc::clone(&refused),
                    );
                    tokio::spawn(async move {
                        while !done.load(Ordering::Relaxed) {
                            if limiter.acquire().await.is_ok() {
                                answered.fetch_add(1, Ordering::Relaxed);
                            } else {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            // A call decided locally does not yield by itself.
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_secs(3)).await;
            done.store(true, Ordering::Relaxed);
            for task in tasks {
                task.await.unwrap();
            }
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "run {run}: {:.0} admissions a second decided by Redis; {} calls decided without it \
                 (past the 5 ms bound)",
                answered.load(Ordering::Relaxed) as f64 / seconds,
                refused.load(Ordering::Relaxed)
            );
        }
    });
}

async fn used_memory(redis: &mut ConnectionManager) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(redis)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

async fn keys(redis: &mut ConnectionManager) -> u64 {
    redis::cmd("DBSIZE").query_async(redis).await.unwrap()
}

fn keyed_memory(url: &str) {
    println!("\n== 4. a keyed limit over 100,000 keys");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut redis = connect(url).await;
        redis::cmd("FLUSHALL").query_async::<()>(&mut redis).await.unwrap();
        let before = used_memory(&mut redis).await;
        let limiter = Arc::new(KeyedRateLimiter::new(RateLimiter::cluster(
            redis.clone(),
            "bench-keyed",
            RateLimiter::per_second(1).burst(1), // a key's state lives 1 s
        )));
        let tasks: Vec<_> = (0..64u32)
            .map(|task| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    for key in (task..100_000).step_by(64) {
                        limiter.acquire_key(&key).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let live = used_memory(&mut redis).await;
        println!(
            "keys live: {} keys, used_memory {:.1} MiB ({:.0} bytes a key over an empty Redis)",
            keys(&mut redis).await,
            live as f64 / 1048576.0,
            (live - before) as f64 / 100_000.0
        );
        let start = Instant::now();
        while keys(&mut redis).await > 0 && start.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let idle = used_memory(&mut redis).await;
        println!(
            "keys idle: {} keys left {:.1} s later, used_memory {:.1} MiB ({} bytes over the empty Redis)",
            keys(&mut redis).await,
            start.elapsed().as_secs_f64(),
            idle as f64 / 1048576.0,
            idle as i64 - before as i64
        );
    });
}

fn main() {
    steadfast_examples::note_features();
    let redis = RedisServer::start();
    let url = redis.url();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |part: &str| only.as_deref().is_none_or(|only| only == part);
    if wants("shared") {
        shared_limit(&url);
    }
    if wants("cost") {
        admission_cost(&url);
    }
    if wants("throughput") {
        throughput(&url);
    }
    if wants("memory") {
        keyed_memory(&url);
    }
}
