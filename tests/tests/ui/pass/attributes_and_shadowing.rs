#![deny(unused_qualifications, unused_variables)]

use steadfast::retry;
use tonic::Status;

/// Docs pass through.
#[must_use = "the call result matters"]
#[retry(max = 3)]
#[allow(clippy::needless_return)]
pub async fn documented() -> Result<(), Status> {
    return Ok(());
}

// The user's own names cannot clash with the expansion's.
#[allow(dead_code, non_camel_case_types)]
struct Duration;
#[allow(dead_code)]
struct RetryPolicy;
#[allow(dead_code)]
enum Decision { Retry, Return }
#[allow(dead_code)]
fn sleep() {}

#[retry(max = 3, initial = 10ms)]
async fn shadowing(policy: u32, state: u32) -> Result<u32, Status> {
    let __steadfast_state = 1;
    Ok(policy + state + __steadfast_state)
}

mod errors {
    pub type Result<T> = std::result::Result<T, tonic::Status>;
}

#[steadfast::deadline(2s)]
async fn alias() -> errors::Result<()> { Ok(()) }

fn main() {
    let _ = shadowing(1, 2);
    let _ = alias();
    let _ = documented();
}
