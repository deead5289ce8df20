#[steadfast::deadline(-2s)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
