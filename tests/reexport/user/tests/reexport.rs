//! The attributes and a generated client work in a crate that reaches
//! steadfast only through a re-export (`crate = "platform::steadfast"`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use platform::steadfast;
use steadfast_reexport_user::hello::greeter_server::{Greeter, GreeterServer};
use steadfast_reexport_user::hello::{HelloReply, HelloRequest, ResilientGreeterClient};
use tonic::{Request, Response, Status};

static CALLS: AtomicU32 = AtomicU32::new(0);

#[steadfast::deadline(5s, crate = "platform::steadfast")]
#[steadfast::retry(max = 3, initial = 1ms, crate = "platform::steadfast")]
async fn flaky() -> Result<u32, Status> {
    match CALLS.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Err(Status::unavailable("not yet")),
        n => Ok(n + 1),
    }
}

#[tokio::test]
async fn attributes_through_a_reexport_retry_three_times() {
    assert_eq!(flaky().await.expect("third attempt succeeds"), 3);
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}

struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    #[steadfast::deadline(10s, crate = "platform::steadfast")]
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let left = steadfast::deadline::remaining().unwrap_or(Duration::MAX);
        Ok(Response::new(HelloReply {
            message: format!("{} {}", request.into_inner().name, left.as_millis()),
        }))
    }
}

#[tokio::test]
async fn a_generated_client_through_a_reexport_sends_its_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(steadfast::tonic::DeadlineLayer::new())
            .add_service(GreeterServer::new(Hello))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = ResilientGreeterClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let reply = client
        .say_hello(HelloRequest {
            name: "world".into(),
        })
        .await
        .expect("call")
        .into_inner();
    let (name, left) = reply.message.split_once(' ').expect("name and time");
    assert_eq!(name, "world");
    // The proto's 2 s deadline travelled (the handler's own is 10 s, the
    // server's default 300 s).
    let left: u64 = left.parse().expect("milliseconds");
    assert!(left > 0 && left <= 2000, "handler saw {left} ms");
    server.abort();
}
