//! The `resilient` demonstration: a real tonic `UserService` on 127.0.0.1
//! that injects faults, called through an annotated client, with a table of
//! calls, attempts, delays and outcomes.
//!
//! `cargo run -p resilient-examples --bin user_service`

use std::sync::Mutex;
use std::time::Duration;

use resilient::tonic::PropagateDeadline;
use resilient_examples::faulty::{closing_proxy, Fault, FaultyUsers};
use resilient_examples::user::user_service_client::UserServiceClient;
use resilient_examples::user::{UserRequest, UserResponse};
use tokio::time::Instant;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

type Client = UserServiceClient<InterceptedService<Channel, PropagateDeadline>>;

/// Delays chosen by the retry loop, recorded by its `notify` hook.
static DELAYS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn record_delay(_: &Status, delay: Duration, _attempt: u32) {
    if let Ok(mut delays) = DELAYS.lock() {
        delays.push(delay);
    }
}

/// The whole policy, where the call is: one 2 s budget for every attempt,
/// up to 3 attempts 50 ms apart and growing, 300 ms for each.
#[resilient::deadline(2s)]
#[resilient::retry(max = 3, backoff = "exp", initial = 50ms, per_attempt = 300ms, notify = record_delay)]
async fn get_user(client: &mut Client, id: &str) -> Result<UserResponse, Status> {
    let request = UserRequest {
        user_id: id.to_owned(),
    };
    Ok(client.get_user(request).await?.into_inner())
}

fn connect(addr: std::net::SocketAddr) -> Result<Client, Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect_lazy();
    Ok(UserServiceClient::with_interceptor(
        channel,
        PropagateDeadline,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = FaultyUsers::default();
    let (addr, _server) = server.serve().await?;
    let (proxy_addr, _proxy) = closing_proxy(addr, 1).await?;
    let mut client = connect(addr)?;
    let mut through_proxy = connect(proxy_addr)?;

    let scenarios: Vec<(&str, Vec<Fault>, bool)> = vec![
        ("healthy", vec![Fault::Ok], false),
        (
            "UNAVAILABLE once",
            vec![Fault::Fail(Code::Unavailable)],
            false,
        ),
        (
            "UNAVAILABLE twice",
            vec![Fault::Fail(Code::Unavailable); 2],
            false,
        ),
        (
            "UNAVAILABLE always",
            vec![Fault::Fail(Code::Unavailable); 5],
            false,
        ),
        (
            "NOT_FOUND (never retried)",
            vec![Fault::Fail(Code::NotFound)],
            false,
        ),
        ("pushback 400ms", vec![Fault::Pushback("400")], false),
        ("pushback -1 (stop)", vec![Fault::Pushback("-1")], false),
        (
            "pushback past the deadline",
            vec![Fault::Pushback("5000")],
            false,
        ),
        ("hangs once", vec![Fault::Hang], false),
        (
            "slow every time",
            vec![Fault::Slow(Duration::from_secs(5)); 5],
            false,
        ),
        ("connection closed once", vec![], true),
    ];

    println!("UserService on {addr}; client policy: deadline 2s, retry max 3, exp backoff from 50ms (±20%), 300ms per attempt\n");
    println!(
        "{:<27} {:>8}  {:<16} {:<20} {:<26} {:>7}",
        "call", "attempts", "delays", "grpc-timeout sent", "outcome", "took"
    );
    println!("{}", "-".repeat(110));
    for (name, script, proxied) in scenarios {
        server.script(script);
        if let Ok(mut delays) = DELAYS.lock() {
            delays.clear();
        }
        let start = Instant::now();
        let client = if proxied {
            &mut through_proxy
        } else {
            &mut client
        };
        let outcome = match get_user(client, "42").await {
            Ok(user) => format!("OK {} ({})", user.name, user.age),
            Err(status) => format!("{:?}", status.code()),
        };
        let took = start.elapsed();
        let delays = DELAYS.lock().map(|d| d.clone()).unwrap_or_default();
        let seen = server.seen();
        let first_timeout = seen
            .first()
            .and_then(|s| s.timeout.clone())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<27} {:>8}  {:<16} {:<20} {:<26} {:>5}ms",
            name,
            seen.len(),
            list(&delays),
            first_timeout,
            outcome,
            took.as_millis()
        );
    }
    println!("\nattempts: calls the server received; delays: sleeps the retry loop chose (pushback overrides the schedule).");
    Ok(())
}

fn list(delays: &[Duration]) -> String {
    if delays.is_empty() {
        return "-".into();
    }
    delays
        .iter()
        .map(|d| format!("{}ms", d.as_millis()))
        .collect::<Vec<_>>()
        .join(", ")
}
