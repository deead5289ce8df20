//! One rule for every client: the same scripted server outcomes through
//! each way this crate retries or hedges a gRPC call, under the same policy
//! (the generated `GetUser`'s: a 2 s deadline, 3 attempts, `UNAVAILABLE`
//! retried; retries back off exponentially from 50 ms), must give the same
//! answer after the same attempts (numbered alike), honour the same
//! pushback, and stop at the same deadline and budget.
//!
//! The drivers: `#[deadline] #[retry]` on a function over tonic's client,
//! `steadfast::retry` inside `steadfast::tonic::scope`, `ServiceConfigLayer` under
//! tonic's client, the generated `ResilientUserServiceClient`; and hedged,
//! `#[hedge]`, `steadfast::hedge::hedge` and the layer's `hedgingPolicy`,
//! with a hedging delay longer than the deadline, so that only failures
//! start the next attempt: a hedged call then makes the attempts a retried
//! one makes. (The layer's jitter is A6's full jitter, so delays are
//! compared only where a server's pushback sets them.)
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use steadfast::__private::Verdict;
use steadfast::hedge::HedgePolicy;
use steadfast::retry::Classify;
use steadfast::tonic::{Codes, ServiceConfigLayer};
use steadfast::{Backoff, RetryBudget, RetryPolicy};
use steadfast_examples::faulty::Fault;
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tonic::{Code, Status};

mod common;
use common::hostile::{pairs, Hostile, Reply};
use common::{channel, request, server};

type Client = UserServiceClient<steadfast::tonic::Channel>;

const UNAVAILABLE: Codes = Codes::new(&[Code::Unavailable]);

/// The budget of the scenario that has one: 4 tokens, so that one failure
/// leaves a retry (3 > 2) and the second none (A6 retries while more than
/// half are left).
const fn budget() -> RetryBudget {
    RetryBudget::new(4, 1.0)
}

static ATTRIBUTE_BUDGET: RetryBudget = budget();
static ATTRIBUTE_HEDGE_BUDGET: RetryBudget = budget();

async fn get(client: &mut Client, request: &UserRequest) -> Result<UserResponse, Status> {
    Ok(client.get_user(request.clone()).await?.into_inner())
}

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, backoff = "exp", initial = 50ms, per_attempt = 300ms, on = [Unavailable])]
async fn attribute(client: &mut Client, request: &UserRequest) -> Result<UserResponse, Status> {
    get(client, request).await
}

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, backoff = "exp", initial = 50ms, per_attempt = 300ms, on = [Unavailable], budget = ATTRIBUTE_BUDGET)]
async fn attribute_budgeted(
    client: &mut Client,
    request: &UserRequest,
) -> Result<UserResponse, Status> {
    get(client, request).await
}

#[steadfast::deadline(2s)]
#[steadfast::hedge(max = 3, delay = 10s, on = [Unavailable])]
async fn attribute_hedged(client: &Client, request: &UserRequest) -> Result<UserResponse, Status> {
    get(&mut client.clone(), request).await
}

#[steadfast::deadline(2s)]
#[steadfast::hedge(max = 3, delay = 10s, on = [Unavailable], budget = ATTRIBUTE_HEDGE_BUDGET)]
async fn attribute_hedged_budgeted(
    client: &Client,
    request: &UserRequest,
) -> Result<UserResponse, Status> {
    get(&mut client.clone(), request).await
}

async fn runtime_function(
    client: &Client,
    request: &UserRequest,
    budget: Option<&'static RetryBudget>,
) -> Result<UserResponse, Status> {
    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(50)))
        .per_attempt(Duration::from_millis(300))
        .classify(UNAVAILABLE)
        .budget(budget);
    let call = steadfast::retry(&policy, || async {
        get(&mut client.clone(), request).await
    });
    steadfast::tonic::scope(Duration::from_secs(2), call).await
}

async fn runtime_hedge(
    client: &Client,
    request: &UserRequest,
    budget: Option<&'static RetryBudget>,
) -> Result<UserResponse, Status> {
    let policy = HedgePolicy::new(3, Duration::from_secs(10)).budget(budget);
    let call = steadfast::hedge::hedge(
        &policy,
        |_| async { get(&mut client.clone(), request).await },
        |status: &Status| -> Verdict { UNAVAILABLE.verdict(status) },
    );
    steadfast::tonic::scope(Duration::from_secs(2), call).await
}

/// The layer's config: the same retry or hedging policy, throttled when
/// `budgeted` as [`budget`] is.
fn config(hedged: bool, budgeted: bool) -> String {
    let policy = if hedged {
        r#""hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "10s",
                             "nonFatalStatusCodes": ["UNAVAILABLE"]}"#
    } else {
        r#""retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "10s",
                           "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}"#
    };
    let throttling = if budgeted {
        r#""retryThrottling": {"maxTokens": 4, "tokenRatio": 1},"#
    } else {
        ""
    };
    format!(
        r#"{{{throttling} "methodConfig": [{{"name": [{{"service": "user.UserService"}}],
             "timeout": "2s", {policy}}}]}}"#
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    Attribute,
    RuntimeFunction,
    Layer,
    Generated,
    AttributeHedge,
    RuntimeHedge,
    LayerHedge,
}

const DRIVERS: [Driver; 7] = [
    Driver::Attribute,
    Driver::RuntimeFunction,
    Driver::Layer,
    Driver::Generated,
    Driver::AttributeHedge,
    Driver::RuntimeHedge,
    Driver::LayerHedge,
];

