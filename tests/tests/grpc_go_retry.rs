//! grpc-go's own retry tests (`test/retry_test.go`: `TestRetryUnary`,
//! `TestRetryThrottling`, `TestRetryStreaming`), case by case, run both
//! ways a Go service's config reaches a Rust client: `ServiceConfigLayer`
//! under tonic's own client, and the `Resilient<Name>Client` that
//! `steadfast-build` generated from the same service config JSON
//! (`tests/proto/`). A real tonic server on 127.0.0.1 plays grpc-go's stub
//! server: the same counters and scripted operations.
//!
//! Left out, with nothing to map to in Rust's API: "No retry after
//! context" (grpc-go commits a stream whose `Context()` was read). The
//! buffer limit is the default 256 KiB (grpc-go's test sets 200 bytes), so
//! "Overflowing buffer" sends 300 KiB.
#![allow(clippy::unwrap_used)] // test-only

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::tonic::ServiceConfigLayer;
use steadfast_tests::{throttled, unary};
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::tokio_stream::Stream;
use tonic::metadata::MetadataValue;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};
use unary::{Empty, Payload};

const UNARY_CONFIG: &str = include_str!("../proto/retry_unary_config.json");
const THROTTLING_CONFIG: &str = include_str!("../proto/retry_throttling_config.json");

/// What a server does with the `i`th call of `EmptyCall` (from 0).
type Rule = fn(i64) -> Result<(), Code>;

/// One operation of a `FullDuplexCall` handler, as grpc-go's `serverOp`s.
#[derive(Debug, Clone)]
enum ServerOp {
    /// Receive this request (a payload of one byte).
    Req(u8),
    /// Receive a payload of this many bytes.
    ReqPayload(usize),
    /// The call is the attempt that this many came before.
    Attempts(u32),
    /// Send response headers.
    Hdr,
    /// Send this response.
    Res(u8),
    /// End the call with this code.
    Err(Code),
    /// The client has closed its side.
    CloseSend,
    /// A `grpc-retry-pushback-ms` trailer on the status that follows.
    Pushback(&'static str),
}

/// One operation of the client, as grpc-go's `clientOp`s.
#[derive(Debug, Clone)]
enum ClientOp {
    Req(u8),
    ReqPayload(usize),
    Res(u8),
    /// The call's end: this code (`Ok`: the response stream ended).
    Err(Code),
    CloseSend,
    /// Wait for the response headers.
    Hdr,
    /// At least this long since the call started.
    CheckElapsed(Duration),
}

fn payload(byte: u8) -> Payload {
    Payload { body: vec![byte] }
}

fn large(len: usize) -> Payload {
    Payload { body: vec![7; len] }
}

#[derive(Clone)]
struct Stub {
    unary_calls: Arc<AtomicI64>,
    unary_rule: Rule,
    ops: Arc<Mutex<VecDeque<ServerOp>>>,
}

impl Stub {
    fn empty_call(&self) -> Result<Response<Empty>, Status> {
        let i = self.unary_calls.fetch_add(1, SeqCst) + 1;
        match (self.unary_rule)(i) {
            Ok(()) => Ok(Response::new(Empty {})),
            Err(code) => Err(Status::new(code, "scripted")),
        }
    }

    fn next_op(&self) -> Option<ServerOp> {
        self.ops.lock().unwrap().pop_front()
    }

    fn peek_op(&self) -> Option<ServerOp> {
        self.ops.lock().unwrap().front().cloned()
    }
}

#[tonic::async_trait]
impl unary::unary_server::Unary for Stub {
    async fn empty_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        Stub::empty_call(self)
    }
}

#[tonic::async_trait]
impl throttled::throttled_server::Throttled for Stub {
    async fn empty_call(
        &self,
        _: Request<throttled::Empty>,
    ) -> Result<Response<throttled::Empty>, Status> {
        Stub::empty_call(self).map(|r| r.map(|Empty {}| throttled::Empty {}))
    }
}

type Responses = Pin<Box<dyn Stream<Item = Result<Payload, Status>> + Send>>;

