//! Reading gRPC A66/A96 metrics back from opentelemetry_sdk's in-memory
//! exporter.
#![allow(dead_code, clippy::unwrap_used)] // not every test file reads every instrument

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

/// An in-memory meter provider, set as the global one (once per process:
/// a test binary of its own).
pub(crate) struct Metrics {
    provider: SdkMeterProvider,
    exporter: InMemoryMetricExporter,
}

impl Metrics {
    pub(crate) fn install() -> Self {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        Self { provider, exporter }
    }

    /// Everything recorded so far.
    pub(crate) fn read(&self) -> Vec<ResourceMetrics> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_metrics().unwrap()
    }

    /// The totals recorded so far, as the last export has them (cumulative),
    /// without the earlier exports' copies.
    pub(crate) fn totals(&self) -> Vec<ResourceMetrics> {
        let mut all = self.read();
        all.drain(..all.len().saturating_sub(1));
        all
    }
}

/// gRPC A96's buckets for retries and hedges per call.
pub(crate) const A96: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

pub(crate) fn attribute<'a>(
    mut attributes: impl Iterator<Item = &'a KeyValue>,
    key: &str,
) -> String {
    attributes
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
        .unwrap_or_default()
}

/// (method, status, count, sum) of each data point of histogram `name`;
/// `bounds`, when given, must be its buckets.
pub(crate) fn histogram(
    metrics: &[ResourceMetrics],
    name: &str,
    bounds: Option<&[f64]>,
) -> Vec<(String, String, u64, f64)> {
    let mut out = Vec::new();
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        if metric.name() != name {
            continue;
        }
        match metric.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                assert_eq!(metric.unit(), "s", "{name}");
                out.extend(h.data_points().map(|p| point_row(p, |v| v)));
            }
            AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                if let (Some(bounds), Some(point)) = (bounds, h.data_points().next()) {
                    assert_eq!(point.bounds().collect::<Vec<_>>(), bounds, "{name}");
                }
                out.extend(h.data_points().map(|p| point_row(p, |v| v as f64)));
            }
            other => panic!("{name} is not a histogram: {other:?}"),
        }
    }
    out
}

/// (method, status, count) of each data point of histogram `name`, sorted:
/// how many calls or attempts ended with each status.
pub(crate) fn counts(metrics: &[ResourceMetrics], name: &str) -> Vec<(String, String, u64)> {
    let mut counts: Vec<_> = histogram(metrics, name, None)
        .into_iter()
        .map(|(method, status, n, _)| (method, status, n))
        .collect();
    counts.sort();
    counts
}

fn point_row<T: Copy>(
    point: &HistogramDataPoint<T>,
    as_f64: impl Fn(T) -> f64,
) -> (String, String, u64, f64) {
    (
        attribute(point.attributes(), "grpc.method"),
        attribute(point.attributes(), "grpc.status"),
        point.count(),
        as_f64(point.sum()),
    )
}

pub(crate) fn counter(metrics: &[ResourceMetrics], name: &str) -> u64 {
    let mut total = 0;
    for metric in metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
    {
        if metric.name() == name {
            assert_eq!(metric.unit(), "{attempt}");
            if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                total += sum.data_points().map(|p| p.value()).sum::<u64>();
            }
        }
    }
    total
}
