//! One rule for every client: the same scripted server outcomes through
//! each way this crate retries a gRPC call, with the same policy (the
//! generated `GetUser`'s: 2 s deadline, 3 attempts, exponential backoff from
//! 50 ms, `UNAVAILABLE` retried), must give the same answer, the same
//! attempts (numbered alike) and honour the same pushback.
//!
//! The drivers: `#[deadline] #[retry]` on a function over tonic's client,
//! `steadfast::retry` inside `deadline::scope`, `ServiceConfigLayer` under
//! tonic's client, and the generated `ResilientUserServiceClient`. (The
//! layer's jitter is A6's full jitter, so delays are compared only where a
//! server's pushback sets them; hedging has its own tests.)
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use steadfast::tonic::{Codes, ServiceConfigLayer};
use steadfast::{deadline, Backoff, RetryPolicy};
use steadfast_examples::faulty::Fault;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tonic::{Code, Status};

mod common;
use common::hostile::{pairs, Hostile, Reply};
use common::{channel, request, server};

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, backoff = "exp", initial = 50ms, per_attempt = 300ms, on = [Unavailable])]
async fn attribute(
    client: &mut UserServiceClient<steadfast::tonic::Channel>,
    request: &UserRequest,
) -> Result<UserResponse, Status> {
    Ok(client.get_user(request.clone()).await?.into_inner())
}

async fn runtime_function(
    client: &UserServiceClient<steadfast::tonic::Channel>,
    request: &UserRequest,
) -> Result<UserResponse, Status> {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(50)))
        .per_attempt(Duration::from_millis(300))
        .classify(Codes::new(&[Code::Unavailable]));
    let call = steadfast::retry(&policy, || {
        let mut client = client.clone();
        let request = request.clone();
        async move { Ok(client.get_user(request).await?.into_inner()) }
    });
    deadline::scope(Duration::from_secs(2), call).await?
}

const CONFIG: &str = r#"{"methodConfig": [{
    "name": [{"service": "user.UserService"}],
    "timeout": "2s",
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "10s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
}]}"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    Attribute,
    RuntimeFunction,
    Layer,
    Generated,
}

const DRIVERS: [Driver; 4] = [
    Driver::Attribute,
    Driver::RuntimeFunction,
    Driver::Layer,
    Driver::Generated,
];

/// One call of `GetUser` through `driver` to the server at `addr`.
async fn call(driver: Driver, addr: std::net::SocketAddr) -> Result<UserResponse, Status> {
    let uri = format!("http://{addr}");
    match driver {
        Driver::Attribute => {
            let mut client = UserServiceClient::new(steadfast::tonic::connect_lazy(uri).unwrap());
            attribute(&mut client, &request()).await
        }
        Driver::RuntimeFunction => {
            let client = UserServiceClient::new(steadfast::tonic::connect_lazy(uri).unwrap());
            runtime_function(&client, &request()).await
        }
        Driver::Layer => {
            let layer = ServiceConfigLayer::from_json(CONFIG).unwrap();
            let channel = tower::ServiceBuilder::new()
                .layer(layer)
                .service(channel(addr));
            UserServiceClient::new(channel)
                .get_user(request())
                .await
                .map(tonic::Response::into_inner)
        }
        Driver::Generated => ResilientUserServiceClient::new(channel(addr))
            .get_user(request())
            .await
            .map(tonic::Response::into_inner),
    }
}

/// What a call through `driver` did against a server following `script`:
/// its answer (the name, or the code), the attempt numbers the server saw,
/// and the time between the first two attempts.
async fn run(
    driver: Driver,
    script: &[Fault],
) -> (Result<String, Code>, Vec<Option<String>>, Option<Duration>) {
    let server = server(script.iter().cloned()).await;
    let result = call(driver, server.addr).await;
    let seen = server.users.seen();
    let gap = (seen.len() > 1).then(|| seen[1].at - seen[0].at);
    (
        result.map(|user| user.name).map_err(|status| status.code()),
        server.previous_attempts(),
        gap,
    )
}

fn attempts(n: usize) -> Vec<Option<String>> {
    (0..n).map(|i| (i > 0).then(|| i.to_string())).collect()
}

#[tokio::test]
async fn every_driver_gives_the_same_answer_after_the_same_attempts() {
    let ok = || Ok("user 42".to_owned());
    // (what, the server's script, the answer, the attempts made)
    type Scenario = (&'static str, Vec<Fault>, Result<String, Code>, usize);
    let scenarios: Vec<Scenario> = vec![
        (
            "retried until it succeeds",
            vec![
                Fault::Fail(Code::Unavailable),
                Fault::Fail(Code::Unavailable),
            ],
            ok(),
            3,
        ),
        (
            "the attempts run out: the last failure is the caller's",
            vec![Fault::Fail(Code::Unavailable); 3],
            Err(Code::Unavailable),
            3,
        ),
        (
            "a code not listed is not retried",
            vec![Fault::Fail(Code::InvalidArgument)],
            Err(Code::InvalidArgument),
            1,
        ),
        (
            "the server's DEADLINE_EXCEEDED is not retried",
            vec![Fault::Fail(Code::DeadlineExceeded)],
            Err(Code::DeadlineExceeded),
            1,
        ),
        (
            "a pushback that says stop",
            vec![Fault::Pushback("-1")],
            Err(Code::Unavailable),
            1,
        ),
        (
            "a malformed pushback is a stop",
            vec![Fault::Pushback("soon")],
            Err(Code::Unavailable),
            1,
        ),
        (
            "a pushback past the deadline: no wait, no retry",
            vec![Fault::Pushback("5000")],
            Err(Code::Unavailable),
            1,
        ),
        (
            "a pushback sets the next delay",
            vec![Fault::Pushback("250")],
            ok(),
            2,
        ),
    ];
    for (what, script, answer, made) in scenarios {
        for driver in DRIVERS {
            let (result, seen, gap) = run(driver, &script).await;
            assert_eq!(result, answer, "{what}: {driver:?}");
            assert_eq!(seen, attempts(made), "{what}: {driver:?}");
            if what == "a pushback sets the next delay" {
                let gap = gap.unwrap();
                assert!(
                    gap >= Duration::from_millis(250),
                    "{what}: {driver:?} after {gap:?}"
                );
            }
        }
    }
}

/// gRPC A6: once response headers arrive the call is committed; a failure
/// in its trailers is the caller's, on every path (the guarded channel
/// tells the retry loop, whichever client reads the response).
#[tokio::test]
async fn a_failure_after_response_headers_is_committed_on_every_path() {
    let headers_then_unavailable = Reply::Respond {
        status: 200,
        headers: pairs(&[("content-type", b"application/grpc")]),
        body: None,
        trailers: Some(pairs(&[("grpc-status", b"14")])),
    };
    for driver in DRIVERS {
        let peer = Hostile::start(vec![headers_then_unavailable.clone()]).await;
        let result = call(driver, peer.addr).await;
        assert_eq!(result.unwrap_err().code(), Code::Unavailable, "{driver:?}");
        assert_eq!(peer.requests(), 1, "{driver:?} retried a committed call");
    }
}
