#[steadfast::deadline(2s)]
async fn call() -> u32 { 1 }
fn main() {}
