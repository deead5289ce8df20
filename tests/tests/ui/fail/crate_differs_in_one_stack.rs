mod platform { pub use steadfast; }

#[steadfast::deadline(1s, crate = "steadfast")]
#[steadfast::retry(max = 2, crate = "platform::steadfast")]
async fn call() -> Result<(), tonic::Status> { Ok(()) }

fn main() {}
