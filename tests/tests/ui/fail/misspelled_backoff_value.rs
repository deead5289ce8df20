#[steadfast::retry(backoff = "expo")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
