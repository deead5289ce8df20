#[steadfast::circuit_breaker]
fn call() -> u32 { 1 }
fn main() {}
