//! What the success-path measurements compare against: the runtime they run
//! on, the cheapest operation, the policy every variant uses, and the retry
//! loop a user would write by hand. Shared by `benches/retry.rs`,
//! `benches/macros.rs` and `examples/success_path.rs` so that all measure
//! the same code.
#![allow(dead_code)] // each measurement uses only some of it

use std::hint::black_box;
use std::time::Duration;

use steadfast::{Backoff, Elapsed, RetryPolicy};

/// A current-thread runtime with timers, as every measurement uses.
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

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
