#[steadfast::retry(max = -1)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
