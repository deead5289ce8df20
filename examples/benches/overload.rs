//! Goodput under overload: a tonic server on 127.0.0.1 whose handler needs
//! one of a fixed pool of work slots (each call holding one for its work:
//! a capacity of slots / work calls a second, and a queue behind it; two
//! pools of the same capacity, 4 slots × 10 ms and 16 × 40 ms), offered 1×, 2× and 4× its capacity by an open-loop client (a call
//! started every 1/rate, whatever the answers) with 1 s deadlines. The
//! server knows nothing of deadlines (no `DeadlineLayer`), as most don't:
//! a call whose client gave up still takes its slot.
//!
//! Three servers: no limit; a fixed `ConcurrencyLimit` (set to the pool,
//! the number an operator would have to know); `AdaptiveLimit::gradient()`
//! (no number). For each: the calls completed within their deadline per
//! second (goodput), the p50 and p99 latency of those, and the calls that
//! failed otherwise (refused: `UNAVAILABLE` from a limit, or the
//! transport's errors without one). First, the unloaded reference: a
//! quarter of the capacity.
//!
//! Then convergence: the gradient's server offered 2× its capacity for
//! 15 s while its work doubles (10 → 20 ms a call, at 5 s) and comes back
//! (at 10 s): second by second, the limit it found, the goodput and the
//! median latency of the calls it served.
//!
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --bench overload
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use steadfast::tonic::LimitLayer;
use steadfast::{AdaptiveLimit, ConcurrencyLimit};
use steadfast_examples::faulty::bind;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::user_service_server::{UserService, UserServiceServer};
use steadfast_examples::user::{UserRequest, UserResponse};
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

/// The pools: slots, and each call's work (both 400 calls/s). The first
/// is also the convergence run's.
const POOLS: [(usize, Duration); 2] = [
    (4, Duration::from_millis(10)),
    (16, Duration::from_millis(40)),
];
const SLOTS: usize = POOLS[0].0;
const WORK: Duration = POOLS[0].1;
const DEADLINE: Duration = Duration::from_secs(1);
const LENGTH: Duration = Duration::from_secs(6);
/// The first seconds of each run are not counted: limits settle, queues build.
const SETTLE: Duration = Duration::from_secs(2);

/// The handler: a slot from the pool, held for the work's microseconds
/// (`WORK`, unless a run changes it).
#[derive(Clone)]
struct Pool(Arc<Semaphore>, Arc<AtomicU64>);

#[tonic::async_trait]
impl UserService for Pool {
    async fn get_user(&self, _: Request<UserRequest>) -> Result<Response<UserResponse>, Status> {
        let _slot = self
            .0
            .acquire()
            .await
            .map_err(|_| Status::internal("closed"))?;
        tokio::time::sleep(Duration::from_micros(self.1.load(Ordering::Relaxed))).await;
        Ok(Response::new(UserResponse {
            name: "ada".into(),
            ..UserResponse::default()
        }))
    }
}

/// Serves a pool of `slots`, each call taking `work` of one, behind
/// `limits` (or none), until aborted.
async fn serve(
    (slots, work): (usize, Duration),
    limits: Option<LimitLayer>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let work = Arc::new(AtomicU64::new(work.as_micros() as u64));
    serve_working(slots, limits, work).await
}

/// [`serve`], each call taking `work` microseconds of a slot.
async fn serve_working(
    slots: usize,
    limits: Option<LimitLayer>,
    work: Arc<AtomicU64>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let (addr, incoming) = bind().await.expect("a port");
    let service = UserServiceServer::new(Pool(Arc::new(Semaphore::new(slots)), work));
    let task = tokio::spawn(async move {
        let mut builder = tonic::transport::Server::builder();
        let _ = match limits {
            Some(limits) => {
                builder
                    .layer(limits)
                    .add_service(service)
                    .serve_with_incoming(incoming)
                    .await
            }
            None => {
                builder
                    .add_service(service)
                    .serve_with_incoming(incoming)
                    .await
            }
        };
    });
    (addr, task)
}

/// What one run saw.
struct Run {
    goodput: f64,
    p50: Duration,
    p99: Duration,
    refused: usize,
}

/// Offers `rate` calls a second for `LENGTH`, each with a 1 s deadline.
async fn offer(addr: std::net::SocketAddr, rate: f64) -> Run {
    offer_for(addr, rate, LENGTH, SETTLE, |_| ()).await.0
}

