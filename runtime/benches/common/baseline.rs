//! What the success-path measurements compare against: the cheapest
//! operation, the policy every variant uses, and the retry loop a user would
//! write by hand. Shared by `benches/retry.rs` and `examples/success_path.rs`
//! so that both measure the same code.

use std::hint::black_box;
use std::time::Duration;

use resilient::{Backoff, Elapsed, RetryPolicy};

/// Three attempts, exponential backoff from 100 ms.
pub(crate) static POLICY: RetryPolicy = RetryPolicy::new()
    .max_attempts(3)
    .backoff(Backoff::exponential(Duration::from_millis(100)));

/// The operation: succeeds at once, with a value the optimiser cannot see.
pub(crate) async fn work() -> Result<u64, Elapsed> {
    Ok(black_box(1))
}

/// `POLICY` written out as a plain loop.
pub(crate) async fn hand_written() -> Result<u64, Elapsed> {
    let mut attempt = 1;
    let mut delay = Duration::from_millis(100);
    loop {
        match work().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}
