//! The code of docs/client-config.md, against a server on 127.0.0.1 that
//! fails its first five calls with `UNAVAILABLE`: `cargo run -p
//! steadfast-examples --example live_config`. The generated client is made
//! from a settings file, as in the founding article; the file is edited
//! while the client runs, to allow more retries, and the next call succeeds,
//! with no restart.

use std::time::Duration;

use steadfast::config::Clients;
use steadfast_examples::faulty::{Fault, FaultyUsers};
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest};
use tonic::Code;

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
    let mut users = ResilientUserServiceClient::from_config(&clients, "user-service")?;

    let request = || UserRequest {
        user_id: "42".into(),
    };
    let first = users.get_user(request()).await;
    println!(
        "maxRetryAttempts: 1 -> {:?} after {} attempts",
        first.map(|r| r.into_inner().name).map_err(|s| s.code()),
        server.calls()
    );

    // An operator edits the file while the service runs.
    std::fs::write(&path, settings(&addr.to_string(), 5))?;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let before = server.calls();
    let second = users.get_user(request()).await;
    println!(
        "maxRetryAttempts: 5 -> {:?} after {} attempts, no restart",
        second.map(|r| r.into_inner().name).map_err(|s| s.code()),
        server.calls() - before
    );
    std::fs::remove_file(&path)?;
    Ok(())
}
