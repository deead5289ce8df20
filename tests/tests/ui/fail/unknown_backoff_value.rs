#[steadfast::retry(backoff = "quadratic")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
