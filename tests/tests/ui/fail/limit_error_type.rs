use steadfast::RateLimiter;

static ORDERS: RateLimiter = RateLimiter::per_second(50);

#[derive(Debug)]
struct MyError;

#[steadfast::rate_limit(ORDERS)]
async fn create_order() -> Result<(), MyError> {
    Ok(())
}

fn main() {}
