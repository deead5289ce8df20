#[steadfast::retry(jitter = 1.5)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
