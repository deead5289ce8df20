//! Hedging against a tail: a server on 127.0.0.1 where 5% of calls take
//! 100 ms and the rest answer at once. For no hedging, `#[hedge]` with a
//! fixed 10 ms delay, `#[hedge]` with `delay = "p95"`, the generated
//! `ResilientUserDirectoryClient` (20 ms, from `user.proto`) and
//! `tower::hedge::Hedge` (p95, like ours): p50, p99, p99.9 and the extra
//! calls the server received; the variants alternated round by round in
//! one process. Then the cost per call where nothing is slow.
//!
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --bench hedging
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use steadfast::hedge;
use steadfast_examples::faulty::TailLatency;
use steadfast_examples::user::user_directory_client::UserDirectoryClient;
use steadfast_examples::user::{ResilientUserDirectoryClient, UserRequest, UserResponse};
use tonic::transport::Channel;
use tonic::Status;
use tower::{Service, ServiceExt};

type Client = UserDirectoryClient<Channel>;

const ROUNDS: usize = 5;
const CALLS_PER_ROUND: usize = 1_000;
const CONCURRENCY: usize = 8;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

async fn plain(client: &Client) -> Result<UserResponse, Status> {
    let mut client = client.clone();
    Ok(client.find_user(request()).await?.into_inner())
}

#[hedge(max = 2, delay = 10ms)]
async fn fixed(client: &Client) -> Result<UserResponse, Status> {
    let mut client = client.clone();
    Ok(client.find_user(request()).await?.into_inner())
}

#[hedge(max = 2, delay = "p95")]
async fn adaptive(client: &Client) -> Result<UserResponse, Status> {
    let mut client = client.clone();
    Ok(client.find_user(request()).await?.into_inner())
}

#[derive(Clone)]
struct CloneRequests;

impl tower::hedge::Policy<UserRequest> for CloneRequests {
    fn clone_request(&self, req: &UserRequest) -> Option<UserRequest> {
        Some(req.clone())
    }
    fn can_retry(&self, _: &UserRequest) -> bool {
        true
    }
}

type BoxFut = Pin<Box<dyn Future<Output = Result<UserResponse, tower::BoxError>> + Send>>;

#[derive(Clone)]
struct Calls(Client);

impl Service<UserRequest> for Calls {
    type Response = UserResponse;
    type Error = tower::BoxError;
    type Future = BoxFut;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UserRequest) -> BoxFut {
        let mut client = self.0.clone();
        Box::pin(async move { Ok(client.find_user(req).await?.into_inner()) })
    }
}

type TowerHedge = tower::hedge::Hedge<Calls, CloneRequests>;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    None,
    Fixed,
    Adaptive,
    Generated,
    Tower,
    Tower90,
}

impl Variant {
    const ALL: [Variant; 6] = [
        Variant::None,
        Variant::Fixed,
        Variant::Adaptive,
        Variant::Generated,
        Variant::Tower,
        Variant::Tower90,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::None => "no hedging",
            Variant::Fixed => "#[hedge(max = 2, delay = 10ms)]",
            Variant::Adaptive => "#[hedge(max = 2, delay = \"p95\")]",
            Variant::Generated => "generated client (max 3, 20 ms)",
            Variant::Tower => "tower::hedge::Hedge (p95, 10 s period)",
            Variant::Tower90 => "tower::hedge::Hedge (p90, 10 s period)",
        }
    }
}

struct Clients {
    plain: Client,
    generated: ResilientUserDirectoryClient<Channel>,
    tower: TowerHedge,
    tower90: TowerHedge,
}

async fn one(variant: Variant, clients: &mut Clients) -> Result<UserResponse, tower::BoxError> {
    Ok(match variant {
        Variant::None => plain(&clients.plain).await?,
        Variant::Fixed => fixed(&clients.plain).await?,
        Variant::Adaptive => adaptive(&clients.plain).await?,
        Variant::Generated => clients.generated.find_user(request()).await?.into_inner(),
        Variant::Tower => clients.tower.ready().await?.call(request()).await?,
        Variant::Tower90 => clients.tower90.ready().await?.call(request()).await?,
    })
}

