//! A greeter server and its generated resilient client, on 127.0.0.1.

pub mod hello {
    steadfast::include_proto!("hello");
}

use hello::greeter_server::{Greeter, GreeterServer};
use hello::{HelloReply, HelloRequest, ResilientGreeterClient};
use tonic::{Request, Response, Status};

struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    #[steadfast::deadline(1s)]
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(HelloReply {
            message: format!("hello {name}"),
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(steadfast::tonic::DeadlineLayer::new())
            .add_service(GreeterServer::new(Hello))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = ResilientGreeterClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .say_hello(HelloRequest {
            name: "world".into(),
        })
        .await?;
    println!("{}", reply.into_inner().message);
    server.abort();
    Ok(())
}
