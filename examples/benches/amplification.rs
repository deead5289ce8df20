//! How much load a sick backend receives: a server on 127.0.0.1 that fails
//! every call with `UNAVAILABLE`, called with `max = 3` retries and no
//! budget, with each kind of budget, with a circuit breaker, and through
//! three nested retry layers; at concurrency 1 and 64. Then fail-fast and
//! recovery of the generated client's breaker when its server dies and
//! comes back; and the breaker against `AdaptiveThrottle` (the SRE book's
//! client-side throttling) on the same outage: the attempts that reach the
//! dead backend, and the time to full traffic once it is back.
//!
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --bench amplification
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use steadfast::retry::RatioBudget;
use steadfast::{retry, AdaptiveThrottle, CircuitBreaker, CircuitState, RetryBudget};
use steadfast_examples::faulty::{AlwaysUnavailable, FaultyUsers, Relay};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest};
use tonic::transport::Channel;
use tonic::Status;

type Client = UserServiceClient<Channel>;

const CALLS: usize = 2_000;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

async fn once(client: &mut Client) -> Result<(), Status> {
    client.get_user(request()).await.map(drop)
}

#[retry(max = 3, backoff = "none")]
async fn no_budget(client: &mut Client) -> Result<(), Status> {
    once(client).await
}

#[retry(max = 3, backoff = "none", budget = budget)]
async fn token_bucket(client: &mut Client, budget: &RetryBudget) -> Result<(), Status> {
    once(client).await
}

#[retry(max = 3, backoff = "none", budget = budget)]
async fn ratio(client: &mut Client, budget: &RatioBudget) -> Result<(), Status> {
    once(client).await
}

#[steadfast::deadline(200ms)]
#[retry(max = 3, backoff = "none")]
#[steadfast::circuit_breaker(breaker)]
async fn breaker(client: &mut Client, breaker: &CircuitBreaker) -> Result<(), Status> {
    once(client).await
}

/// Attempts that passed the breaker or throttle and went to the network.
static SENT: AtomicU64 = AtomicU64::new(0);

#[steadfast::deadline(300ms)]
#[retry(max = 3, backoff = "none")]
#[steadfast::circuit_breaker(guard)]
async fn guarded(client: &mut Client, guard: &CircuitBreaker) -> Result<(), Status> {
    SENT.fetch_add(1, Ordering::Relaxed);
    once(client).await
}

#[retry(max = 3, backoff = "none")]
async fn nested_inner(client: &mut Client) -> Result<(), Status> {
    once(client).await
}

#[retry(max = 3, backoff = "none")]
async fn nested_middle(client: &mut Client) -> Result<(), Status> {
    nested_inner(client).await
}

#[retry(max = 3, backoff = "none")]
async fn nested_outer(client: &mut Client) -> Result<(), Status> {
    nested_middle(client).await
}

#[retry(max = 3, backoff = "none", nested = "once")]
async fn nested_outer_once(client: &mut Client) -> Result<(), Status> {
    nested_middle(client).await
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    NoBudget,
    TokenBucket,
    Ratio,
    Breaker,
    Nested,
    NestedOnce,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NoBudget => "max = 3, no budget",
            Kind::TokenBucket => "max = 3, RetryBudget::new(10, 0.1) (A6)",
            Kind::Ratio => "max = 3, RatioBudget::new(0.1), no floor",
            Kind::Breaker => "max = 3, circuit breaker (defaults)",
            Kind::Nested => "3 nested layers of max = 3",
            Kind::NestedOnce => "3 nested layers, outer nested = \"once\"",
        }
    }
}

