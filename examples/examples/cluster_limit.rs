//! The code of docs/flow-control.md's "Across replicas", run against a real
//! redis-server it starts on a loopback port (installed by
//! `.ci/install-redis` when missing): `cargo run -p steadfast-examples
//! --example cluster_limit`. Three replicas of an order service share one
//! limit of 50 orders a second in Redis; Redis is killed, each replica falls
//! back to its third of the rate; Redis comes back, and so does the shared
//! limit.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use steadfast::limit::{Cluster, Limited, Unreachable};
use steadfast::RateLimiter;
use steadfast_examples::redis_server::RedisServer;

/// This replica's view of the cluster's limit: 50 orders a second and 10 at
/// once above that, all replicas together; a third of it each while Redis
/// does not answer within 5 ms.
fn orders_limit(redis: redis::aio::ConnectionManager) -> RateLimiter {
    RateLimiter::cluster(
        Cluster::new(redis)
            .replicas(3)
            .timeout(Duration::from_millis(5))
            .when_unreachable(Unreachable::LocalShare),
        "orders",
        RateLimiter::per_second(50).burst(10),
    )
}

/// This process's limiter, made once Redis is connected; named by the
/// attribute as any limiter is.
static ORDERS: OnceLock<RateLimiter> = OnceLock::new();

#[steadfast::rate_limit(ORDERS.get().expect("made in main"))]
async fn create_order(id: u32) -> Result<u32, Limited> {
    Ok(id)
}

/// Orders from three replicas for `run`, as fast as each is answered: the
/// orders admitted, all replicas together.
async fn three_replicas(replicas: [&RateLimiter; 3], run: Duration) -> u32 {
    let start = Instant::now();
    let mut admitted = 0;
    while start.elapsed() < run {
        for replica in replicas {
            if replica.acquire().await.is_ok() {
                admitted += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    admitted
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server = RedisServer::start(); // your Redis: `redis://host:6379/`
    let connect = || async {
        let client = redis::Client::open(server.url())?;
        redis::aio::ConnectionManager::new(client).await
    };
    let made = orders_limit(connect().await?);
    let ours = ORDERS.get_or_init(|| made);
    // Two more replicas: other processes in a real deployment.
    let (second, third) = (
        orders_limit(connect().await?),
        orders_limit(connect().await?),
    );
    let replicas = [ours, &second, &third];

    let admitted = three_replicas(replicas, Duration::from_secs(1)).await;
    println!("three replicas for 1 s against 50/s (burst 10) in Redis: {admitted} admitted");

    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await; // the burst refills
    let admitted = three_replicas(replicas, Duration::from_secs(1)).await;
    println!(
        "Redis killed: {admitted} admitted in 1 s, each replica within its third (reachable: {:?})",
        ours.redis_reachable()
    );

    server.restart();
    let start = Instant::now();
    while replicas.iter().any(|r| r.redis_reachable() != Some(true)) {
        if start.elapsed() > Duration::from_secs(10) {
            return Err("the replicas never found Redis again".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admitted = three_replicas(replicas, Duration::from_secs(1)).await;
    println!("Redis back: {admitted} admitted in 1 s");

    println!(
        "create_order(7) through the attribute: {:?}",
        create_order(7).await
    );
    Ok(())
}
