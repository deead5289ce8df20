//! Runs 64,000 unary calls on loopback through one variant at concurrency
//! 64 (or 8,000 one after another with `GRPC_WAKEUPS_CONCURRENCY=1`, on
//! the runtime's own thread as grpc_ab does, or inside a spawned task with
//! `GRPC_WAKEUPS_IN_TASK=1` as well), on a two-worker runtime as
//! `benches/grpc_ab.rs` does, for counting system calls: what callgrind
//! does not see.
//!
//! ```sh
//! cargo build --release -p steadfast-examples --no-default-features --example grpc_wakeups
//! strace -f -c -o calls.txt target/release/examples/grpc_wakeups <raw|timeout|generated|layer|layer-plain|layer-retry|layer-timeout>
//! ```
//!
//! `layer-plain` is `layer` against a server without layers,
//! `layer-retry` the same with the service config's retries alone and
//! `layer-timeout` with its timeout alone; they and `raw`/`timeout` talk to
//! a server without layers.
//!
//! A timer registered while the runtime's time driver sleeps with no timer
//! of its own (or a later one) wakes the driver: one `write` to its event
//! descriptor, and an `epoll_wait` more, per wake.

use std::time::Duration;

use steadfast::tonic::ServiceConfigLayer;
use steadfast_examples::faulty::{
    serve_echo, ECHO_RETRIES_ONLY, ECHO_SERVICE_CONFIG, ECHO_TIMEOUT_ONLY,
};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest};
use tonic::transport::Channel;
use tonic::Status;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

/// Runs `call` 64,000 times, 64 at a time (or 8,000 times one after
/// another, as grpc_ab's concurrency 1 does: on the runtime's own thread),
/// each on a clone of `client`; returns the calls per second.
async fn run<C, F, Fut>(client: &C, call: F) -> Result<f64, Box<dyn std::error::Error>>
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send + 'static,
{
    let sequential = std::env::var("GRPC_WAKEUPS_CONCURRENCY").is_ok_and(|c| c == "1");
    let start = std::time::Instant::now();
    if sequential {
        const CALLS: usize = 8_000;
        if std::env::var("GRPC_WAKEUPS_IN_TASK").is_ok() {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..CALLS {
                    call(client.clone()).await?;
                }
                Ok::<(), Status>(())
            })
            .await??;
        } else {
            for _ in 0..CALLS {
                call(client.clone()).await?;
            }
        }
        return Ok(CALLS as f64 / start.elapsed().as_secs_f64());
    }
    const CALLS: usize = 64_000;
    const CONCURRENCY: usize = 64;
    for _ in 0..CALLS / CONCURRENCY {
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|_| tokio::spawn(call(client.clone())))
            .collect();
        for task in tasks {
            task.await??;
        }
    }
    Ok(CALLS as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_examples::note_features();
    let variant = std::env::args().nth(1).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let layered = !matches!(
            variant.as_str(),
            "raw" | "timeout" | "layer-plain" | "layer-retry" | "layer-timeout"
        );
        let (addr, _server) = serve_echo(layered).await?;
        let channel = Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        let rate = match variant.as_str() {
            "raw" => {
                let client = UserServiceClient::new(channel);
                run(&client, |mut c| async move {
                    c.get_user(request()).await.map(drop)
                })
                .await?
            }
            "timeout" => {
                let client = UserServiceClient::new(channel);
                run(&client, |mut c| async move {
                    let mut request = tonic::Request::new(request());
                    request.set_timeout(Duration::from_secs(2));
                    c.get_user(request).await.map(drop)
                })
                .await?
            }
            "generated" => {
                let client = ResilientUserServiceClient::new(channel);
                run(&client, |mut c| async move {
                    c.get_user(request()).await.map(drop)
                })
                .await?
            }
            "layer" | "layer-plain" | "layer-retry" | "layer-timeout" => {
                let config = match variant.as_str() {
                    "layer-retry" => ECHO_RETRIES_ONLY,
                    "layer-timeout" => ECHO_TIMEOUT_ONLY,
                    _ => ECHO_SERVICE_CONFIG,
                };
                let layer = ServiceConfigLayer::from_json(config)?;
                let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
                let client = UserServiceClient::new(channel);
                run(&client, |mut c| async move {
                    c.get_user(request()).await.map(drop)
                })
                .await?
            }
            other => return Err(format!("unknown variant {other:?}").into()),
        };
        eprintln!("{variant}: {rate:.0} calls/s");
        Ok(())
    })
}
