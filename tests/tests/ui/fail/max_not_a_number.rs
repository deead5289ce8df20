#[steadfast::retry(max = "3")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
