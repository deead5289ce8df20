//! The `traced_chain` example exports its trace over OTLP/gRPC when given
//! an endpoint: here a collector of our own on 127.0.0.1 that keeps what it
//! receives.
#![allow(clippy::unwrap_used)] // test-only

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

/// A span as the collector got it: (trace id, name).
type Received = (Vec<u8>, String);

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((span.trace_id, span.name));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_exports_one_trace_to_an_otlp_collector() {
    let collector = Collector::default();
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve_with_incoming(incoming);
    let server = tokio::spawn(server);

    let chain = steadfast_examples::chain::run(Some(&format!("http://{addr}")))
        .await
        .unwrap();
    assert_eq!(chain.answer, "user 42");

    let received = collector.spans.lock().unwrap().clone();
    // What the collector got is what the chain recorded: all of it, one trace.
    assert_eq!(received.len(), chain.spans.len(), "{received:?}");
    let mut names: Vec<&str> = received.iter().map(|(_, name)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        [
            "Attempt.user.UserService.GetUser",
            "Recv.user.UserService.GetUser",
            "Sent.user.UserService.GetUser",
        ]
    );
    let traces: HashSet<&Vec<u8>> = received.iter().map(|(trace, _)| trace).collect();
    assert_eq!(traces.len(), 1);
    server.abort();
}
