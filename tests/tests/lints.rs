//! Expansions trip no lints in user code: this file denies the pedantic
//! ones, and CI runs clippy on it with warnings denied.
#![deny(unused_qualifications, unused_results, clippy::all, warnings)]

use std::time::Duration;

use steadfast::{retry, RetryBudget};
use tonic::Status;

static BUDGET: RetryBudget = RetryBudget::new(10, 0.1);

fn transient(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Interrupted
}

fn log_retry(_: &Status, _: Duration, _: u32) {}

struct Client {
    calls: u32,
}

impl Client {
    #[steadfast::deadline(2s)]
    #[retry(max = 3, backoff = "exp", initial = 10ms, jitter = "none", per_attempt = 1s)]
    async fn get(&mut self, id: String) -> Result<String, Status> {
        self.calls += 1;
        Ok(id)
    }

    #[retry(on = [Unavailable, Aborted], budget = BUDGET, notify = log_retry)]
    async fn list(&self, page: u32) -> Result<Vec<u32>, Status> {
        Ok(vec![page, self.calls])
    }
}

#[retry(max = 2, when = transient)]
fn read(path: &str) -> std::io::Result<String> {
    Ok(path.to_owned())
}

#[retry(max = 2)]
#[steadfast::deadline(= Duration::from_millis(200))]
async fn nested(n: u64) -> Result<u64, std::io::Error> {
    Ok(n)
}

#[tonic::async_trait]
trait Handler {
    async fn handle(&self, id: String) -> Result<String, Status>;
}

#[tonic::async_trait]
impl Handler for Client {
    #[steadfast::deadline(1s)]
    #[retry(max = 2)]
    async fn handle(&self, id: String) -> Result<String, Status> {
        #![allow(clippy::redundant_clone)]
        Ok(id.clone())
    }
}

#[retry(max = 2)]
async fn boxed(fail: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        return Err(Box::new(std::io::Error::other("x")));
    }
    Ok(())
}

#[tokio::test]
async fn annotated_code_compiles_cleanly_and_runs() {
    assert_eq!(Client { calls: 0 }.handle("h".into()).await.unwrap(), "h");
    boxed(false).await.unwrap();
    let mut client = Client { calls: 0 };
    assert_eq!(client.get("a".into()).await.unwrap(), "a");
    assert_eq!(client.list(2).await.unwrap(), vec![2, 1]);
    assert_eq!(read("p").unwrap(), "p");
    assert_eq!(nested(4).await.unwrap(), 4);
}
