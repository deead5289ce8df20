#[steadfast::retry(max = 3)]
struct Client;
fn main() {}
