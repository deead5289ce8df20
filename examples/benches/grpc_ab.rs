//! Raw tonic against the full steadfast stack, alternated in one process:
//! this machine drifts by more than the effect, so each round measures every
//! variant in turns (ten slices, the order rotating) and the result is the
//! ratio to raw tonic per round: its median, a 95% confidence interval for that
//! median (from the order statistics, no assumption about the noise's
//! shape), and the spread. A target is met only when the whole interval
//! clears it.
//!
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --bench grpc_ab
//! GRPC_AB_SET=layer cargo bench -p steadfast-examples --no-default-features --bench grpc_ab
//! ```
//!
//! Variants of the default set (`GRPC_AB_SET=clients`), each against an
//! echo server of its own on 127.0.0.1:
//! - `raw`: tonic's `UserServiceClient<Channel>`, a server without layers;
//! - `generated`: `ResilientUserServiceClient<Channel>` (policy from the
//!   proto: a 2 s deadline, 3 attempts, 300 ms per attempt), the server
//!   behind `DeadlineLayer`: what users run;
//! - `annotated`: tonic's client with the `PropagateDeadline` interceptor
//!   and a hand-written `#[deadline(2s)] #[retry(max = 3)]` function, the
//!   server behind `DeadlineLayer`;
//! - `layer`: tonic's client over `ServiceConfigLayer` (a service config:
//!   2 s timeout, 3 attempts on `UNAVAILABLE`), the server behind
//!   `DeadlineLayer`;
//! - `raw + set_timeout`: `raw` with a 2 s `grpc-timeout` (tonic's channel
//!   and its server then each arm a timer for it).
//!
//! `GRPC_AB_SET=layer` takes `ServiceConfigLayer` apart, every server
//! without layers (as raw's, so that only the client differs):
//! - `layer`: the service config above (timeout and retries);
//! - `layer, retries only`: its `retryPolicy` alone (no `grpc-timeout`);
//! - `layer, timeout only`: its `timeout` alone;
//! - `raw + set_timeout`: as above, what tonic itself does for a timeout.
//!
//! Both sets also give the layer's throughput over raw + `set_timeout`'s,
//! round by round: the layer's config has a timeout, and that column
//! compares it with tonic doing the same.

use std::time::{Duration, Instant};

use steadfast::tonic::{PropagateDeadline, ServiceConfigLayer, ServiceConfigService};
use steadfast_examples::faulty::{
    serve_echo, ECHO_RETRIES_ONLY, ECHO_SERVICE_CONFIG, ECHO_TIMEOUT_ONLY,
};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::Status;

type Raw = UserServiceClient<Channel>;
type Generated = ResilientUserServiceClient<Channel>;
type Annotated = UserServiceClient<InterceptedService<Channel, PropagateDeadline>>;
type Layered = UserServiceClient<ServiceConfigService<Channel>>;

/// Rounds per concurrency (`GRPC_AB_ROUNDS` to change): many short rounds
/// rather than a few long ones, so that drift moves each ratio less and the
/// median's interval narrows.
const ROUNDS: usize = 60;

/// Slices per round (`GRPC_AB_SLICES` to change): a round's calls of each
/// variant are spread over this many turns, the variants alternating every
/// slice (a tenth of a round: 120 calls at concurrency 1, 5 batches of 64
/// at 64), so that the machine's drift during a round falls on every
/// variant alike rather than on whichever ran when it struck.
const SLICES: usize = 10;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

async fn raw(mut client: Raw) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

async fn with_timeout(mut client: Raw) -> Result<UserResponse, Status> {
    let mut request = tonic::Request::new(request());
    request.set_timeout(Duration::from_secs(2));
    Ok(client.get_user(request).await?.into_inner())
}

async fn generated(mut client: Generated) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, backoff = "exp", initial = 50ms)]
async fn annotated_call(client: &mut Annotated) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

async fn annotated(mut client: Annotated) -> Result<UserResponse, Status> {
    annotated_call(&mut client).await
}

async fn layered(mut client: Layered) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

/// One variant's client.
// With the examples' default features the generated client also carries
// its settings file (`from_config`), which makes it the largest variant;
// the benchmark builds without them.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Variant {
    Raw(Raw),
    WithTimeout(Raw),
    Generated(Generated),
    Annotated(Annotated),
    Layered(Layered),
}

impl Variant {
    /// One call (a match per call, alike for every variant).
    async fn call(self) -> Result<UserResponse, Status> {
        match self {
            Variant::Raw(client) => raw(client).await,
            Variant::WithTimeout(client) => with_timeout(client).await,
            Variant::Generated(client) => generated(client).await,
            Variant::Annotated(client) => annotated(client).await,
            Variant::Layered(client) => layered(client).await,
        }
    }
}

/// tonic's client over `ServiceConfigLayer` with `config`.
async fn layered_client(config: &str, addr: std::net::SocketAddr) -> Variant {
    let layer = ServiceConfigLayer::from_json(config).expect("a service config");
    Variant::Layered(UserServiceClient::new(
        tower::ServiceBuilder::new()
            .layer(layer)
            .service(channel(addr).await),
    ))
}

