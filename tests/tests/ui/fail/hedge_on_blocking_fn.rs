#[steadfast::hedge(max = 2, delay = 10ms)]
fn call() -> Result<(), std::io::Error> { Ok(()) }
fn main() {}
