#[steadfast::retry(max = 0, backoff = "sideways", jitter = "lots")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