impl Clients {
    /// A task's clients. `tower::hedge::Hedge` is not `Clone`: each task
    /// keeps its own, with its own latency histogram, for the whole run.
    /// Its histogram is read from the last full period, so the period (10
    /// s) is longer than a round of every variant, and the warm-up lasts a
    /// period.
    fn new(channel: &Channel) -> Self {
        Self {
            plain: Client::new(channel.clone()),
            generated: ResilientUserDirectoryClient::new(channel.clone()),
            tower: tower_hedge(channel, 0.95),
            tower90: tower_hedge(channel, 0.90),
        }
    }
}

fn tower_hedge(channel: &Channel, percentile: f32) -> TowerHedge {
    tower::hedge::Hedge::new(
        Calls(Client::new(channel.clone())),
        CloneRequests,
        100,
        percentile,
        Duration::from_secs(10),
    )
}

/// Latencies of `calls` calls over the tasks, one per `Clients`.
async fn run(variant: Variant, clients: &mut Vec<Clients>, calls: usize) -> Vec<Duration> {
    let per_task = calls / clients.len();
    let tasks: Vec<_> = clients
        .drain(..)
        .map(|mut mine| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let started = Instant::now();
                    one(variant, &mut mine).await.expect("call");
                    latencies.push(started.elapsed());
                }
                (latencies, mine)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(calls);
    for task in tasks {
        let (latencies, mine) = task.await.expect("task");
        all.extend(latencies);
        clients.push(mine);
    }
    all
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    steadfast_examples::note_features();
    let server = TailLatency::new(5, Duration::from_millis(100));
    let (addr, _task) = server.serve().await.expect("serve");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let mut clients: Vec<Clients> = (0..CONCURRENCY).map(|_| Clients::new(&channel)).collect();
    // Warm up every variant (and the adaptive ones' histograms: tower's
    // needs a full period behind it).
    for variant in Variant::ALL {
        run(variant, &mut clients, 2_000).await;
    }
    let warming = Instant::now();
    while warming.elapsed() < Duration::from_secs(11) {
        run(Variant::Tower, &mut clients, 400).await;
        run(Variant::Tower90, &mut clients, 400).await;
    }
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); Variant::ALL.len()];
    let mut extra: Vec<u64> = vec![0; Variant::ALL.len()];
    for round in 0..ROUNDS {
        for k in 0..Variant::ALL.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                Variant::ALL.len() - 1 - k
            };
            let before = server.calls();
            latencies[i].extend(run(Variant::ALL[i], &mut clients, CALLS_PER_ROUND).await);
            extra[i] += server.calls() - before - CALLS_PER_ROUND as u64;
        }
    }
    println!(
        "5% of calls take 100 ms; {} calls per variant ({ROUNDS} alternated rounds, {CONCURRENCY} tasks)",
        ROUNDS * CALLS_PER_ROUND
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>12}",
        "variant", "p50", "p99", "p99.9", "max", "extra calls"
    );
    for (i, variant) in Variant::ALL.iter().enumerate() {
        let mut sorted = latencies[i].clone();
        sorted.sort();
        println!(
            "{:<40} {:>9.2?} {:>9.2?} {:>9.2?} {:>9.2?} {:>11.1}%",
            variant.name(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
            percentile(&sorted, 99.9),
            sorted[sorted.len() - 1],
            100.0 * extra[i] as f64 / sorted.len() as f64
        );
    }

    // Cost per call when nothing is slow: mean latency at concurrency 1,
    // alternated, against no hedging.
    server.set_slow_percent(0);
    let mut means: Vec<Vec<f64>> = vec![Vec::new(); Variant::ALL.len()];
    for round in 0..10 {
        for k in 0..Variant::ALL.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                Variant::ALL.len() - 1 - k
            };
            let started = Instant::now();
            for _ in 0..500 {
                one(Variant::ALL[i], &mut clients[0]).await.expect("call");
            }
            means[i].push(started.elapsed().as_secs_f64() * 1e6 / 500.0);
        }
    }
    println!("\nno slow calls: mean µs per call at concurrency 1 (10 alternated rounds of 500), ratio to no hedging per round");
    for (i, variant) in Variant::ALL.iter().enumerate() {
        let mut m = means[i].clone();
        m.sort_by(f64::total_cmp);
        let ratios: Vec<f64> = means[i].iter().zip(&means[0]).map(|(a, b)| a / b).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "{:<40} median {:>7.1} µs   ratio {:.3}–{:.3}",
            variant.name(),
            m[m.len() / 2],
            lo,
            hi
        );
    }
}