/// Server calls per logical call, and wall time, for `calls` calls spread
/// over `concurrency` tasks.
async fn run(
    kind: Kind,
    concurrency: usize,
    channel: &Channel,
    server: &AlwaysUnavailable,
) -> (f64, Duration) {
    let calls = if matches!(kind, Kind::Nested) {
        CALLS / 10
    } else {
        CALLS
    };
    let bucket: &'static RetryBudget = Box::leak(Box::new(RetryBudget::new(10, 0.1)));
    let ratio_budget: &'static RatioBudget =
        Box::leak(Box::new(RatioBudget::new(0.1).min_per_second(0)));
    let breaker_state: &'static CircuitBreaker = Box::leak(Box::new(CircuitBreaker::new()));
    let before = server.calls();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let mut client = Client::new(channel.clone());
            let mine = calls / concurrency + usize::from(t < calls % concurrency);
            tokio::spawn(async move {
                for _ in 0..mine {
                    let _ = match kind {
                        Kind::NoBudget => no_budget(&mut client).await,
                        Kind::TokenBucket => token_bucket(&mut client, bucket).await,
                        Kind::Ratio => ratio(&mut client, ratio_budget).await,
                        Kind::Breaker => breaker(&mut client, breaker_state).await,
                        Kind::Nested => nested_outer(&mut client).await,
                        Kind::NestedOnce => nested_outer_once(&mut client).await,
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let sent = server.calls() - before;
    (sent as f64 / calls as f64, started.elapsed())
}

/// The generated client's breaker (user.proto: 50% of 20 calls in 10 s,
/// open 2 s, one probe) when its server dies and comes back.
async fn fail_fast_and_recovery() {
    let first = FaultyUsers::default();
    let (addr, task) = first.serve().await.expect("serve");
    let relay = Relay::start(addr).await.expect("relay");
    let channel = Channel::from_shared(format!("http://{}", relay.addr()))
        .expect("uri")
        .connect_lazy();
    let mut client = ResilientUserServiceClient::new(channel);
    let _ = client.get_user(request()).await;
    task.abort();
    relay.point_to(None);
    let died = Instant::now();
    let before = relay.connections();
    let mut calls = 0;
    // Calls with 300 ms to live, so that none waits out the open period
    // (a caller with time to spare would wait for the probe).
    while client.circuit_breaker("GetUser").map(CircuitBreaker::state) != Some(CircuitState::Open) {
        let mut short = tonic::Request::new(request());
        short.set_timeout(Duration::from_millis(300));
        let _ = client.get_user(short).await;
        calls += 1;
    }
    println!(
        "server died: {calls} calls ({} connection attempts) in {:?} until the breaker opened",
        relay.connections() - before,
        died.elapsed()
    );
    let second = FaultyUsers::default();
    let (addr, _task) = second.serve().await.expect("serve");
    relay.point_to(Some(addr));
    let back = Instant::now();
    let mut refused = 0;
    loop {
        let mut short = tonic::Request::new(request());
        short.set_timeout(Duration::from_millis(100));
        match client.get_user(short).await {
            Ok(_) => break,
            Err(_) => refused += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "server back: calls flowed again after {:?} ({refused} calls failed fast meanwhile)",
        back.elapsed()
    );
}

/// One outage, seen through `guard`: a call every 5 ms for 2 s against a
/// healthy server, for 5 s against none (behind a relay that keeps the
/// address), then against a new one until a whole 200 ms passes with every
/// call answered (at most 30 s). The attempts that went to the network while
/// the server was dead, of the attempts the calls would have made without a
/// guard (3 a call); and the time from the server's return to full traffic.
async fn outage(name: &str, guard: &CircuitBreaker) {
    let first = FaultyUsers::default();
    let (addr, task) = first.serve().await.expect("serve");
    let relay = Relay::start(addr).await.expect("relay");
    let channel = Channel::from_shared(format!("http://{}", relay.addr()))
        .expect("uri")
        .connect_lazy();
    let mut client = Client::new(channel);
    let pace = Duration::from_millis(5);
    let healthy = Instant::now();
    while healthy.elapsed() < Duration::from_secs(2) {
        let _ = guarded(&mut client, guard).await;
        tokio::time::sleep(pace).await;
    }
    task.abort();
    relay.point_to(None);
    let (dead, sent_before) = (Instant::now(), SENT.load(Ordering::Relaxed));
    let mut calls = 0u64;
    while dead.elapsed() < Duration::from_secs(5) {
        let _ = guarded(&mut client, guard).await;
        calls += 1;
        tokio::time::sleep(pace).await;
    }
    let sent = SENT.load(Ordering::Relaxed) - sent_before;
    let second = FaultyUsers::default();
    let (addr, _task) = second.serve().await.expect("serve");
    relay.point_to(Some(addr));
    let back = Instant::now();
    let mut all_answered_since = Instant::now();
    let full = loop {
        if back.elapsed() > Duration::from_secs(30) {
            break None;
        }
        if guarded(&mut client, guard).await.is_err() {
            all_answered_since = Instant::now();
        } else if all_answered_since.elapsed() >= Duration::from_millis(200) {
            break Some(all_answered_since.duration_since(back));
        }
        tokio::time::sleep(pace).await;
    };
    println!(
        "{name:<44} {sent:>5} of {:>5} attempts ({:.3}) {:>12}",
        calls * 3,
        sent as f64 / (calls * 3) as f64,
        full.map_or_else(|| "> 30 s".to_owned(), |d| format!("{} ms", d.as_millis()))
    );
}

async fn breaker_against_throttle() {
    println!(
        "\nan outage of 5 s, a call every 5 ms (deadline 300 ms, max = 3, backoff none): \
         attempts sent to the dead server, and time to full traffic once it is back"
    );
    println!(
        "{:<44} {:>28} {:>12}",
        "guard", "attempts sent (of 3 a call)", "full traffic"
    );
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::new()
            .failure_ratio(0.5)
            .min_calls(20)
            .window(Duration::from_secs(10))
            .open_for(Duration::from_secs(2)),
    ));
    outage("CircuitBreaker (user.proto's: 50%/20/10 s/2 s)", breaker).await;
    let throttle: &'static AdaptiveThrottle = Box::leak(Box::new(
        AdaptiveThrottle::new().window(Duration::from_secs(10)),
    ));
    outage("AdaptiveThrottle (K = 2, window 10 s)", throttle).await;
    let default: &'static AdaptiveThrottle = Box::leak(Box::new(AdaptiveThrottle::new()));
    outage("AdaptiveThrottle (K = 2, window 2 min)", default).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    steadfast_examples::note_features();
    let server = AlwaysUnavailable::default();
    let (addr, _task) = server.serve().await.expect("serve");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    println!("server calls per logical call against a server failing every call ({CALLS} calls; 200 for 3 nested layers)");
    println!(
        "{:<42} {:>14} {:>14}",
        "policy", "concurrency 1", "concurrency 64"
    );
    for kind in [
        Kind::NoBudget,
        Kind::TokenBucket,
        Kind::Ratio,
        Kind::Breaker,
        Kind::Nested,
        Kind::NestedOnce,
    ] {
        let (c1, t1) = run(kind, 1, &channel, &server).await;
        let (c64, t64) = run(kind, 64, &channel, &server).await;
        println!(
            "{:<42} {:>8.3} {:>5}ms {:>8.3} {:>5}ms",
            kind.name(),
            c1,
            t1.as_millis(),
            c64,
            t64.as_millis()
        );
    }
    fail_fast_and_recovery().await;
    breaker_against_throttle().await;
}
