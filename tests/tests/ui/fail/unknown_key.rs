#[steadfast::retry(maxx = 3)]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
