//! What admitting a call costs: `steadfast`'s `RateLimiter` and
//! `KeyedRateLimiter` against `governor` 0.10 (direct and keyed) and `tower::limit::RateLimit` 0.5;
//! its `ConcurrencyLimit` against `tokio::sync::Semaphore` and
//! `tower::limit::ConcurrencyLimit`; the server's `LimitLayer` against
//! tower's `ConcurrencyLimitLayer` and `load_shed`. Uncontended (one thread) and with both
//! cores contending (two threads on one limit). Every limit is set so that
//! it admits every call: this is the admit path, not the refusal. In one
//! process, the variants alternated round by round; each variant's median
//! over the rounds and its spread (min–max), minus the empty loop, and the
//! ratio of the medians to the first variant of its group.
//!
//! `cargo bench -p steadfast-examples --no-default-features --bench limit`
//!
//! Here rather than in the runtime's benches: those build with the
//! runtime's feature `test-util` (its tests drive limits with tokio's
//! paused clock), and this measures the clock users' builds read.

use std::hint::black_box;

use std::num::NonZeroU32;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use tonic::codegen::http;

use steadfast::{ConcurrencyLimit, KeyedRateLimiter, RateLimiter};

const ROUNDS: usize = 15;
const CALLS: u32 = 200_000;

#[path = "../../runtime/benches/common/alternated.rs"]
mod alternated;

use alternated::{median, sample, spread, Variant};

fn timed(mut f: impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    for i in 0..CALLS {
        f(i);
    }
    start.elapsed()
}

/// `f` on two threads at once, `CALLS / 2` calls each: the time until both are done.
fn contended<F: Fn(u32) + Send + Sync + 'static>(f: Arc<F>) -> Duration {
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for i in 0..CALLS / 2 {
                    f(i);
                }
                start.elapsed()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a bench thread"))
        .max()
        .unwrap_or_default()
}

static OURS: RateLimiter = RateLimiter::per(u32::MAX, Duration::from_nanos(1)).burst(u32::MAX);
static OURS_KEYED: KeyedRateLimiter =
    KeyedRateLimiter::new(RateLimiter::per(u32::MAX, Duration::from_nanos(1)).burst(u32::MAX));
static PLACES: ConcurrencyLimit = ConcurrencyLimit::new(1 << 20);

fn quota() -> governor::Quota {
    governor::Quota::per_second(NonZeroU32::MAX)
}