/// Offers `rate` calls a second for `length`, each with a 1 s deadline,
/// counting from `settle`; `each_second(s)` runs as second `s` starts.
/// The run, and second by second the good calls' count and median latency.
async fn offer_for(
    addr: std::net::SocketAddr,
    rate: f64,
    length: Duration,
    settle: Duration,
    mut each_second: impl FnMut(u64),
) -> (Run, Vec<(usize, Duration)>) {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("a uri")
        .connect()
        .await
        .expect("connected");
    let client = UserServiceClient::new(channel);
    let good = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = tokio::task::JoinSet::new();
    let mut second = None;
    while start.elapsed() < length {
        interval.tick().await;
        let now = start.elapsed().as_secs();
        if second != Some(now) {
            second = Some(now);
            each_second(now);
        }
        let counted = start.elapsed() >= settle;
        let started_at = start.elapsed();
        let (mut client, good, refused) = (client.clone(), good.clone(), refused.clone());
        calls.spawn(async move {
            let mut request = Request::new(UserRequest {
                user_id: "42".into(),
            });
            request.set_timeout(DEADLINE);
            let sent = Instant::now();
            let answer = tokio::time::timeout(DEADLINE, client.get_user(request)).await;
            let took = sent.elapsed();
            if !counted {
                return;
            }
            match answer {
                Ok(Ok(_)) if took <= DEADLINE => {
                    good.lock().expect("lock").push((started_at, took))
                }
                Ok(Err(status))
                    if status.code() != tonic::Code::DeadlineExceeded
                        && status.code() != tonic::Code::Cancelled =>
                {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                _ => {}
            }
        });
    }
    while calls.join_next().await.is_some() {}
    let good_by_start = std::mem::take(&mut *good.lock().expect("lock"));
    let seconds = length.as_secs() as usize;
    let mut by_second = vec![Vec::new(); seconds];
    for (started_at, took) in &good_by_start {
        if let Some(second) = by_second.get_mut(started_at.as_secs() as usize) {
            second.push(*took);
        }
    }
    let by_second = by_second
        .into_iter()
        .map(|mut took| {
            took.sort();
            (
                took.len(),
                took.get(took.len() / 2).copied().unwrap_or_default(),
            )
        })
        .collect();
    let mut good: Vec<Duration> = good_by_start.into_iter().map(|(_, took)| took).collect();
    good.sort();
    let at = |q: f64| {
        good.get(((good.len() as f64 * q) as usize).min(good.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let run = Run {
        goodput: good.len() as f64 / (length - settle).as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        refused: refused.load(std::sync::atomic::Ordering::Relaxed),
    };
    (run, by_second)
}

/// The gradient's server at 2× its capacity while its work doubles and
/// comes back: second by second, the limit, the goodput, the median.
async fn convergence(capacity: f64) {
    println!(
        "\nconvergence: AdaptiveLimit::gradient() offered {:.0} calls/s for 15 s; a call's work 10 ms, \
         20 ms from 5 s (capacity {:.0}/s), 10 ms again from 10 s",
        capacity * 2.0,
        capacity / 2.0
    );
    let work = Arc::new(AtomicU64::new(WORK.as_micros() as u64));
    let limit = Arc::new(AdaptiveLimit::gradient().into_limit());
    let (addr, task) = serve_working(
        SLOTS,
        Some(LimitLayer::new().global(Arc::clone(&limit))),
        Arc::clone(&work),
    )
    .await;
    let limits = Arc::new(Mutex::new(Vec::new()));
    let (seen_limits, seen_work) = (Arc::clone(&limits), Arc::clone(&work));
    let (_, by_second) = offer_for(
        addr,
        capacity * 2.0,
        Duration::from_secs(15),
        Duration::ZERO,
        move |second| {
            seen_limits.lock().expect("lock").push(limit.max());
            let micros = if (5..10).contains(&second) {
                20_000
            } else {
                10_000
            };
            seen_work.store(micros, Ordering::Relaxed);
        },
    )
    .await;
    task.abort();
    println!(
        "{:>6} {:>8} {:>8} {:>10} {:>10}",
        "second", "work", "limit", "goodput/s", "p50"
    );
    // The limit as each second began; the goodput and median of the calls started in it.
    let limits = limits.lock().expect("lock").clone();
    for (second, (good, p50)) in by_second.into_iter().enumerate() {
        let work = if (5..10).contains(&second) {
            "20ms"
        } else {
            "10ms"
        };
        let limit = limits.get(second).copied().unwrap_or_default();
        println!("{second:>6} {work:>8} {limit:>8} {good:>10} {p50:>10.1?}");
    }
}

#[tokio::main]
async fn main() {
    for pool in POOLS {
        overload(pool).await;
    }
    convergence(SLOTS as f64 / WORK.as_secs_f64()).await;
}

/// The table for one pool: unloaded, then each server at 1×, 2× and 4×.
async fn overload(pool: (usize, Duration)) {
    let (slots, work) = pool;
    let capacity = slots as f64 / work.as_secs_f64();
    println!(
        "\na pool of {slots} slots x {work:?} = {capacity:.0} calls/s; open-loop offers of 1x, 2x, 4x for {LENGTH:?} \
         (the first {SETTLE:?} not counted), 1 s deadlines"
    );
    println!(
        "{:<34} {:>6} {:>12} {:>8} {:>10} {:>10} {:>9}",
        "server", "offer", "goodput/s", "of 1x", "p50", "p99", "refused"
    );
    // The unloaded reference: a quarter of the capacity, no limit.
    let (addr, task) = serve(pool, None).await;
    let unloaded = offer(addr, capacity / 4.0).await;
    task.abort();
    println!(
        "{:<34} {:>5}x {:>12.0} {:>8} {:>10.1?} {:>10.1?} {:>9}",
        "unloaded (no limit)",
        "0.25",
        unloaded.goodput,
        "",
        unloaded.p50,
        unloaded.p99,
        unloaded.refused
    );
    type Make = fn(usize) -> Option<LimitLayer>;
    let servers: [(&str, Make); 3] = [
        ("no limit", |_| None),
        ("fixed ConcurrencyLimit (= pool)", |slots| {
            Some(LimitLayer::new().global(ConcurrencyLimit::new(slots)))
        }),
        ("AdaptiveLimit::gradient()", |_| {
            Some(LimitLayer::new().global(AdaptiveLimit::gradient()))
        }),
    ];
    for (name, make) in servers {
        let mut at_1x = None;
        for load in [1.0, 2.0, 4.0] {
            // A fresh server and limit for each run: nothing carried over.
            let (addr, task) = serve(pool, make(slots)).await;
            let run = offer(addr, capacity * load).await;
            task.abort();
            let base = *at_1x.get_or_insert(run.goodput);
            println!(
                "{name:<34} {:>5.0}x {:>12.0} {:>8.2} {:>10.1?} {:>10.1?} {:>9}",
                load,
                run.goodput,
                run.goodput / base,
                run.p50,
                run.p99,
                run.refused
            );
        }
    }
}
