#[steadfast::deadline(2)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
