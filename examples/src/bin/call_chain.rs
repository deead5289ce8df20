//! Deadlines that travel: gateway → service A → service B, each a real
//! tonic server on 127.0.0.1 with `DeadlineLayer`. Every hop sees what is
//! left of the caller's budget; when the gateway's deadline is spent, B
//! gives up instead of working for nobody.
//!
//! `cargo run -p steadfast-examples --bin call_chain`

use std::net::SocketAddr;
use std::time::Duration;

use steadfast::deadline;
use steadfast::tonic::{DeadlineLayer, PropagateDeadline};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::user_service_server::{UserService, UserServiceServer};
use steadfast_examples::user::{UserRequest, UserResponse};
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

type Client = UserServiceClient<InterceptedService<Channel, PropagateDeadline>>;

/// One hop: does some work, then asks the next hop, if any.
struct Hop {
    name: &'static str,
    work: Duration,
    next: Option<Client>,
}

/// Prints when a handler is dropped before it finished: its deadline passed.
struct GaveUp(&'static str, bool);

impl Drop for GaveUp {
    fn drop(&mut self) {
        if !self.1 {
            println!("  {:<8} deadline spent: dropped its work", self.0);
        }
    }
}

#[tonic::async_trait]
impl UserService for Hop {
    async fn get_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let left = deadline::remaining().map_or("none".into(), |d| format!("{} ms", d.as_millis()));
        println!("  {:<8} received, budget left {left}", self.name);
        let mut guard = GaveUp(self.name, false);
        tokio::time::sleep(self.work).await;
        let reply = match &self.next {
            Some(next) => next
                .clone()
                .get_user(request.into_inner())
                .await?
                .into_inner(),
            None => UserResponse {
                name: format!("user {}", request.into_inner().user_id),
                age: 42,
            },
        };
        guard.1 = true;
        println!(
            "  {:<8} answered after {} ms of work",
            self.name,
            self.work.as_millis()
        );
        Ok(Response::new(reply))
    }
}

/// The client's side: one budget for the whole chain.
#[steadfast::deadline(= budget)]
async fn get_user(entry: &mut Client, budget: Duration) -> Result<UserResponse, Status> {
    let request = UserRequest {
        user_id: "42".into(),
    };
    Ok(entry.get_user(request).await?.into_inner())
}

async fn serve(hop: Hop) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let (addr, incoming) = steadfast_examples::faulty::bind().await?;
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .layer(DeadlineLayer::new())
            .add_service(UserServiceServer::new(hop))
            .serve_with_incoming(incoming)
            .await;
    });
    Ok(addr)
}

fn client(addr: SocketAddr) -> Result<Client, Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect_lazy();
    Ok(UserServiceClient::with_interceptor(
        channel,
        PropagateDeadline,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let b = serve(Hop {
        name: "B",
        work: Duration::from_millis(300),
        next: None,
    })
    .await?;
    let a = serve(Hop {
        name: "A",
        work: Duration::from_millis(150),
        next: Some(client(b)?),
    })
    .await?;
    let gateway = serve(Hop {
        name: "gateway",
        work: Duration::from_millis(50),
        next: Some(client(a)?),
    })
    .await?;
    let mut entry = client(gateway)?;

    println!("gateway does 50 ms of work, A 150 ms, B 300 ms; each hop forwards what is left of the budget.\n");
    for budget in [Duration::from_secs(1), Duration::from_millis(400)] {
        println!("client budget {} ms:", budget.as_millis());
        let outcome = get_user(&mut entry, budget).await;
        // Let the servers finish printing first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        match outcome {
            Ok(reply) => println!("  client   got {}\n", reply.name),
            Err(status) => println!("  client   got {:?}: {}\n", status.code(), status.message()),
        }
    }
    Ok(())
}
