//! Success-path cost of the retry executor and of a deadline scope, against
//! what users would otherwise write or pick, in one run.
//!
//! `cargo bench -p steadfast --bench retry`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use steadfast::deadline;

#[path = "common/baseline.rs"]
mod baseline;
use baseline::{hand_written, rt, work, POLICY};

fn retry_success_path(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("retry_success_path");
    g.bench_function("hand_written_loop", |b| b.to_async(&rt).iter(hand_written));
    g.bench_function("steadfast_retry", |b| {
        b.to_async(&rt).iter(|| steadfast::retry(&POLICY, work))
    });
    g.bench_function("backon", |b| {
        use backon::Retryable as _;
        let builder = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_times(2);
        b.to_async(&rt).iter(|| work.retry(builder))
    });
    g.bench_function("tokio_retry", |b| {
        b.to_async(&rt).iter(|| {
            let delays = tokio_retry::strategy::ExponentialBackoff::from_millis(100).take(2);
            tokio_retry::Retry::start(delays, work)
        })
    });
    g.finish();
}

fn deadline_scope(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("deadline_success_path");
    g.bench_function("tokio_timeout", |b| {
        b.to_async(&rt)
            .iter(|| tokio::time::timeout(Duration::from_secs(2), work()))
    });
    g.bench_function("steadfast_scope", |b| {
        b.to_async(&rt)
            .iter(|| deadline::scope(Duration::from_secs(2), work()))
    });
    g.finish();
}

criterion_group!(benches, retry_success_path, deadline_scope);
criterion_main!(benches);
