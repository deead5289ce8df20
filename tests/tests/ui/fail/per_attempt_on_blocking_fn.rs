#[steadfast::retry(per_attempt = 2s)]
fn call() -> Result<(), std::io::Error> { Ok(()) }
fn main() {}
