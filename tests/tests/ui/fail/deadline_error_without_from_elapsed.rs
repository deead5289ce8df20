#[derive(Debug)]
struct MyError;

#[steadfast::deadline(2s)]
async fn call() -> Result<(), MyError> { Ok(()) }
fn main() {}
