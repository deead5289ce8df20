//! What `#[retry]` and `#[deadline]` cost on the success path: an annotated
//! async fn against the same fn unannotated and against the runtime
//! executor called by hand, in one run.
//!
//! `cargo bench -p steadfast --bench macros`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use steadfast::{deadline, retry, Elapsed};

async fn plain(id: u64) -> Result<u64, Elapsed> {
    Ok(black_box(id))
}

#[retry(max = 3, backoff = "exp", initial = 100ms)]
async fn annotated(id: u64) -> Result<u64, Elapsed> {
    Ok(black_box(id))
}

#[steadfast::deadline(2s)]
async fn with_deadline(id: u64) -> Result<u64, Elapsed> {
    Ok(black_box(id))
}

#[path = "common/baseline.rs"]
mod baseline;
use baseline::{rt, POLICY};

fn macros(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("retry_attribute");
    g.bench_function("unannotated", |b| b.to_async(&rt).iter(|| plain(1)));
    g.bench_function("annotated", |b| b.to_async(&rt).iter(|| annotated(1)));
    g.bench_function("executor_by_hand", |b| {
        b.to_async(&rt)
            .iter(|| steadfast::retry(&POLICY, || plain(1)))
    });
    g.finish();

    let mut g = c.benchmark_group("deadline_attribute");
    g.bench_function("annotated", |b| b.to_async(&rt).iter(|| with_deadline(1)));
    g.bench_function("scope_by_hand", |b| {
        b.to_async(&rt)
            .iter(|| deadline::scope(Duration::from_secs(2), plain(1)))
    });
    g.finish();
}

criterion_group!(benches, macros);
criterion_main!(benches);
