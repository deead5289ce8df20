#[steadfast::retry(max = 3, per_attempt = 1s)]
#[steadfast::deadline(2s)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
