use steadfast::RateLimiter;
use tonic::Status;

static ORDERS: RateLimiter = RateLimiter::per_second(50);

#[steadfast::rate_limit(rate = 0/s)]
async fn zero_rate() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(rate = 50)]
async fn no_period() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(rate = 50/s, burst = 0, queue = -1s)]
async fn zero_burst_negative_queue() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(rate = 50/s, warm_up = 0s)]
async fn warm_up() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(ORDERS, burst = 10)]
async fn shared_with_keys() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(qps = 50)]
async fn alias() -> Result<(), Status> {
    Ok(())
}

#[steadfast::rate_limit(rate = 5/s, warm_up = 10s, key = user)]
async fn keyed_warm_up(user: &str) -> Result<(), Status> {
    Ok(())
}

#[steadfast::concurrency_limit(max = 2, key = user)]
async fn keyed_bulkhead(user: &str) -> Result<(), Status> {
    Ok(())
}

#[steadfast::concurrency_limit(queue = 100ms)]
async fn no_max() -> Result<(), Status> {
    Ok(())
}

fn main() {}
