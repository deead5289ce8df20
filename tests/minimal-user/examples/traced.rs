//! `cargo run --example traced`: a service config applied under tonic's own client, and every
//! span of the call under one filter (`steadfast`): the client's `Sent` and `Attempt`, the
//! server's `Recv`.

use std::time::Duration;

pub mod hello {
    steadfast::include_proto!("hello"); // what build.rs generated from proto/hello.proto
}

use hello::greeter_client::GreeterClient;
use hello::greeter_server::{Greeter, GreeterServer};
use hello::{HelloReply, HelloRequest};
use tonic::{Request, Response, Status};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;

const SERVICE_CONFIG: &str = r#"{
  "methodConfig": [{
    "name": [{ "service": "hello.Greeter" }],
    "timeout": "2s",
    "retryPolicy": {
      "maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}"#;

struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let left = steadfast::deadline::remaining().unwrap_or(Duration::MAX);
        let message = format!("hello {}: the server had {} ms left", request.into_inner().name, left.as_millis());
        Ok(Response::new(HelloReply { message }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One filter shows every span and event of steadfast, generated clients' included.
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_span_events(FmtSpan::CLOSE))
        .with(Targets::new().with_target("steadfast", LevelFilter::INFO))
        .init();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = format!("http://{}", listener.local_addr()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(steadfast::tonic::DeadlineLayer::new())
            .add_service(GreeterServer::new(Hello))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    // The service config's timeout and retries, under tonic's own generated client.
    let layer = steadfast::tonic::ServiceConfigLayer::from_json(SERVICE_CONFIG)?;
    let channel = tonic::transport::Endpoint::from_shared(addr)?.connect().await?;
    let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
    let mut client = GreeterClient::new(channel);
    let reply = client.say_hello(HelloRequest { name: "layer".into() }).await?;
    println!("{}", reply.into_inner().message);
    Ok(())
}