/// Runs `op` on the call's request stream; an error is the call's status.
async fn serve_op(
    op: ServerOp,
    inbound: &mut Streaming<Payload>,
    attempts: Option<&str>,
    pushback: &mut Vec<&'static str>,
) -> Result<(), Status> {
    let wrong = |what: String| Err(Status::internal(format!("server: {what}")));
    match op {
        ServerOp::Req(b) => match inbound.message().await {
            Ok(Some(got)) if got == payload(b) => Ok(()),
            other => wrong(format!("received {other:?}, want request {b}")),
        },
        ServerOp::ReqPayload(len) => match inbound.message().await {
            Ok(Some(got)) if got == large(len) => Ok(()),
            other => wrong(format!(
                "received {:?}, want {len} bytes",
                other.map(|m| m.map(|m| m.body.len()))
            )),
        },
        ServerOp::Attempts(n) if attempts == Some(n.to_string().as_str()) => Ok(()),
        ServerOp::Attempts(n) => wrong(format!("previous attempts {attempts:?}, want {n}")),
        ServerOp::CloseSend => match inbound.message().await {
            Ok(None) => Ok(()),
            other => wrong(format!("received {other:?}, want the end of the stream")),
        },
        ServerOp::Pushback(value) => {
            pushback.push(value);
            Ok(())
        }
        ServerOp::Err(code) => {
            let mut status = Status::new(code, "this is a test error");
            for value in pushback.drain(..) {
                let value = MetadataValue::from_static(value);
                status
                    .metadata_mut()
                    .append("grpc-retry-pushback-ms", value);
            }
            Err(status)
        }
        // Sent by the caller, not here.
        ServerOp::Hdr | ServerOp::Res(_) => Ok(()),
    }
}

