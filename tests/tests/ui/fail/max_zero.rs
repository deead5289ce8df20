#[steadfast::retry(max = 0)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
