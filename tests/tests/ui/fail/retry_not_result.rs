#[steadfast::retry(max = 3)]
async fn call() -> Option<u32> { None }
fn main() {}
