fn all(_: &tonic::Status) -> bool { true }

#[steadfast::retry(when = all, on = [Unavailable])]
async fn call() -> Result<(), tonic::Status> { Ok(()) }
fn main() {}
