#[steadfast::retry(backof = "exp")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
