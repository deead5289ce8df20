//! The `resilient` demonstration: a user lookup against a flaky backend,
//! under a retry policy inside a deadline, with a table of what happened.
//!
//! The backend here is in-process (some calls `UNAVAILABLE`, some slow); the
//! gRPC version with a real tonic server on loopback replaces it once the
//! tonic glue lands.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use resilient::{deadline, Backoff, RetryPolicy};
use tokio::time::Instant;
use tonic::Status;

/// A backend that fails by plan: each entry is what one call does.
struct FlakyBackend {
    calls: AtomicU32,
    plan: &'static [Fault],
}

const HUNG: Fault = Fault::Slow(Duration::from_secs(5));

#[derive(Clone, Copy)]
enum Fault {
    Ok,
    Unavailable,
    Slow(Duration),
    NotFound,
}

impl FlakyBackend {
    async fn get_user(&self, id: &str) -> Result<String, Status> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
        match self.plan.get(n).copied().unwrap_or(Fault::Ok) {
            Fault::Ok => Ok(format!("user {id}")),
            Fault::Unavailable => Err(Status::unavailable("backend restarting")),
            Fault::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok(format!("user {id} (slow)"))
            }
            Fault::NotFound => Err(Status::not_found(format!("no user {id}"))),
        }
    }
}

struct Row {
    call: &'static str,
    attempts: u32,
    delays: Vec<Duration>,
    outcome: String,
    took: Duration,
}

#[tokio::main]
async fn main() {
    let scenarios: &[(&'static str, &'static [Fault])] = &[
        ("healthy", &[Fault::Ok]),
        ("one UNAVAILABLE", &[Fault::Unavailable, Fault::Ok]),
        (
            "two UNAVAILABLE",
            &[Fault::Unavailable, Fault::Unavailable, Fault::Ok],
        ),
        ("always UNAVAILABLE", &[Fault::Unavailable; 5]),
        ("NOT_FOUND (not retried)", &[Fault::NotFound]),
        ("hung, then fine", &[HUNG, Fault::Ok]),
        ("slower than the deadline", &[HUNG; 5]),
    ];

    let policy = RetryPolicy::new()
        .max_attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(50)))
        .per_attempt(Duration::from_millis(300));

    let mut rows = Vec::new();
    for &(call, plan) in scenarios {
        let backend = FlakyBackend {
            calls: AtomicU32::new(0),
            plan,
        };
        let delays = Mutex::new(Vec::new());
        let mut last = None::<Instant>;
        let start = Instant::now();
        let result = deadline::scope(
            Duration::from_millis(500),
            resilient::retry(&policy, || {
                if let Some(t) = last.replace(Instant::now()) {
                    if let Ok(mut d) = delays.lock() {
                        d.push(t.elapsed());
                    }
                }
                backend.get_user("42")
            }),
        )
        .await
        .unwrap_or_else(|elapsed| Err(elapsed.into()));
        let outcome = match result {
            Ok(name) => format!("OK {name}"),
            Err(status) => format!("{:?}", status.code()),
        };
        rows.push(Row {
            call,
            attempts: backend.calls.load(Ordering::SeqCst),
            delays: delays.into_inner().unwrap_or_default(),
            outcome,
            took: start.elapsed(),
        });
    }

    println!("policy: 3 attempts, exponential backoff from 50ms (±20%), 300ms per attempt, 500ms deadline\n");
    println!(
        "{:<26} {:>8}  {:<24} {:<22} {:>8}",
        "call", "attempts", "between attempt starts", "outcome", "took"
    );
    println!("{}", "-".repeat(94));
    for row in &rows {
        let delays = row
            .delays
            .iter()
            .map(|d| format!("{}ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{:<26} {:>8}  {:<24} {:<22} {:>6}ms",
            row.call,
            row.attempts,
            if delays.is_empty() {
                "-".into()
            } else {
                delays
            },
            row.outcome,
            row.took.as_millis()
        );
    }
}
