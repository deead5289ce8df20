use std::time::Duration;

use steadfast::{deadline, retry};
use tonic::Status;

const BUDGET: Duration = Duration::from_secs(2);

#[retry]
async fn defaults() -> Result<(), Status> { Ok(()) }

#[retry(max = 3, backoff = "exp", initial = 100ms, multiplier = 1.5, max_delay = 2s, jitter = 0.2)]
async fn every_key(id: &str) -> Result<String, Status> { Ok(id.to_owned()) }

#[retry(max = 2, backoff = "fibonacci", initial = Duration::from_millis(5), jitter = "decorrelated", per_attempt = 1.5s)]
async fn expressions() -> Result<(), Status> { Ok(()) }

#[deadline(= BUDGET)]
async fn deadline_expr() -> Result<(), std::io::Error> { Ok(()) }

#[deadline(1m30s)]
#[retry(max = 5, backoff = "linear", jitter = "full")]
async fn stacked() -> Result<(), Box<dyn std::error::Error + Send + Sync>> { Ok(()) }

#[retry(max = 5, backoff = "constant", initial = 500us, jitter = "equal")]
#[deadline(150ms)]
async fn stacked_per_attempt() -> Result<(), steadfast::Elapsed> { Ok(()) }

#[retry(max = 3)]
fn blocking(path: &str) -> std::io::Result<String> { Ok(path.to_owned()) }

#[retry(max = 3, backoff = "none")]
pub(crate) async fn visibility_and_io_result() -> std::io::Result<()> { Ok(()) }

fn main() {
    let _ = (defaults(), every_key("1"), expressions(), deadline_expr(), stacked(), stacked_per_attempt());
    let _ = (blocking("a"), visibility_and_io_result());
}
