//! The code of docs/retry.md, run against a scripted server on 127.0.0.1:
//! `cargo run -p steadfast-examples --example retry`.

use std::time::Duration;

use steadfast::{Backoff, CircuitBreaker, RetryPolicy};
use steadfast_examples::faulty::{Fault, FaultyUsers};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{UserRequest, UserResponse};
use tonic::{Code, Status};

#[steadfast::retry(max = 4, backoff = "exp", initial = 10ms, on = [Unavailable, ResourceExhausted])]
async fn get_user(
    client: &mut UserServiceClient<steadfast::tonic::Channel>,
    id: &str,
) -> Result<UserResponse, Status> {
    let request = UserRequest { user_id: id.into() };
    Ok(client.get_user(request).await?.into_inner())
}

static USERS: CircuitBreaker = CircuitBreaker::new()
    .failure_ratio(0.5)
    .min_calls(20)
    .open_for(Duration::from_secs(5));

#[steadfast::deadline(2s)] // one budget for the whole call
#[steadfast::retry(max = 3)] // each attempt asks the breaker first
#[steadfast::circuit_breaker(USERS)]
async fn get_user_guarded(
    client: &mut UserServiceClient<steadfast::tonic::Channel>,
    id: &str,
) -> Result<UserResponse, Status> {
    Ok(client
        .get_user(UserRequest { user_id: id.into() })
        .await?
        .into_inner())
}

#[steadfast::hedge(max = 2, delay = "p95")] // a second attempt when the first is slower than usual
async fn find_user(
    client: &UserServiceClient<steadfast::tonic::Channel>, // shared by the attempts: `&`, not `&mut`
    id: &str,
) -> Result<UserResponse, Status> {
    let mut client = client.clone(); // a clone shares the channel
    Ok(client
        .get_user(UserRequest { user_id: id.into() })
        .await?
        .into_inner())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users = FaultyUsers::new([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::ResourceExhausted),
    ]);
    let (addr, _server) = users.serve().await?;
    let mut client =
        UserServiceClient::new(steadfast::tonic::connect(format!("http://{addr}")).await?);

    let user = get_user(&mut client, "42").await?;
    println!("#[retry]: {} after {} attempts", user.name, users.calls());

    let user = get_user_guarded(&mut client, "42").await?;
    println!(
        "#[deadline] #[retry] #[circuit_breaker]: {} (breaker {:?})",
        user.name,
        USERS.state()
    );

    let user = find_user(&client, "42").await?;
    println!("#[hedge]: {}", user.name);

    users.script([Fault::Fail(Code::Unavailable)]);
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(100)));
    // tonic's methods take `&mut self`: each attempt calls a clone of the client.
    let user = steadfast::retry(&policy, || {
        let mut client = client.clone();
        async move {
            client
                .get_user(UserRequest {
                    user_id: "42".into(),
                })
                .await
        }
    })
    .await?;
    println!("steadfast::retry: {}", user.into_inner().name);
    Ok(())
}
