//! `crate = ..` on every attribute: the runtime named through a re-export.
mod platform {
    pub use steadfast;
}

use platform::steadfast as rt;

#[rt::deadline(2s, crate = "platform::steadfast")]
#[rt::retry(max = 2, crate = "platform::steadfast")]
#[rt::circuit_breaker(failures = 3, crate = "platform::steadfast")]
async fn everything() -> Result<(), tonic::Status> { Ok(()) }

#[platform::steadfast::hedge(max = 2, delay = 10ms, crate = platform::steadfast)]
async fn hedged(id: &str) -> Result<String, tonic::Status> { Ok(id.to_owned()) }

fn busy(_: &str, _: tonic::Status) -> Result<String, tonic::Status> { Ok(String::new()) }

#[rt::fallback(busy, crate = "platform::steadfast")]
#[rt::rate_limit(rate = 5/s, crate = "platform::steadfast")]
async fn limited(id: &str) -> Result<String, tonic::Status> { Ok(id.to_owned()) }

#[rt::retry(crate = "::steadfast", max = 2)]
fn blocking() -> Result<(), std::io::Error> { Ok(()) }

fn main() {
    let _ = (everything(), hedged("a"), limited("a"), blocking());
}
