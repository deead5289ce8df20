#[steadfast::deadline(1s)]
#[steadfast::retry(max = 3, per_attempt = 2s)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