impl Driver {
    /// Whether its policy has a per-attempt timeout (steadfast's, which A6
    /// has not): an attempt that hangs is then given up and retried.
    fn per_attempt(self) -> bool {
        matches!(
            self,
            Driver::Attribute | Driver::RuntimeFunction | Driver::Generated
        )
    }

    /// Whether a budget can be given to it here (the generated client's
    /// comes from its service config: `tests/streaming.rs`'s catalog).
    fn takes_a_budget(self) -> bool {
        self != Driver::Generated
    }
}

/// One call of `GetUser` through `driver` to the server at `addr`, under
/// [`budget`] when `budgeted`.
async fn call(
    driver: Driver,
    addr: std::net::SocketAddr,
    budgeted: bool,
) -> Result<UserResponse, Status> {
    let uri = format!("http://{addr}");
    let mut client = UserServiceClient::new(steadfast::tonic::connect_lazy(uri).unwrap());
    let fresh = || budgeted.then(|| &*Box::leak(Box::new(budget())));
    let layered = |hedged| {
        let layer = ServiceConfigLayer::from_json(&config(hedged, budgeted)).unwrap();
        let channel = tower::ServiceBuilder::new()
            .layer(layer)
            .service(channel(addr));
        UserServiceClient::new(channel)
    };
    match driver {
        Driver::Attribute if budgeted => attribute_budgeted(&mut client, &request()).await,
        Driver::Attribute => attribute(&mut client, &request()).await,
        Driver::RuntimeFunction => runtime_function(&client, &request(), fresh()).await,
        Driver::Layer => layered(false)
            .get_user(request())
            .await
            .map(tonic::Response::into_inner),
        Driver::Generated => ResilientUserServiceClient::new(channel(addr))
            .get_user(request())
            .await
            .map(tonic::Response::into_inner),
        Driver::AttributeHedge if budgeted => attribute_hedged_budgeted(&client, &request()).await,
        Driver::AttributeHedge => attribute_hedged(&client, &request()).await,
        Driver::RuntimeHedge => runtime_hedge(&client, &request(), fresh()).await,
        Driver::LayerHedge => layered(true)
            .get_user(request())
            .await
            .map(tonic::Response::into_inner),
    }
}

/// What a call through `driver` did against a server following `script`:
/// its answer (the name, or the code), the attempt numbers the server saw,
/// the time between the first two attempts, and how long the call took.
async fn run(driver: Driver, script: &[Fault], budgeted: bool) -> Outcome {
    let server = server(script.iter().cloned()).await;
    let start = tokio::time::Instant::now();
    let result = call(driver, server.addr, budgeted).await;
    let took = start.elapsed();
    let seen = server.users.seen();
    let gap = (seen.len() > 1).then(|| seen[1].at - seen[0].at);
    Outcome {
        answer: result.map(|user| user.name).map_err(|status| status.code()),
        attempts: server.previous_attempts(),
        gap,
        took,
    }
}

struct Outcome {
    answer: Result<String, Code>,
    attempts: Vec<Option<String>>,
    gap: Option<Duration>,
    took: Duration,
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
        (
            "a slow attempt within every limit answers",
            vec![Fault::Slow(Duration::from_millis(100))],
            ok(),
            1,
        ),
        (
            "a server's own CANCELLED before the deadline is its answer",
            vec![Fault::Fail(Code::Cancelled)],
            Err(Code::Cancelled),
            1,
        ),
    ];
    for (what, script, answer, made) in scenarios {
        for driver in DRIVERS {
            let outcome = run(driver, &script, false).await;
            assert_eq!(outcome.answer, answer, "{what}: {driver:?}");
            assert_eq!(outcome.attempts, attempts(made), "{what}: {driver:?}");
            if what == "a pushback sets the next delay" {
                let gap = outcome.gap.unwrap();
                assert!(
                    gap >= Duration::from_millis(250),
                    "{what}: {driver:?} after {gap:?}"
                );
            }
        }
    }
}

/// A server that never answers: every driver ends the call with
/// `DEADLINE_EXCEEDED` within its 2 s deadline. Those whose policy has a
/// per-attempt timeout (steadfast's, not A6's) give each attempt up after
/// 300 ms and make all 3; the others wait on the one.
#[tokio::test]
async fn every_driver_ends_a_hung_call_at_its_deadline() {
    for driver in DRIVERS {
        let outcome = run(driver, &[Fault::Hang, Fault::Hang, Fault::Hang], false).await;
        assert_eq!(outcome.answer, Err(Code::DeadlineExceeded), "{driver:?}");
        let made = if driver.per_attempt() { 3 } else { 1 };
        assert_eq!(outcome.attempts, attempts(made), "{driver:?}");
        assert!(
            outcome.took >= Duration::from_millis(850) && outcome.took < Duration::from_secs(4),
            "{driver:?} took {:?}",
            outcome.took
        );
    }
}

/// gRPC A6 throttling, one budget per call here: 4 tokens; the first
/// failure leaves 3 (a retry, or a hedge, may start), the second 2 (none
/// may: not more than half are left), though the third attempt would have
/// answered.
#[tokio::test]
async fn every_driver_stops_where_the_budget_does() {
    let script = [
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ];
    for driver in DRIVERS.into_iter().filter(|d| d.takes_a_budget()) {
        let outcome = run(driver, &script, true).await;
        assert_eq!(outcome.answer, Err(Code::Unavailable), "{driver:?}");
        assert_eq!(outcome.attempts, attempts(2), "{driver:?}");
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
        let result = call(driver, peer.addr, false).await;
        assert_eq!(result.unwrap_err().code(), Code::Unavailable, "{driver:?}");
        assert_eq!(peer.requests(), 1, "{driver:?} retried a committed call");
    }
}
