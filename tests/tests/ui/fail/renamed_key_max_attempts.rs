#[steadfast::retry(max_attempts = 3)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
