//! Runs one success-path variant 100,000 times, for counting instructions
//! with callgrind (repeatable where wall-clock benchmarks are noisy):
//!
//! ```sh
//! cargo build --release -p resilient --example success_path
//! valgrind --tool=callgrind target/release/examples/success_path retry
//! ```
//!
//! Variants: `none` (the bare operation), `hand` (a hand-written retry
//! loop), `retry` (`resilient::retry`), `timeout` (`tokio::time::timeout`),
//! `scope` (`resilient::deadline::scope`).

use std::hint::black_box;
use std::time::Duration;

use resilient::{Backoff, Elapsed, RetryPolicy};

static POLICY: RetryPolicy = RetryPolicy::new()
    .max_attempts(3)
    .backoff(Backoff::exponential(Duration::from_millis(100)));

async fn work() -> Result<u64, Elapsed> {
    Ok(black_box(1))
}

async fn hand_written() -> Result<u64, Elapsed> {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let variant = std::env::args().nth(1).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    rt.block_on(async {
        for _ in 0..100_000 {
            match variant.as_str() {
                "none" => drop(black_box(work().await)),
                "hand" => drop(black_box(hand_written().await)),
                "retry" => drop(black_box(resilient::retry(&POLICY, work).await)),
                "timeout" => drop(black_box(
                    tokio::time::timeout(Duration::from_secs(2), work()).await,
                )),
                "scope" => drop(black_box(
                    resilient::deadline::scope(Duration::from_secs(2), work()).await,
                )),
                other => return Err(format!("unknown variant {other:?}")),
            }
        }
        Ok(())
    })?;
    Ok(())
}
