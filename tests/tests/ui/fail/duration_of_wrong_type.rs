const TIMEOUT: u64 = 2;

#[resilient::deadline(TIMEOUT)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
