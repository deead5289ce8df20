//! The code of docs/client-config.md, against a server on 127.0.0.1 that
//! fails its first five calls with `UNAVAILABLE`: `cargo run -p
//! steadfast-examples --example live_config`. The client's settings are a file, as in the
//! founding article; the file is edited while the client runs, to allow more
//! retries, and the next calls succeed, with no restart.

use std::time::Duration;

use steadfast::config::Clients;
use steadfast_examples::faulty::{Fault, FaultyUsers};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::UserRequest;
use tonic::{Code, Status};

/// One call of `GetUser`, under the settings the file has as it starts.
async fn get_user(
    clients: &Clients,
    channel: &steadfast::tonic::Channel,
) -> Result<String, Status> {
    let policy = clients
        .client("user-service")
        .map_err(|e| Status::internal(e.to_string()))?
        .call("GetUser");
    policy
        .run(|| {
            let mut client = UserServiceClient::new(channel.clone());
            async move {
                let request = UserRequest {
                    user_id: "42".into(),
                };
                Ok(client.get_user(request).await?.into_inner().name)
            }
        })
        .await
}

/// The founding article's settings, at `address`, allowing `retries`.
fn settings(address: &str, retries: u32) -> String {
    format!(
        "grpc:
  client:
    user-service:
      address: 'static://{address}'
      enableKeepAlive: true
      keepAliveTime: 30s
      connectTimeout: 1s
      timeout: 2s
      maxRetryAttempts: {retries}
      perTryTimeout: 1s
      initialBackoff: 20ms
"
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The first five attempts fail, whatever call they belong to; the rest are served.
    let server = FaultyUsers::new(vec![Fault::Fail(Code::Unavailable); 5]);
    let (addr, _task) = server.serve().await?;

    let path =
        std::env::temp_dir().join(format!("steadfast-live-config-{}.yaml", std::process::id()));
    std::fs::write(&path, settings(&addr.to_string(), 1))?;
    let clients = Clients::load(&path)?;
    let _watch = clients.watch(&path); // applies each edit of the file to the next calls
    let channel = clients.client("user-service")?.channel()?;

    let first = get_user(&clients, &channel).await;
    println!(
        "maxRetryAttempts: 1 -> {:?} after {} attempts",
        first.map_err(|s| s.code()),
        server.calls()
    );

    // An operator edits the file while the service runs.
    std::fs::write(&path, settings(&addr.to_string(), 5))?;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let before = server.calls();
    let second = get_user(&clients, &channel).await;
    println!(
        "maxRetryAttempts: 5 -> {:?} after {} attempts, no restart",
        second.map_err(|s| s.code()),
        server.calls() - before
    );
    std::fs::remove_file(&path)?;
    Ok(())
}
