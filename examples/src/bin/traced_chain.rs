//! One trace across services: gateway → A → B, each a real tonic server on
//! 127.0.0.1 with `DeadlineLayer`, every hop calling the next through a
//! generated client, B failing the first call it gets. The spans go to
//! OpenTelemetry (through `tracing-opentelemetry`), the context crosses
//! each hop as W3C `traceparent` (feature `opentelemetry`), and the trace is
//! printed at the end as a tree with timings: no collector needed. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://localhost:4317`, a
//! Jaeger or an OpenTelemetry Collector), the spans are also exported there
//! over OTLP/gRPC.
//!
//! `cargo run -p steadfast-examples --bin traced_chain`

#[tokio::main]
async fn main() -> Result<(), steadfast_examples::chain::Error> {
    let otlp = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|endpoint| !endpoint.is_empty());
    let chain = steadfast_examples::chain::run(otlp.as_deref()).await?;
    println!("gateway -> A -> B answered: {}\n", chain.answer);
    steadfast_examples::chain::print(&chain.spans);
    println!(
        "\nSent: a client's call; Attempt: each try (here A's first attempt at B fails and is retried);\n\
         Recv: a server's handling, child of the attempt that reached it through the traceparent header."
    );
    if let Some(endpoint) = otlp {
        println!("Also handed to the OTLP/gRPC exporter for {endpoint}, flushed before exit.");
    }
    Ok(())
}