fn variants() -> Vec<Variant> {
    let rt = std::rc::Rc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime"),
    );
    let direct = Arc::new(governor::RateLimiter::direct(quota()));
    let keyed = Arc::new(governor::RateLimiter::<u32, _, _>::keyed(quota()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(1 << 20));
    let mut v: Vec<Variant> = vec![
        (
            "rate",
            "empty loop",
            Box::new(|| {
                timed(|i| {
                    black_box(i);
                })
            }),
        ),
        (
            "rate",
            "steadfast RateLimiter::try_acquire",
            Box::new(|| {
                timed(|i| {
                    black_box(OURS.try_acquire()).ok();
                    black_box(i);
                })
            }),
        ),
        (
            "rate",
            "(tokio Instant::now() alone)",
            Box::new(|| {
                timed(|i| {
                    black_box(tokio::time::Instant::now());
                    black_box(i);
                })
            }),
        ),
        (
            "rate",
            "(std Instant::now() alone)",
            Box::new(|| {
                timed(|i| {
                    black_box(std::time::Instant::now());
                    black_box(i);
                })
            }),
        ),
        ("rate", "(governor's clock alone: quanta)", {
            let clock = governor::clock::DefaultClock::default();
            Box::new(move || {
                timed(|i| {
                    black_box(governor::clock::Clock::now(&clock));
                    black_box(i);
                })
            })
        }),
        ("rate", "governor 0.10 direct check", {
            let direct = Arc::clone(&direct);
            Box::new(move || {
                timed(|i| {
                    black_box(direct.check()).ok();
                    black_box(i);
                })
            })
        }),
        (
            "rate",
            "steadfast KeyedRateLimiter (16 keys)",
            Box::new(|| {
                timed(|i| {
                    black_box(OURS_KEYED.try_acquire_key(&(i % 16))).ok();
                })
            }),
        ),
        ("rate", "governor 0.10 keyed check_key (16 keys)", {
            let keyed = Arc::clone(&keyed);
            Box::new(move || {
                timed(|i| {
                    black_box(keyed.check_key(&(i % 16))).ok();
                })
            })
        }),
        (
            "bulkhead",
            "empty loop",
            Box::new(|| {
                timed(|i| {
                    black_box(i);
                })
            }),
        ),
        (
            "bulkhead",
            "steadfast ConcurrencyLimit::try_acquire",
            Box::new(|| {
                timed(|i| {
                    drop(black_box(PLACES.try_acquire()));
                    black_box(i);
                })
            }),
        ),
        ("bulkhead", "tokio Semaphore::try_acquire", {
            let semaphore = Arc::clone(&semaphore);
            Box::new(move || {
                timed(|i| {
                    drop(black_box(semaphore.try_acquire()));
                    black_box(i);
                })
            })
        }),
        (
            "2 threads",
            "steadfast RateLimiter::try_acquire",
            Box::new(|| {
                contended(Arc::new(|i: u32| {
                    black_box(OURS.try_acquire()).ok();
                    black_box(i);
                }))
            }),
        ),
        ("2 threads", "governor 0.10 direct check", {
            let direct = Arc::clone(&direct);
            Box::new(move || {
                let direct = Arc::clone(&direct);
                contended(Arc::new(move |i: u32| {
                    black_box(direct.check()).ok();
                    black_box(i);
                }))
            })
        }),
        (
            "2 threads",
            "steadfast ConcurrencyLimit::try_acquire",
            Box::new(|| {
                contended(Arc::new(|i: u32| {
                    drop(black_box(PLACES.try_acquire()));
                    black_box(i);
                }))
            }),
        ),
        ("2 threads", "tokio Semaphore::try_acquire", {
            let semaphore = Arc::clone(&semaphore);
            Box::new(move || {
                let semaphore = Arc::clone(&semaphore);
                contended(Arc::new(move |i: u32| {
                    drop(black_box(semaphore.try_acquire()));
                    black_box(i);
                }))
            })
        }),
    ];
    // tower's limits are services: a call is poll_ready, then call.
    let (rt1, rt2, rt3) = (rt.clone(), rt.clone(), rt.clone());
    v.push((
        "tower",
        "empty service",
        Box::new(move || {
            let mut service =
                tower::service_fn(|x: u32| async move { Ok::<u32, ()>(black_box(x)) });
            rt1.block_on(async {
                use tower::{Service, ServiceExt};
                let start = Instant::now();
                for i in 0..CALLS {
                    black_box(service.ready().await.expect("ready").call(i).await).ok();
                }
                start.elapsed()
            })
        }),
    ));
    v.push((
        "tower",
        "steadfast acquire().await around it",
        Box::new(move || {
            let mut service =
                tower::service_fn(|x: u32| async move { Ok::<u32, ()>(black_box(x)) });
            rt2.block_on(async {
                use tower::{Service, ServiceExt};
                let start = Instant::now();
                for i in 0..CALLS {
                    OURS.acquire().await.expect("admitted");
                    let place = PLACES.acquire().await.expect("a place");
                    black_box(service.ready().await.expect("ready").call(i).await).ok();
                    drop(place);
                }
                start.elapsed()
            })
        }),
    ));
    v.push((
        "tower",
        "tower RateLimit + ConcurrencyLimit 0.5",
        Box::new(move || {
            rt3.block_on(async {
                use tower::{Service, ServiceExt};
                let service =
                    tower::service_fn(|x: u32| async move { Ok::<u32, ()>(black_box(x)) });
                let mut service = tower::ServiceBuilder::new()
                    .rate_limit(u64::MAX, Duration::from_secs(1))
                    .concurrency_limit(1 << 20)
                    .service(service);
                let start = Instant::now();
                for i in 0..CALLS {
                    black_box(service.ready().await.expect("ready").call(i).await).ok();
                }
                start.elapsed()
            })
        }),
    ));
    // A server's layers around a handler that answers at once: what a
    // request pays to pass them when nothing is refused.
    for (name, make) in server_variants() {
        let rt = rt.clone();
        let mut service = make();
        v.push((
            "server",
            name,
            Box::new(move || {
                rt.block_on(async {
                    use tower::{Service, ServiceExt};
                    let start = Instant::now();
                    for _ in 0..CALLS {
                        let request = http::Request::builder()
                            .uri("/user.UserService/GetUser")
                            .body(())
                            .expect("a request");
                        black_box(service.ready().await.expect("ready").call(request).await).ok();
                    }
                    start.elapsed()
                })
            }),
        ));
    }
    v
}

