#[derive(Debug)]
struct MyError;

#[steadfast::circuit_breaker(failures = 5)]
async fn call() -> Result<(), MyError> { Ok(()) }
fn main() {}
