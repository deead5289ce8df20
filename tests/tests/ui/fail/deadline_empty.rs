#[steadfast::deadline]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
