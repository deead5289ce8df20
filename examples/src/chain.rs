//! The `traced_chain` example's work (feature `otel`): gateway → A → B, each
//! a real tonic server on 127.0.0.1 with `DeadlineLayer`, every hop calling
//! the next through a generated client, B failing the first call it gets.
//! steadfast's spans go to OpenTelemetry through `tracing-opentelemetry`,
//! the context crosses each hop as W3C `traceparent`, and the finished spans
//! are kept in memory (and exported over OTLP/gRPC when an endpoint is
//! given), so the caller can print or check the trace.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tonic::transport::Channel;
use tonic::Code;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::faulty::{Fault, FaultyUsers, Forward};
use crate::user::{ResilientUserServiceClient, UserRequest};

/// The error of [`run`].
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one run of the chain gave: the gateway's answer and every span.
#[derive(Debug)]
pub struct Chain {
    /// The name B answered with.
    pub answer: String,
    /// The finished spans of all three hops.
    pub spans: Vec<SpanData>,
}

/// Runs gateway → A → B once, with steadfast's spans recorded (and
/// exported to the OTLP/gRPC collector at `otlp`, e.g.
/// `http://localhost:4317`, when given). Installs the global tracing
/// subscriber and propagator: once per process.
///
/// ```no_run
/// # async fn f() -> Result<(), steadfast_examples::chain::Error> {
/// let chain = steadfast_examples::chain::run(None).await?;
/// steadfast_examples::chain::print(&chain.spans);
/// # Ok(()) }
/// ```
pub async fn run(otlp: Option<&str>) -> Result<Chain, Error> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let memory = InMemorySpanExporter::default();
    let mut provider = SdkTracerProvider::builder().with_simple_exporter(memory.clone());
    if let Some(endpoint) = otlp {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    // steadfast's spans and events only (h2 and hyper have their own).
    let ours = tracing_subscriber::filter::filter_fn(|meta| {
        meta.target().starts_with("steadfast")
            || meta.name().starts_with("Sent.")
            || meta.name().starts_with("Attempt.")
    });
    let subscriber = tracing_subscriber::registry().with(
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("traced_chain"))
            .with_filter(ours),
    );
    tracing::subscriber::set_global_default(subscriber)?;

    // B fails the first call with UNAVAILABLE: A's client retries it.
    let b = FaultyUsers::new([Fault::Fail(Code::Unavailable)]);
    let (b_addr, _b) = b.serve().await?;
    let (a_addr, _a) = Forward::to(b_addr).serve().await?;

    let channel = Channel::from_shared(format!("http://{a_addr}"))?.connect_lazy();
    let mut gateway = ResilientUserServiceClient::new(channel);
    let reply = gateway
        .get_user(UserRequest {
            user_id: "42".into(),
        })
        .await?;
    let spans = memory.get_finished_spans()?;
    // Flushes the OTLP exporter's batch, if any (the in-memory exporter
    // forgets its spans at shutdown: read first).
    provider.shutdown()?;
    Ok(Chain {
        answer: reply.into_inner().name,
        spans,
    })
}

fn millis(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Prints `spans` as indented trees of spans (one per trace root), each
/// line its start offset from the first root, its name, length and status.
pub fn print(spans: &[SpanData]) {
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in spans {
        children.entry(span.parent_span_id).or_default().push(span);
    }
    let traces: HashSet<_> = spans.iter().map(|s| s.span_context.trace_id()).collect();
    println!(
        "{} spans in {} trace(s); offset from the first, then length:\n",
        spans.len(),
        traces.len()
    );
    let mut roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == SpanId::INVALID)
        .collect();
    roots.sort_by_key(|s| s.start_time);
    if let Some(first) = roots.first() {
        let origin = first.start_time;
        for root in roots {
            print_tree(root, &children, origin, 0);
        }
    }
}

/// Prints `span` and its children, indented, with start offset and length.
fn print_tree(
    span: &SpanData,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    origin: SystemTime,
    depth: usize,
) {
    let status = span
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "rpc.grpc.status_code")
        .map(|kv| format!("  status {}", kv.value))
        .unwrap_or_default();
    println!(
        "{:>8.1} ms  {:<w$}{:<44} {:>7.1} ms{status}",
        millis(origin, span.start_time),
        "",
        span.name,
        millis(span.start_time, span.end_time),
        w = depth * 2
    );
    let mut kids = children
        .get(&span.span_context.span_id())
        .cloned()
        .unwrap_or_default();
    kids.sort_by_key(|s| s.start_time);
    for kid in kids {
        print_tree(kid, children, origin, depth + 1);
    }
}
