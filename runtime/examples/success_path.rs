//! Runs one success-path variant 100,000 times, for counting instructions
//! with callgrind (repeatable where wall-clock benchmarks are noisy):
//!
//! ```sh
//! cargo build --release -p steadfast --example success_path
//! valgrind --tool=callgrind target/release/examples/success_path retry
//! ```
//!
//! Variants: `none` (the bare operation), `hand` (a hand-written retry
//! loop), `retry` (`steadfast::retry`), `attr` (`#[retry]` on the
//! operation), `timeout` (`tokio::time::timeout`), `scope`
//! (`steadfast::deadline::scope`), `breaker` (`#[circuit_breaker]` on an
//! `async fn`), `breaker_blocking` (on a `fn`), `attr_traced` (`attr` with a
//! subscriber that keeps spans).

use std::hint::black_box;
use std::time::Duration;

use steadfast::Elapsed;

#[path = "../benches/common/baseline.rs"]
mod baseline;
use baseline::{hand_written, rt, work, POLICY};

#[steadfast::retry(max = 3, backoff = "exp", initial = 100ms)]
async fn annotated() -> Result<u64, Elapsed> {
    Ok(black_box(1))
}

/// `annotated`'s twin for `attr_traced`: a second caller of `annotated`
/// would change how it is inlined, and so `attr`'s count.
#[cfg(feature = "tracing")]
#[steadfast::retry(max = 3, backoff = "exp", initial = 100ms)]
async fn annotated_traced() -> Result<u64, Elapsed> {
    Ok(black_box(1))
}

static BREAKER: steadfast::CircuitBreaker = steadfast::CircuitBreaker::new();

#[steadfast::circuit_breaker(BREAKER)]
async fn broken() -> Result<u64, steadfast::CircuitOpen> {
    Ok(black_box(1))
}

#[steadfast::circuit_breaker(BREAKER)]
fn broken_blocking() -> Result<u64, steadfast::CircuitOpen> {
    Ok(black_box(1))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let variant = std::env::args().nth(1).unwrap_or_default();
    let rt = rt();
    // The variant is chosen once, outside the loop, so that each loop
    // counts nothing but its own calls.
    macro_rules! times {
        ($call:expr) => {
            rt.block_on(async {
                for _ in 0..100_000 {
                    let _ = black_box($call.await);
                }
            })
        };
    }
    match variant.as_str() {
        "none" => times!(work()),
        "hand" => times!(hand_written()),
        "retry" => times!(steadfast::retry(&POLICY, work)),
        "attr" => times!(annotated()),
        "timeout" => times!(tokio::time::timeout(Duration::from_secs(2), work())),
        "scope" => times!(steadfast::deadline::scope(Duration::from_secs(2), work())),
        "breaker" => times!(broken()),
        "breaker_blocking" => times!(async { broken_blocking() }),
        // With a subscriber that keeps every span (tracing-subscriber's
        // registry, no layer): what the spans cost when they are made
        // (feature `function-spans` for the attribute's own).
        #[cfg(feature = "tracing")]
        "attr_traced" => {
            use tracing_subscriber::layer::SubscriberExt as _;
            let subscriber =
                tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
            let _guard = tracing::subscriber::set_default(subscriber);
            times!(annotated_traced())
        }
        other => return Err(format!("unknown variant {other:?}").into()),
    }
    Ok(())
}
