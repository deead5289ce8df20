use tonic::Status;

#[steadfast::retry(nested = "never")]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
