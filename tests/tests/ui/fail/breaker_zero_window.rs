use tonic::Status;

#[steadfast::circuit_breaker(window = 0s)]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
