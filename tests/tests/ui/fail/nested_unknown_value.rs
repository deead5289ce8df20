use tonic::Status;

#[resilient::retry(nested = "never")]
async fn call() -> Result<(), Status> { Ok(()) }
fn main() {}
