#[steadfast::retry(max = 3, max = 4)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
