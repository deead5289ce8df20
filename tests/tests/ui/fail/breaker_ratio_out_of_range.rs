use tonic::Status;

#[steadfast::circuit_breaker(failure_ratio = 1.5, half_open = 0)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
