//! Closed-state cost of a circuit breaker per call: `steadfast`'s, against
//! `failsafe` 1.3, `recloser` 1.4 and `tower-resilience` 0.13, in one
//! process, the variants alternated round by round so that the machine's
//! drift hits them alike. Reports each variant's median over the rounds and
//! its spread (min–max), minus the empty loop of its group.
//!
//! `cargo bench -p steadfast --bench breaker`

use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::CircuitBreaker;

const ROUNDS: usize = 15;
const CALLS: u32 = 200_000;

static OURS: CircuitBreaker = CircuitBreaker::new();

// The error types have no drop glue, as `()` has in `op`: the figures
// compare breakers, not the cost of dropping an `io::Error`.
#[steadfast::circuit_breaker(OURS)]
fn attributed(x: u32) -> Result<u32, steadfast::CircuitOpen> {
    Ok(black_box(x))
}

#[steadfast::circuit_breaker(OURS)]
async fn attributed_async(x: u32) -> Result<u32, steadfast::CircuitOpen> {
    Ok(black_box(x))
}

fn op(x: u32) -> Result<u32, ()> {
    Ok(black_box(x))
}

#[path = "common/alternated.rs"]
mod alternated;

use alternated::{median, sample, spread, Variant};

fn timed(mut f: impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    for i in 0..CALLS {
        f(i);
    }
    start.elapsed()
}

fn variants() -> Vec<Variant> {
    use failsafe::CircuitBreaker as _;

    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::Recloser::default();
    let rt = std::rc::Rc::new(
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime"),
    );

    let mut v: Vec<Variant> = vec![
        (
            "sync",
            "empty loop",
            Box::new(|| {
                timed(|i| {
                    black_box(op(i)).ok();
                })
            }),
        ),
        (
            "sync",
            "steadfast acquire/success",
            Box::new(|| {
                timed(|i| {
                    let permit = OURS.acquire().expect("closed");
                    let r = op(i);
                    permit.record(r.is_err());
                    black_box(r).ok();
                })
            }),
        ),
        (
            "sync",
            "steadfast #[circuit_breaker] fn",
            Box::new(|| {
                timed(|i| {
                    black_box(attributed(i)).ok();
                })
            }),
        ),
        (
            "sync",
            "failsafe 1.3",
            Box::new(move || {
                timed(|i| {
                    black_box(failsafe.call(|| op(i))).ok();
                })
            }),
        ),
        (
            "sync",
            "recloser 1.4",
            Box::new(move || {
                timed(|i| {
                    black_box(recloser.call(|| op(i))).ok();
                })
            }),
        ),
    ];

    let rt1 = rt.clone();
    v.push((
        "async",
        "empty loop",
        Box::new(move || {
            rt1.block_on(async {
                let start = Instant::now();
                for i in 0..CALLS {
                    let r = async { op(i) }.await;
                    black_box(r).ok();
                }
                start.elapsed()
            })
        }),
    ));
    let rt2 = rt.clone();
    v.push((
        "async",
        "steadfast #[circuit_breaker] async fn",
        Box::new(move || {
            rt2.block_on(async {
                let start = Instant::now();
                for i in 0..CALLS {
                    black_box(attributed_async(i).await).ok();
                }
                start.elapsed()
            })
        }),
    ));
    let rt3 = rt;
    let layer = tower_resilience::circuitbreaker::CircuitBreakerLayer::builder()
        .build()
        .expect("tower-resilience breaker");
    let mut service = tower::Layer::layer(
        &layer,
        tower::service_fn(|x: u32| async move { Ok::<u32, std::io::Error>(black_box(x)) }),
    );
    v.push((
        "async",
        "tower-resilience 0.13",
        Box::new(move || {
            rt3.block_on(async {
                use tower::{Service, ServiceExt};
                let start = Instant::now();
                for i in 0..CALLS {
                    let ready = service.ready().await.expect("ready");
                    black_box(ready.call(i).await).ok();
                }
                start.elapsed()
            })
        }),
    ));
    v
}

fn main() {
    let mut variants = variants();
    let samples = sample(&mut variants, ROUNDS, CALLS);
    println!("closed-state cost per call, {ROUNDS} alternated rounds of {CALLS} calls (ns):");
    println!(
        "{:<6} {:<40} {:>8} {:>17} {:>12}",
        "group", "variant", "median", "spread", "over empty"
    );
    let mut empty = 0.0;
    for (i, (group, name, _)) in variants.iter().enumerate() {
        let m = median(&samples[i]);
        if *name == "empty loop" {
            empty = m;
        }
        println!(
            "{group:<6} {name:<40} {m:>8.1} {:>17} {:>12.1}",
            spread(&samples[i]),
            m - empty
        );
    }
}
