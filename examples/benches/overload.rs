//! Goodput under overload: a tonic server on 127.0.0.1 whose handler needs
//! one of a fixed pool of work slots (`SLOTS`, each call holding one for
//! `WORK`: a capacity of `SLOTS / WORK` calls a second, and a queue behind
//! it), offered 1×, 2× and 4× its capacity by an open-loop client (a call
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
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --bench overload
//! ```

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

const SLOTS: usize = 4;
const WORK: Duration = Duration::from_millis(10);
const DEADLINE: Duration = Duration::from_secs(1);
const LENGTH: Duration = Duration::from_secs(6);
/// The first seconds of each run are not counted: limits settle, queues build.
const SETTLE: Duration = Duration::from_secs(2);

/// The handler: a slot from the pool, held for `WORK`.
#[derive(Clone)]
struct Pool(Arc<Semaphore>);

#[tonic::async_trait]
impl UserService for Pool {
    async fn get_user(&self, _: Request<UserRequest>) -> Result<Response<UserResponse>, Status> {
        let _slot = self
            .0
            .acquire()
            .await
            .map_err(|_| Status::internal("closed"))?;
        tokio::time::sleep(WORK).await;
        Ok(Response::new(UserResponse {
            name: "ada".into(),
            ..UserResponse::default()
        }))
    }
}

/// Serves the pool behind `limits` (or none), until aborted.
async fn serve(limits: Option<LimitLayer>) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let (addr, incoming) = bind().await.expect("a port");
    let service = UserServiceServer::new(Pool(Arc::new(Semaphore::new(SLOTS))));
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
    while start.elapsed() < LENGTH {
        interval.tick().await;
        let counted = start.elapsed() >= SETTLE;
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
                Ok(Ok(_)) if took <= DEADLINE => good.lock().expect("lock").push(took),
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
    let mut good = std::mem::take(&mut *good.lock().expect("lock"));
    good.sort();
    let at = |q: f64| {
        good.get(((good.len() as f64 * q) as usize).min(good.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Run {
        goodput: good.len() as f64 / (LENGTH - SETTLE).as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        refused: refused.load(std::sync::atomic::Ordering::Relaxed),
    }
}

#[tokio::main]
async fn main() {
    let capacity = SLOTS as f64 / WORK.as_secs_f64();
    println!(
        "a pool of {SLOTS} slots x {WORK:?} = {capacity:.0} calls/s; open-loop offers of 1x, 2x, 4x for {LENGTH:?} \
         (the first {SETTLE:?} not counted), 1 s deadlines"
    );
    println!(
        "{:<34} {:>6} {:>12} {:>8} {:>10} {:>10} {:>9}",
        "server", "offer", "goodput/s", "of 1x", "p50", "p99", "refused"
    );
    // The unloaded reference: a quarter of the capacity, no limit.
    let (addr, task) = serve(None).await;
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
    type Make = fn() -> Option<LimitLayer>;
    let servers: [(&str, Make); 3] = [
        ("no limit", || None),
        ("fixed ConcurrencyLimit (= pool)", || {
            Some(LimitLayer::new().global(ConcurrencyLimit::new(SLOTS)))
        }),
        ("AdaptiveLimit::gradient()", || {
            Some(LimitLayer::new().global(AdaptiveLimit::gradient()))
        }),
    ];
    for (name, make) in servers {
        let mut at_1x = None;
        for load in [1.0, 2.0, 4.0] {
            // A fresh server and limit for each run: nothing carried over.
            let (addr, task) = serve(make()).await;
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
