//! What hedging costs a call that answers at once (no hedge is sent):
//! `#[hedge]` with a fixed and with an adaptive delay, against
//! `tower::hedge::Hedge` over the same work, in one process, alternated
//! round by round; median per call, spread, and cost over the bare `async`
//! call.
//!
//! `cargo bench -p steadfast --bench hedge`

use std::hint::black_box;
use std::time::{Duration, Instant};

use tower::{Service, ServiceExt};

const ROUNDS: usize = 15;
const CALLS: u32 = 50_000;

async fn work(x: u32) -> Result<u32, std::io::Error> {
    Ok(black_box(x))
}

#[steadfast::hedge(max = 2, delay = 10ms)]
async fn fixed(x: u32) -> Result<u32, std::io::Error> {
    work(x).await
}

#[steadfast::hedge(max = 2, delay = "p95")]
async fn adaptive(x: u32) -> Result<u32, std::io::Error> {
    work(x).await
}

#[derive(Clone)]
struct CloneAll;

impl tower::hedge::Policy<u32> for CloneAll {
    fn clone_request(&self, req: &u32) -> Option<u32> {
        Some(*req)
    }
    fn can_retry(&self, _: &u32) -> bool {
        true
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut tower_hedge = tower::hedge::Hedge::new(
        tower::service_fn(work),
        CloneAll,
        10,
        0.95,
        Duration::from_secs(10),
    );
    let names = [
        "bare async call",
        "#[hedge(max = 2, delay = 10ms)]",
        "#[hedge(max = 2, delay = \"p95\")]",
        "tower::hedge::Hedge (p95)",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    rt.block_on(async {
        for round in 0..=ROUNDS {
            for k in 0..names.len() {
                let i = if round % 2 == 0 {
                    k
                } else {
                    names.len() - 1 - k
                };
                let started = Instant::now();
                for n in 0..CALLS {
                    let r = match i {
                        0 => work(n).await,
                        1 => fixed(n).await,
                        2 => adaptive(n).await,
                        _ => tower_hedge
                            .ready()
                            .await
                            .expect("ready")
                            .call(n)
                            .await
                            .map_err(std::io::Error::other),
                    };
                    black_box(r).ok();
                }
                // Round 0 warms up (and fills the adaptive histograms).
                if round > 0 {
                    samples[i].push(started.elapsed().as_nanos() as f64 / f64::from(CALLS));
                }
            }
        }
    });
    let median = |s: &[f64]| {
        let mut s = s.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let bare = median(&samples[0]);
    println!("a call that answers at once, {ROUNDS} alternated rounds of {CALLS} (ns per call):");
    for (i, name) in names.iter().enumerate() {
        let (lo, hi) = samples[i]
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
        let m = median(&samples[i]);
        println!(
            "{name:<36} median {m:>8.1}  spread {lo:>8.1}–{hi:<8.1} over bare {:>8.1}",
            m - bare
        );
    }
}
