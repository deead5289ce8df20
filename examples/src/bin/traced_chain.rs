//! One trace across services: gateway → A → B, each a real tonic server on
//! 127.0.0.1 with `DeadlineLayer`, every hop calling the next through a
//! generated client, B failing the first call it gets. The spans go to
//! OpenTelemetry (through `tracing-opentelemetry`), the context crosses
//! each hop as W3C `traceparent` (feature `opentelemetry`), and the trace is
//! printed at the end as a tree with timings: no collector needed.
//!
//! `cargo run -p resilient-examples --features otel --bin traced_chain` (feature `otel`
//! turns on resilient's `opentelemetry`, which the benchmarks leave off)

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use resilient_examples::faulty::{Fault, FaultyUsers, Forward};
use resilient_examples::user::{ResilientUserServiceClient, UserRequest};
use tonic::transport::Channel;
use tonic::Code;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

fn client(
    addr: std::net::SocketAddr,
) -> Result<ResilientUserServiceClient<Channel>, Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect_lazy();
    Ok(ResilientUserServiceClient::new(channel))
}

fn millis(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    // resilient's spans and events only (h2 and hyper have their own).
    let ours = tracing_subscriber::filter::filter_fn(|meta| {
        meta.target().starts_with("resilient")
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

    let mut gateway = client(a_addr)?;
    let reply = gateway
        .get_user(UserRequest {
            user_id: "42".into(),
        })
        .await?;
    println!("gateway -> A -> B answered: {}\n", reply.into_inner().name);

    let spans = exporter.get_finished_spans()?;
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in &spans {
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
    println!(
        "\nSent: a client's call; Attempt: each try (here A's first attempt at B fails and is retried);\n\
         Recv: a server's handling, child of the attempt that reached it through the traceparent header."
    );
    let _ = provider.shutdown();
    Ok(())
}
