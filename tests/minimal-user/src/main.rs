//! A tonic server and two clients on 127.0.0.1: a policy on a function, and one from the .proto.

use std::time::Duration;

pub mod hello {
    steadfast::include_proto!("hello"); // what build.rs generated from proto/hello.proto
}

use hello::greeter_client::GreeterClient;
use hello::greeter_server::{Greeter, GreeterServer};
use hello::{HelloReply, HelloRequest, ResilientGreeterClient};
use tonic::{Request, Response, Status};

/// The policy where the call is: 2 s for the whole call, at most 3 attempts.
#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, initial = 50ms)]
async fn say_hello(
    client: &mut GreeterClient<steadfast::tonic::Channel>, // sends the deadline as `grpc-timeout`
    name: &str,
) -> Result<String, Status> {
    let reply = client.say_hello(HelloRequest { name: name.into() }).await?;
    Ok(reply.into_inner().message)
}

struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn say_hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        // The caller's deadline, carried here by `grpc-timeout` and `DeadlineLayer`.
        let left = steadfast::deadline::remaining().unwrap_or(Duration::MAX);
        let name = request.into_inner().name;
        let message = format!("hello {name}: the server had {} ms left", left.as_millis());
        Ok(Response::new(HelloReply { message }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = format!("http://{}", listener.local_addr()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(steadfast::tonic::DeadlineLayer::new()) // each handler runs inside its caller's deadline
            .add_service(GreeterServer::new(Hello))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    // tonic's own client, on a channel that sends the deadline:
    let mut client = GreeterClient::new(steadfast::tonic::connect(addr.clone()).await?);
    println!("{}", say_hello(&mut client, "attribute").await?);

    // the client generated with the .proto's policy (deadline 2 s, 3 attempts):
    let mut client = ResilientGreeterClient::connect(addr).await?;
    let reply = client.say_hello(HelloRequest { name: "proto".into() }).await?;
    println!("{}", reply.into_inner().message);
    Ok(())
}
