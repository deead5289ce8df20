#[derive(Debug)]
struct MyError;

#[resilient::circuit_breaker(failures = 5)]
async fn call() -> Result<(), MyError> { Ok(()) }
fn main() {}