#[tonic::async_trait]
impl unary::streaming_server::Streaming for Stub {
    type FullDuplexCallStream = Responses;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<Responses>, Status> {
        let attempts = request
            .metadata()
            .get("grpc-previous-rpc-attempts")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut inbound = request.into_inner();
        let mut pushback = Vec::new();
        // Until the response starts, a failure is trailers-only (what a
        // client may retry); tonic sends headers with the response.
        while let Some(op) = self.peek_op() {
            if matches!(op, ServerOp::Hdr | ServerOp::Res(_)) {
                break;
            }
            let op = self.next_op().unwrap();
            serve_op(op, &mut inbound, attempts.as_deref(), &mut pushback).await?;
        }
        let (send, receive) = mpsc::channel(16);
        let stub = self.clone();
        tokio::spawn(async move {
            while let Some(op) = stub.next_op() {
                let sent = match op {
                    ServerOp::Res(b) => send.send(Ok(payload(b))).await,
                    op => {
                        match serve_op(op, &mut inbound, attempts.as_deref(), &mut pushback).await {
                            Ok(()) => Ok(()),
                            Err(status) => {
                                let _ = send.send(Err(status)).await;
                                return;
                            }
                        }
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receive))))
    }
}

struct Server {
    stub: Stub,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(unary_rule: Rule, ops: Vec<ServerOp>) -> Server {
    let stub = Stub {
        unary_calls: Arc::new(AtomicI64::new(-1)),
        unary_rule,
        ops: Arc::new(Mutex::new(ops.into())),
    };
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let routes = Routes::new(unary::unary_server::UnaryServer::new(stub.clone()))
        .add_service(unary::streaming_server::StreamingServer::new(stub.clone()))
        .add_service(throttled::throttled_server::ThrottledServer::new(
            stub.clone(),
        ));
    let task = steadfast_examples::faulty::serve_with_deadlines(routes, incoming);
    Server { stub, addr, task }
}

fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

fn layered(addr: SocketAddr, config: &str) -> steadfast::tonic::ServiceConfigService<Channel> {
    let layer = ServiceConfigLayer::from_json(config).unwrap();
    tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(addr))
}

/// The two ways: through the layer, and through the generated client.
#[derive(Debug, Clone, Copy)]
enum Way {
    Layer,
    Generated,
}

const WAYS: [Way; 2] = [Way::Layer, Way::Generated];

/// Calls `EmptyCall` of `Unary` (or of `Throttled`) through `client`,
/// checking each answer's code and the server's call count after it.
async fn unary_cases<F, Fut>(server: &Server, way: Way, cases: &[(Code, i64)], mut call: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Status>>,
{
    server.stub.unary_calls.store(-1, SeqCst);
    for (n, &(code, count)) in cases.iter().enumerate() {
        let got = call().await.err().map_or(Code::Ok, |s| s.code());
        assert_eq!(got, code, "{way:?}: case {n}");
        assert_eq!(
            server.stub.unary_calls.load(SeqCst),
            count,
            "{way:?}: case {n}"
        );
    }
}

#[tokio::test]
async fn test_retry_unary() {
    let rule: Rule = |i| match i {
        0 | 2 | 5 => Ok(()),
        6 | 8 | 11 => Err(Code::Internal),
        _ => Err(Code::AlreadyExists),
    };
    let cases = [
        (Code::Ok, 0),
        (Code::Ok, 2),
        (Code::Ok, 5),
        (Code::Internal, 6),
        (Code::Internal, 8),
        (Code::Internal, 11),
        (Code::AlreadyExists, 15),
    ];
    let server = serve(rule, vec![]).await;
    let layered = unary::unary_client::UnaryClient::new(layered(server.addr, UNARY_CONFIG));
    unary_cases(&server, Way::Layer, &cases, || {
        let mut client = layered.clone();
        async move { client.empty_call(Empty {}).await.map(drop) }
    })
    .await;
    let generated = unary::ResilientUnaryClient::new(channel(server.addr));
    unary_cases(&server, Way::Generated, &cases, || {
        let mut client = generated.clone();
        async move { client.empty_call(Empty {}).await.map(drop) }
    })
    .await;
}

#[tokio::test]
async fn test_retry_throttling() {
    let rule: Rule = |i| match i {
        0 | 3 | 6 | 10 | 11 | 12 | 13 | 14 | 16 | 18 => Ok(()),
        _ => Err(Code::Unavailable),
    };
    // grpc-go's comments give the tokens left after each case.
    let cases = [
        (Code::Ok, 0),           // 10
        (Code::Ok, 3),           // 8.5: two failures, a success
        (Code::Ok, 6),           // 7
        (Code::Unavailable, 8),  // 5: the first attempt is retried, the second not
        (Code::Unavailable, 9),  // 4
        (Code::Ok, 10),          // 4.5
        (Code::Ok, 11),          // 5
        (Code::Ok, 12),          // 5.5
        (Code::Ok, 13),          // 6
        (Code::Ok, 14),          // 6.5
        (Code::Ok, 16),          // 6
        (Code::Unavailable, 17), // 5
    ];
    let server = serve(rule, vec![]).await;
    let layered =
        throttled::throttled_client::ThrottledClient::new(layered(server.addr, THROTTLING_CONFIG));
    unary_cases(&server, Way::Layer, &cases, || {
        let mut client = layered.clone();
        async move { client.empty_call(throttled::Empty {}).await.map(drop) }
    })
    .await;
    // The generated client's budget is one per process: this is its only
    // user.
    let generated = throttled::ResilientThrottledClient::new(channel(server.addr));
    unary_cases(&server, Way::Generated, &cases, || {
        let mut client = generated.clone();
        async move { client.empty_call(throttled::Empty {}).await.map(drop) }
    })
    .await;
}

type Call =
    Pin<Box<dyn std::future::Future<Output = Result<Response<Streaming<Payload>>, Status>> + Send>>;

/// `FullDuplexCall` through `way` to the server at `addr`.
fn full_duplex_call(way: Way, addr: SocketAddr, requests: ReceiverStream<Payload>) -> Call {
    match way {
        Way::Layer => {
            let mut client =
                unary::streaming_client::StreamingClient::new(layered(addr, UNARY_CONFIG));
            Box::pin(async move { client.full_duplex_call(requests).await })
        }
        Way::Generated => {
            let mut client = unary::ResilientStreamingClient::new(channel(addr));
            Box::pin(async move { client.full_duplex_call(requests).await })
        }
    }
}

/// The client's side of one case: `Err` says which operation went wrong.
async fn run_client(way: Way, addr: SocketAddr, ops: &[ClientOp]) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    let (send, receive) = mpsc::channel(16);
    let mut send = Some(send);
    let mut call = Some(tokio::spawn(full_duplex_call(
        way,
        addr,
        ReceiverStream::new(receive),
    )));
    let mut responses: Option<Streaming<Payload>> = None;
    let mut ended: Option<Status> = None;
    for op in ops {
        if matches!(op, ClientOp::Res(_) | ClientOp::Err(_) | ClientOp::Hdr) {
            if let Some(call) = call.take() {
                match call.await.unwrap() {
                    Ok(response) => responses = Some(response.into_inner()),
                    Err(status) => ended = Some(status),
                }
            }
        }
        let wrong = |what: String| Err(format!("{op:?}: {what}"));
        match op {
            ClientOp::Req(b) => send.as_ref().unwrap().send(payload(*b)).await.unwrap(),
            ClientOp::ReqPayload(len) => send.as_ref().unwrap().send(large(*len)).await.unwrap(),
            ClientOp::CloseSend => drop(send.take()),
            ClientOp::Hdr => {
                if let Some(status) = &ended {
                    return wrong(format!("the call ended: {status:?}"));
                }
            }
            ClientOp::Res(b) => match responses.as_mut().map(|r| r.message()) {
                Some(next) => match next.await {
                    Ok(Some(got)) if got == payload(*b) => {}
                    other => return wrong(format!("received {other:?}")),
                },
                None => return wrong(format!("the call ended: {ended:?}")),
            },
            ClientOp::Err(code) => {
                let got = match (ended.take(), responses.as_mut()) {
                    (Some(status), _) => status.code(),
                    (None, Some(responses)) => match responses.message().await {
                        Ok(None) => Code::Ok,
                        Err(status) => status.code(),
                        Ok(Some(message)) => return wrong(format!("received {message:?}")),
                    },
                    (None, None) => return wrong("no call".to_owned()),
                };
                if got != *code {
                    return wrong(format!("ended with {got:?}"));
                }
            }
            ClientOp::CheckElapsed(at_least) => {
                let elapsed = start.elapsed();
                if elapsed < *at_least {
                    return wrong(format!("only {elapsed:?} since the call started"));
                }
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn test_retry_streaming() {
    use ClientOp as C;
    use ServerOp as S;
    let big = 300 * 1024;
    let cases: Vec<(&str, Vec<ServerOp>, Vec<ClientOp>)> = vec![
        (
            "Non-retryable error code",
            vec![S::Req(1), S::Err(Code::Internal)],
            vec![C::Req(1), C::Err(Code::Internal)],
        ),
        (
            "One retry necessary",
            vec![
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Attempts(1),
                S::Res(1),
            ],
            vec![C::Req(1), C::Res(1), C::Err(Code::Ok)],
        ),
        (
            "Exceed max attempts (4); check attempts header on server",
            vec![
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Attempts(1),
                S::Err(Code::Unavailable),
                S::Attempts(2),
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Attempts(3),
                S::Req(1),
                S::Err(Code::Unavailable),
            ],
            vec![C::Req(1), C::Err(Code::Unavailable)],
        ),
        (
            "Multiple requests",
            vec![
                S::Req(1),
                S::Req(2),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Req(2),
                S::Res(5),
            ],
            vec![C::Req(1), C::Req(2), C::Res(5), C::Err(Code::Ok)],
        ),
        (
            "Multiple successive requests",
            vec![
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Req(2),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Req(2),
                S::Req(3),
                S::Res(5),
            ],
            vec![C::Req(1), C::Req(2), C::Req(3), C::Res(5), C::Err(Code::Ok)],
        ),
        (
            "No retry after receiving",
            vec![
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Res(3),
                S::Err(Code::Unavailable),
            ],
            vec![C::Req(1), C::Res(3), C::Err(Code::Unavailable)],
        ),
        (
            "Retry via ClientStream.Header()",
            vec![
                S::Req(1),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Attempts(1),
            ],
            vec![C::Req(1), C::Hdr, C::Err(Code::Ok)],
        ),
        (
            "No retry after header",
            vec![S::Req(1), S::Hdr, S::Err(Code::Unavailable)],
            vec![C::Req(1), C::Hdr, C::Err(Code::Unavailable)],
        ),
        (
            "Replaying close send",
            vec![
                S::Req(1),
                S::Req(2),
                S::CloseSend,
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Req(2),
                S::CloseSend,
                S::Res(1),
                S::Res(3),
                S::Res(5),
            ],
            vec![
                C::Req(1),
                C::Req(2),
                C::CloseSend,
                C::Res(1),
                C::Res(3),
                C::Res(5),
                C::Err(Code::Ok),
            ],
        ),
        (
            "Negative server pushback - no retry",
            vec![S::Req(1), S::Pushback("-1"), S::Err(Code::Unavailable)],
            vec![C::Req(1), C::Err(Code::Unavailable)],
        ),
        (
            "Non-numeric server pushback - no retry",
            vec![S::Req(1), S::Pushback("xxx"), S::Err(Code::Unavailable)],
            vec![C::Req(1), C::Err(Code::Unavailable)],
        ),
        (
            "Multiple server pushback values - no retry",
            vec![
                S::Req(1),
                S::Pushback("100"),
                S::Pushback("10"),
                S::Err(Code::Unavailable),
            ],
            vec![C::Req(1), C::Err(Code::Unavailable)],
        ),
        (
            "1s server pushback - delayed retry",
            vec![
                S::Req(1),
                S::Pushback("1000"),
                S::Err(Code::Unavailable),
                S::Req(1),
                S::Res(2),
            ],
            vec![
                C::Req(1),
                C::Res(2),
                C::CheckElapsed(Duration::from_secs(1)),
                C::Err(Code::Ok),
            ],
        ),
        (
            "Overflowing buffer - no retry",
            vec![S::ReqPayload(big), S::Err(Code::Unavailable)],
            vec![C::ReqPayload(big), C::Err(Code::Unavailable)],
        ),
    ];
    let mut failures = Vec::new();
    for (what, server_ops, client_ops) in &cases {
        for way in WAYS {
            let server = serve(|_| Ok(()), server_ops.clone()).await;
            if let Err(problem) = run_client(way, server.addr, client_ops).await {
                failures.push(format!("{what} ({way:?}): {problem}"));
                continue;
            }
            // The server's handler may still be ending the stream.
            for _ in 0..100 {
                if server.stub.ops.lock().unwrap().is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let left = server.stub.ops.lock().unwrap().clone();
            if !left.is_empty() {
                failures.push(format!("{what} ({way:?}): the server did not run {left:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