type Http = tower::util::BoxService<http::Request<()>, http::Response<()>, tower::BoxError>;

/// The server group's services, each made boxed (the same indirection for
/// every variant).
type MakeHttp = Box<dyn Fn() -> Http>;

fn server_variants() -> Vec<(&'static str, MakeHttp)> {
    fn handler() -> impl tower::Service<
        http::Request<()>,
        Response = http::Response<()>,
        Error = tower::BoxError,
        Future = impl Send,
    > + Clone
           + Send
           + 'static {
        tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, tower::BoxError>(http::Response::new(()))
        })
    }
    vec![
        ("empty loop", Box::new(|| Http::new(handler()))),
        (
            "steadfast LimitLayer (global ConcurrencyLimit)",
            Box::new(|| {
                use tower::Layer;
                let layer =
                    steadfast::tonic::LimitLayer::new().global(ConcurrencyLimit::new(1 << 20));
                Http::new(layer.layer(handler()))
            }),
        ),
        (
            "tower ConcurrencyLimitLayer 0.5",
            Box::new(|| {
                Http::new(
                    tower::ServiceBuilder::new()
                        .concurrency_limit(1 << 20)
                        .service(handler()),
                )
            }),
        ),
        (
            "tower load_shed + ConcurrencyLimitLayer 0.5",
            Box::new(|| {
                Http::new(
                    tower::ServiceBuilder::new()
                        .load_shed()
                        .concurrency_limit(1 << 20)
                        .service(handler()),
                )
            }),
        ),
    ]
}

fn main() {
    let mut variants = variants();
    let samples = sample(&mut variants, ROUNDS, CALLS);
    println!("cost per admitted call, {ROUNDS} alternated rounds of {CALLS} calls (ns; 2 threads: wall time / calls):");
    println!(
        "{:<10} {:<42} {:>8} {:>15} {:>11} {:>9}",
        "group", "variant", "median", "spread", "over empty", "ratio"
    );
    let mut empty = 0.0;
    let mut first: Option<(&str, f64)> = None;
    for (i, (group, name, _)) in variants.iter().enumerate() {
        let m = median(&samples[i]);
        if name.starts_with("empty") {
            empty = m;
        }
        let cost = if group.starts_with('2') { m } else { m - empty };
        let base = match first {
            Some((g, base)) if g == *group => base,
            _ if name.starts_with("empty") => {
                first = None;
                f64::NAN
            }
            _ => {
                first = Some((group, cost));
                cost
            }
        };
        println!(
            "{group:<10} {name:<42} {m:>8.1} {:>15} {cost:>11.1} {:>9}",
            spread(&samples[i]),
            if base.is_nan() {
                String::new()
            } else {
                format!("{:.2}", cost / base)
            }
        );
    }
}
