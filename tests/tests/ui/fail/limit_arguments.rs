use steadfast::{ConcurrencyLimit, RateLimiter};
use tonic::Status;

static ORDERS: RateLimiter = RateLimiter::per_second(50);
static DB: ConcurrencyLimit = ConcurrencyLimit::new(32);

#[steadfast::rate_limit()]
async fn no_limit() -> Result<(), Status> {
    Ok(())
}

#[steadfast::concurrency_limit(DB, ORDERS)]
async fn two_limits() -> Result<(), Status> {
    Ok(())
}

#[steadfast::concurrency_limit(ORDERS)]
async fn wrong_kind() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(ORDERS)]
async fn not_a_result() -> u32 {
    1
}

fn main() {}
