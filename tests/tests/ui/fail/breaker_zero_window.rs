use tonic::Status;

#[resilient::circuit_breaker(window = 0s)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
