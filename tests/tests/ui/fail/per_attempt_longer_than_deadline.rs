#[resilient::deadline(1s)]
#[resilient::retry(max = 3, per_attempt = 2s)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
