const TIMEOUT: u64 = 2;

#[steadfast::deadline(TIMEOUT)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
