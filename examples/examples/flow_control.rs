//! The code of docs/flow-control.md, run against a server on 127.0.0.1:
//! `cargo run -p steadfast-examples --example flow_control`. The founding
//! article's Sentinel case: a burst of order calls against a 50/s limit, the
//! admitted ones served, the rest answered "too many orders right now" by
//! the `#[fallback]` handler.

use std::time::Duration;

use steadfast::{ConcurrencyLimit, RateLimiter};
use steadfast_examples::faulty::serve_echo;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::UserRequest;
use tonic::Status;

/// 50 orders a second, 10 at once above that; a call over the rate is refused at once.
static ORDERS: RateLimiter = RateLimiter::per_second(50).burst(10).named("orders");

/// At most 8 calls to the backend in flight; a ninth waits up to 100 ms for a place.
static BACKEND: ConcurrencyLimit = ConcurrencyLimit::new(8)
    .queue(Duration::from_millis(100))
    .named("backend");

#[steadfast::fallback(order_busy)]
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

/// Sentinel's blockHandler: the function's parameters, then the error. It
/// answers `create_order`'s refusals by its own limits (not a
/// RESOURCE_EXHAUSTED sent by the server).
fn order_busy(
    _client: &UserServiceClient<steadfast::tonic::Channel>,
    id: &u32,
    _refused: Status,
) -> Result<String, Status> {
    Ok(format!("order {id}: {BUSY}"))
}

const BUSY: &str = "too many orders right now, please try again later";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, _server) = serve_echo(false).await?;
    let client = UserServiceClient::new(steadfast::tonic::connect(format!("http://{addr}")).await?);

    // A burst of 200 orders at once: about the burst of 10 is admitted, the rest refused.
    let mut orders = tokio::task::JoinSet::new();
    for id in 0..200 {
        let mut client = client.clone();
        orders.spawn(async move { create_order(&mut client, id).await });
    }
    let (mut served, mut busy) = (0, 0);
    while let Some(answer) = orders.join_next().await {
        match answer?? {
            message if message.ends_with(BUSY) => busy += 1,
            _ => served += 1,
        }
    }
    println!(
        "a burst of 200 orders against 50/s (burst 10): {served} served, {busy} answered busy"
    );

    // Orders spread over a second: at most 50 a second and the burst are served.
    tokio::time::sleep(Duration::from_millis(200)).await; // the burst refills
    let mut client = client.clone();
    let (mut served, mut busy) = (0, 0);
    let start = tokio::time::Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        let message = create_order(&mut client, 7).await?;
        if message.ends_with(BUSY) {
            busy += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        } else {
            served += 1;
        }
    }
    println!("orders for one second, one after another: {served} served, {busy} answered busy");
    Ok(())
}
