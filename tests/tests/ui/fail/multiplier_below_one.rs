#[steadfast::retry(multiplier = 0.5)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