/// The variants to compare with raw tonic (the first of `GRPC_AB_SET`'s),
/// with their column names.
async fn variants(set: &str) -> Vec<(&'static str, Variant)> {
    let plain = || async { serve_echo(false).await.expect("a server").0 };
    let layered = || async { serve_echo(true).await.expect("a server").0 };
    let mut variants = vec![(
        "raw",
        Variant::Raw(UserServiceClient::new(channel(plain().await).await)),
    )];
    if set == "layer" {
        variants.extend([
            (
                "layer",
                layered_client(ECHO_SERVICE_CONFIG, plain().await).await,
            ),
            (
                "layer, retries only",
                layered_client(ECHO_RETRIES_ONLY, plain().await).await,
            ),
            (
                "layer, timeout only",
                layered_client(ECHO_TIMEOUT_ONLY, plain().await).await,
            ),
        ]);
    } else {
        let generated = ResilientUserServiceClient::new(channel(layered().await).await);
        let annotated =
            UserServiceClient::with_interceptor(channel(layered().await).await, PropagateDeadline);
        variants.extend([
            ("generated", Variant::Generated(generated)),
            ("annotated", Variant::Annotated(annotated)),
            (
                "layer",
                layered_client(ECHO_SERVICE_CONFIG, layered().await).await,
            ),
        ]);
    }
    let timeout = UserServiceClient::new(channel(plain().await).await);
    variants.push(("raw + set_timeout", Variant::WithTimeout(timeout)));
    variants
}

/// The time `batches` rounds of `concurrency` calls take.
async fn elapsed(batches: usize, concurrency: usize, variant: &Variant) -> Duration {
    let start = Instant::now();
    for _ in 0..batches {
        if concurrency == 1 {
            variant
                .clone()
                .call()
                .await
                .expect("the echo server answers");
            continue;
        }
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(variant.clone().call()))
            .collect();
        for task in tasks {
            task.await
                .expect("the task runs")
                .expect("the echo server answers");
        }
    }
    start.elapsed()
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("an address")
        .connect()
        .await
        .expect("a connection")
}

/// The median of `xs`, a 95% confidence interval for it, and the range.
struct Summary {
    median: f64,
    low: f64,
    high: f64,
    min: f64,
    max: f64,
}

/// Summarises `xs` (not empty). The interval is `[x(k), x(n+1-k)]` (sorted,
/// 1-based) for the largest `k` with `P(Binomial(n, 1/2) < k) <= 2.5%`:
/// the median lies below `x(k)` only if fewer than `k` samples fall below
/// it, whatever the distribution.
fn summary(mut xs: Vec<f64>) -> Summary {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    // P(B <= j) for B ~ Binomial(n, 1/2), accumulated term by term; each
    // term in logarithms, since 2^-n underflows past a thousand rounds.
    let mut k = 1;
    let mut ln_term = -(n as f64) * std::f64::consts::LN_2; // ln P(B = 0)
    let mut below = ln_term.exp(); // P(B <= 0) = P(B < 1)
    for j in 1..n {
        if below > 0.025 {
            break;
        }
        k = j;
        ln_term += ((n - j + 1) as f64 / j as f64).ln();
        below += ln_term.exp();
    }
    Summary {
        median,
        low: xs[k - 1],
        high: xs[n - k],
        min: xs[0],
        max: xs[n - 1],
    }
}

fn main() {
    steadfast_examples::note_features();
    // `cargo bench` passes `--bench`; `cargo test --benches` would too: run
    // only when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let set = std::env::var("GRPC_AB_SET").unwrap_or_else(|_| "clients".into());
        if !["clients", "layer"].contains(&set.as_str()) {
            eprintln!("GRPC_AB_SET: {set:?} is neither \"clients\" nor \"layer\"");
            std::process::exit(2);
        }
        let variants = variants(&set).await;
        let n = variants.len();

        let rounds = std::env::var("GRPC_AB_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(ROUNDS);
        let slices = std::env::var("GRPC_AB_SLICES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(SLICES);
        println!("{rounds} rounds per concurrency, each in {slices} slices; each slice runs the {n} variants back to back, in rotating order.");
        println!("ratio = variant throughput / raw throughput in the same round (1.00 = no cost);");
        println!("cells: median [95% confidence interval of the median] (min–max over the rounds).\n");
        // The layer against what tonic itself does for a timeout, round by
        // round: like for like, since the layer's config has one.
        let layer = variants
            .iter()
            .position(|(name, _)| *name == "layer")
            .expect("a layer variant");
        let mut names: Vec<String> = variants[1..].iter().map(|(name, _)| format!("{name} / raw")).collect();
        names.push("layer / raw + set_timeout".into());
        println!("| concurrency | raw calls/s (median) | {} |", names.join(" | "));
        println!("|---|---|{}", "---|".repeat(n));
        for (concurrency, batches) in [(1usize, 1200usize), (64, 50)] {
            // Warm-up: connections, allocator, caches.
            for (_, variant) in &variants {
                elapsed(batches / 3, concurrency, variant).await;
            }
            let slice = batches.div_ceil(slices);
            let mut raws = Vec::new();
            let mut ratios = vec![Vec::new(); n];
            for round in 0..rounds {
                // Time per variant, summed over the round's slices.
                let mut times = vec![Duration::ZERO; n];
                for s in 0..slices {
                    for step in 0..n {
                        let v = (round + s + step) % n;
                        times[v] += elapsed(slice, concurrency, &variants[v].1).await;
                    }
                }
                let calls = (slice * slices * concurrency) as f64;
                raws.push(calls / times[0].as_secs_f64());
                // Throughput over raw's: raw's time over the variant's.
                for (ratio, time) in ratios.iter_mut().zip(&times[1..]) {
                    ratio.push(times[0].as_secs_f64() / time.as_secs_f64());
                }
                ratios[n - 1].push(times[n - 1].as_secs_f64() / times[layer].as_secs_f64());
            }
            let raw_median = summary(raws).median;
            let cells: Vec<String> = ratios
                .into_iter()
                .map(|ratio| {
                    let s = summary(ratio);
                    format!(
                        "{:.3} [{:.3}, {:.3}] ({:.2}–{:.2})",
                        s.median, s.low, s.high, s.min, s.max
                    )
                })
                .collect();
            println!("| {concurrency} | {raw_median:.0} | {} |", cells.join(" | "));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}
