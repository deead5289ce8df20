use tonic::Status;

#[steadfast::circuit_breaker(slow_ratio = 0.5)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
