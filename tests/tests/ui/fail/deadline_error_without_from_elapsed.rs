#[derive(Debug)]
struct MyError;

#[resilient::deadline(2s)]
async fn call() -> Result<(), MyError> { Ok(()) }
fn main() {}
