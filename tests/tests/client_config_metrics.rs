//! A generated client made from a settings file records gRPC A66/A96
//! metrics as the same client made with `new` does: one
//! `grpc.client.attempt.started` per attempt, each attempt's status, and
//! the call's retries (the attempts are the runtime's, driven in the
//! client's own loop).
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;

use steadfast::config::{Clients, Format};
use steadfast_tests::configured::accounts_server::{Accounts, AccountsServer};
use steadfast_tests::configured::{Order, ResilientAccountsClient};
use tonic::{Request, Response, Status};

mod common;
use common::otel_metrics::{counter, counts, histogram, Metrics, A96};

/// Fails the first two calls with `UNAVAILABLE`, then answers.
#[derive(Clone, Default)]
struct TwoFailures {
    calls: Arc<AtomicU32>,
}

#[tonic::async_trait]
impl Accounts for TwoFailures {
    async fn get(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        if self.calls.fetch_add(1, SeqCst) < 2 {
            return Err(Status::unavailable("down"));
        }
        Ok(Response::new(request.into_inner()))
    }

    async fn charge(&self, request: Request<Order>) -> Result<Response<Order>, Status> {
        self.get(request).await
    }

    type WatchStream = std::pin::Pin<
        Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<Order, Status>> + Send>,
    >;

    async fn watch(&self, _: Request<Order>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

#[tokio::test]
async fn a_client_made_from_the_file_records_each_attempt_and_the_calls_retries() {
    let recorded = Metrics::install();
    let server = TwoFailures::default();
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(AccountsServer::new(server.clone()))
            .serve_with_incoming(incoming),
    );
    let clients = Clients::parse(
        &format!("grpc:\n  client:\n    accounts: {{ address: 'static://{addr}', maxRetryAttempts: 3, initialBackoff: 1ms }}\n"),
        Format::Yaml,
    )
    .unwrap();
    let mut client = ResilientAccountsClient::from_config(&clients, "accounts").unwrap();
    client.get(Order::default()).await.unwrap();
    assert_eq!(server.calls.load(SeqCst), 3);

    let metrics = recorded.read();
    assert_eq!(counter(&metrics, "grpc.client.attempt.started"), 3);
    let attempts = counts(&metrics, "grpc.client.attempt.duration");
    assert_eq!(
        attempts,
        [
            ("limits.testing.Accounts/Get".to_owned(), "OK".to_owned(), 1),
            (
                "limits.testing.Accounts/Get".to_owned(),
                "UNAVAILABLE".to_owned(),
                2
            ),
        ]
    );
    let retries = histogram(&metrics, "grpc.client.call.retries", Some(&A96));
    assert_eq!(
        retries,
        [(
            "limits.testing.Accounts/Get".to_owned(),
            String::new(),
            1,
            2.0
        )]
    );
}
