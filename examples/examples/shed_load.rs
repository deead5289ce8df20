//! The code of docs/servers.md's "Shed load": a server that protects
//! itself with `LimitLayer`, on 127.0.0.1, and a burst of 100 callers:
//! `cargo run -p steadfast-examples --example shed_load`. The handler takes
//! 50 ms; the server runs 8 calls at once, and refuses the rest with
//! `UNAVAILABLE` and the time a call holds a place as pushback.

use std::time::Duration;

use steadfast::tonic::{DeadlineLayer, LimitLayer};
use steadfast::{ConcurrencyLimit, RateLimiter};
use steadfast_examples::faulty::{bind, Fault, FaultyUsers};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::user_service_server::UserServiceServer;
use steadfast_examples::user::UserRequest;
use tonic::Code;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, incoming) = bind().await?;
    let users = FaultyUsers::new(vec![Fault::Slow(Duration::from_millis(50)); 1000]);
    let service = UserServiceServer::new(users.clone());
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(DeadlineLayer::new())
            .layer(
                LimitLayer::new()
                    .method("/user.UserService/GetUser", RateLimiter::per_second(1000))
                    .service("user.UserService", ConcurrencyLimit::new(8))
                    .global(ConcurrencyLimit::new(1024).queue(Duration::from_millis(50))),
            )
            .add_service(service)
            .serve_with_incoming(incoming),
    );

    let client = UserServiceClient::new(steadfast::tonic::connect(format!("http://{addr}")).await?);
    // One call first: the server learns how long a call holds a place.
    client.clone().get_user(request()).await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let mut client = client.clone();
        calls.spawn(async move { client.get_user(request()).await });
    }
    let (mut served, mut shed, mut pushback) = (0, 0, String::new());
    while let Some(answer) = calls.join_next().await {
        match answer? {
            Ok(_) => served += 1,
            Err(status) if status.code() == Code::Unavailable => {
                shed += 1;
                if let Some(ms) = status.metadata().get("grpc-retry-pushback-ms") {
                    pushback = ms.to_str()?.to_owned();
                }
            }
            Err(status) => return Err(status.into()),
        }
    }
    println!(
        "a burst of 100 calls against 8 places: {served} served, {shed} shed \
         (UNAVAILABLE, come back in {pushback} ms); the handler ran {} times",
        users.calls() - 1
    );
    server.abort();
    Ok(())
}

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}
