#[steadfast::deadline(2s, 3s)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
