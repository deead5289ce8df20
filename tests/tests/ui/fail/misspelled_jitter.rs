#[steadfast::retry(jitter = "fulll")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
