#[steadfast::retry(max = 2, crate = "not a path")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }

fn main() {}
