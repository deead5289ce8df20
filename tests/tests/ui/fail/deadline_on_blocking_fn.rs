#[steadfast::deadline(2s)]
fn call() -> Result<(), std::io::Error> { Ok(()) }
fn main() {}
