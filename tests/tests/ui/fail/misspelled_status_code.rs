#[steadfast::retry(on = [Unavailble])]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
