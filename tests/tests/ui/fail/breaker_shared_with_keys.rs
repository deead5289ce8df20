use steadfast::CircuitBreaker;
use tonic::Status;

static USERS: CircuitBreaker = CircuitBreaker::new();

#[steadfast::circuit_breaker(USERS, min_calls = 5)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
