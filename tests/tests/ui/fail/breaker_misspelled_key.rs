use tonic::Status;

#[steadfast::circuit_breaker(failure_rate = 0.5, open_for = 5s)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
