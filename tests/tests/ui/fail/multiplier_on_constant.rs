#[steadfast::retry(backoff = "const", multiplier = 2.0)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
