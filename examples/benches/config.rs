//! What a settings file costs a generated client's success path
//! (`ResilientUserServiceClient::from_config`, feature `config`): each call
//! reads the file in force (one atomic load) and builds its policy from the
//! file's settings over the proto's. In one process, alternated round by
//! round against echo servers of their own on 127.0.0.1 (behind
//! `DeadlineLayer`):
//! - `generated`: `ResilientUserServiceClient::new(channel)`, the policy the
//!   proto compiled in (2 s deadline, 3 attempts, 300 ms each);
//! - `from_config`: the same client made from a file that says the same
//!   (`timeout: 2s, maxRetryAttempts: 2, perTryTimeout: 300ms, ..`);
//! - `raw + set_timeout`: tonic's client with a 2 s `grpc-timeout`.
//!
//! Then the read alone: `ClientConfig::call("GetUser")`, nanoseconds a call.
//!
//! ```sh
//! cargo bench -p steadfast-examples --no-default-features --features config --bench config
//! ```
#![allow(clippy::unwrap_used)] // a benchmark

use std::time::{Duration, Instant};

use steadfast::config::{Clients, Format};
use steadfast_examples::faulty::serve_echo;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest};
use tonic::transport::Channel;

const ROUNDS: usize = 30;
const CALLS: usize = 400;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

#[derive(Clone)]
enum Variant {
    Generated(Box<ResilientUserServiceClient<Channel>>),
    Raw(UserServiceClient<Channel>),
}

impl Variant {
    async fn call(&mut self) {
        match self {
            Variant::Generated(client) => {
                client.get_user(request()).await.unwrap();
            }
            Variant::Raw(client) => {
                let mut request = tonic::Request::new(request());
                request.set_timeout(Duration::from_secs(2));
                client.get_user(request).await.unwrap();
            }
        }
    }
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    steadfast_examples::note_features();
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let file = |addr: std::net::SocketAddr| {
            format!(
                "grpc:\n  client:\n    users:\n      address: 'static://{addr}'\n      timeout: 2s\n      \
                 maxRetryAttempts: 2\n      backoff: exp\n      initialBackoff: 50ms\n      \
                 perTryTimeout: 300ms\n      retryOn: [UNAVAILABLE]\n"
            )
        };
        let generated = ResilientUserServiceClient::new(channel(serve_echo(true).await.unwrap().0).await);
        let configured_at = serve_echo(true).await.unwrap().0;
        let clients = Clients::parse(&file(configured_at), Format::Yaml).unwrap();
        let configured = ResilientUserServiceClient::from_config(&clients, "users").unwrap();
        let raw = UserServiceClient::new(channel(serve_echo(false).await.unwrap().0).await);
        let mut variants = [
            ("raw + set_timeout", Variant::Raw(raw)),
            ("generated", Variant::Generated(Box::new(generated))),
            ("from_config", Variant::Generated(Box::new(configured))),
        ];
        for (_, variant) in &mut variants {
            for _ in 0..CALLS {
                variant.call().await;
            }
        }
        let n = variants.len();
        let mut per_call = vec![Vec::new(); n];
        for round in 0..ROUNDS {
            for step in 0..n {
                let v = (round + step) % n;
                let start = Instant::now();
                for _ in 0..CALLS {
                    variants[v].1.call().await;
                }
                per_call[v].push(start.elapsed().as_nanos() as f64 / CALLS as f64);
            }
        }
        println!("{ROUNDS} rounds of {CALLS} calls a variant, concurrency 1, the order rotating each round");
        let raw = per_call[0].clone();
        let generated = per_call[1].clone();
        for (i, (name, _)) in variants.iter().enumerate() {
            let mut xs = per_call[i].clone();
            let mut over_raw: Vec<f64> = raw.iter().zip(&per_call[i]).map(|(r, v)| r / v).collect();
            let mut over_generated: Vec<f64> =
                generated.iter().zip(&per_call[i]).map(|(g, v)| g / v).collect();
            let (lo, hi) = (over_generated.iter().copied().fold(f64::MAX, f64::min), over_generated.iter().copied().fold(f64::MIN, f64::max));
            println!(
                "{name:<18} median {:>8.1} µs/call  throughput / raw + set_timeout {:.3}  / generated {:.3} (rounds {lo:.3}–{hi:.3})",
                median(&mut xs) / 1000.0,
                median(&mut over_raw),
                median(&mut over_generated),
            );
        }

        // The read alone.
        let users = clients.client("users").unwrap();
        let reads = 1_000_000u32;
        let mut times = Vec::new();
        for _ in 0..9 {
            let start = Instant::now();
            for _ in 0..reads {
                std::hint::black_box(users.call(std::hint::black_box("GetUser")));
            }
            times.push(start.elapsed().as_nanos() as f64 / f64::from(reads));
        }
        let spread = (
            times.iter().copied().fold(f64::MAX, f64::min),
            times.iter().copied().fold(f64::MIN, f64::max),
        );
        println!(
            "ClientConfig::call(\"GetUser\"): median {:.1} ns (9 rounds of {reads}: {:.1}–{:.1} ns)",
            median(&mut times),
            spread.0,
            spread.1
        );
    });
}
