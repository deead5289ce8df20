#[steadfast::deadline(2sec)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
