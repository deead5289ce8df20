//! The code of docs/flow-control.md, run against a server on 127.0.0.1:
//! `cargo run -p steadfast-examples --example flow_control`. The founding
//! article's Sentinel case: a burst of order calls against a 50/s limit, the
//! admitted ones served, the rest answered "too many orders right now".

use std::time::Duration;

use steadfast::{ConcurrencyLimit, RateLimiter};
use steadfast_examples::faulty::serve_echo;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::UserRequest;
use tonic::{Code, Status};

/// 50 orders a second, 10 at once above that; a call over the rate is refused at once.
static ORDERS: RateLimiter = RateLimiter::per_second(50).burst(10).named("orders");

/// At most 8 calls to the backend in flight; a ninth waits up to 100 ms for a place.
static BACKEND: ConcurrencyLimit = ConcurrencyLimit::new(8)
    .queue(Duration::from_millis(100))
    .named("backend");

#[steadfast::rate_limit(ORDERS)]
#[steadfast::concurrency_limit(BACKEND)]
async fn create_order(
    client: &mut UserServiceClient<steadfast::tonic::Channel>,
    id: u32,
) -> Result<String, Status> {
    let request = UserRequest {
        user_id: id.to_string(),
    };
    Ok(client.get_user(request).await?.into_inner().name)
}

/// Sentinel's blockHandler, by hand: a refusal by a limit of ours (not the
/// server's own RESOURCE_EXHAUSTED) is answered with a message.
fn order_or_busy(result: Result<String, Status>) -> Result<String, Status> {
    match result {
        Err(status) if status.code() == Code::ResourceExhausted && is_ours(&status) => {
            Ok("too many orders right now, please try again later".to_owned())
        }
        other => other,
    }
}

/// Whether a `RESOURCE_EXHAUSTED` came from a limit here: ours name the limit.
fn is_ours(status: &Status) -> bool {
    status.message().starts_with("rate limit `orders`")
        || status.message().starts_with("concurrency limit `backend`")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, _server) = serve_echo(false).await?;
    let client = UserServiceClient::new(steadfast::tonic::connect(format!("http://{addr}")).await?);

    // A burst of 200 orders at once: about the burst of 10 is admitted, the rest refused.
    let mut orders = tokio::task::JoinSet::new();
    for id in 0..200 {
        let mut client = client.clone();
        orders.spawn(async move { order_or_busy(create_order(&mut client, id).await) });
    }
    let (mut served, mut busy) = (0, 0);
    while let Some(answer) = orders.join_next().await {
        match answer?? {
            message if message.starts_with("too many") => busy += 1,
            _ => served += 1,
        }
    }
    println!(
        "a burst of 200 orders against 50/s (burst 10): {served} served, {busy} answered busy"
    );

    // Orders spread over a second: at most 50 a second and the burst are served.
    tokio::time::sleep(Duration::from_millis(200)).await; // the burst refills
    let mut client = client.clone();
    let (mut served, mut refused) = (0, 0);
    let start = tokio::time::Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        match create_order(&mut client, 7).await {
            Ok(_) => served += 1,
            Err(status) => {
                let limited = status.code() == Code::ResourceExhausted && is_ours(&status);
                assert!(limited, "only the limits refuse: {status:?}");
                refused += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    println!("orders for one second, one after another: {served} served, {refused} refused");
    Ok(())
}
