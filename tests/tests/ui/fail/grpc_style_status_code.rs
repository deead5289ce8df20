#[steadfast::retry(on = [UNAVAILABLE])]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
