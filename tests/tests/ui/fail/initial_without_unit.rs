#[steadfast::retry(initial = 100)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
