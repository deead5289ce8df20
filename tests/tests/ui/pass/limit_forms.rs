//! `#[rate_limit]` and `#[concurrency_limit]` on free functions, blocking
//! functions and the methods of a `#[tonic::async_trait]` impl, naming a
//! `static` or a field, stacked with the other attributes; the futures stay
//! `Send`.
use std::sync::Arc;
use std::time::Duration;

use steadfast::{ConcurrencyLimit, RateLimiter};
use tonic::{Request, Response, Status};

static ORDERS: RateLimiter = RateLimiter::per_second(50)
    .burst(10)
    .queue(Duration::from_millis(500));
static DB: ConcurrencyLimit = ConcurrencyLimit::new(32).queue(Duration::from_millis(100));

#[steadfast::rate_limit(ORDERS)]
#[steadfast::concurrency_limit(DB)]
async fn create_order(id: u32) -> Result<u32, Status> {
    Ok(id)
}

#[steadfast::rate_limit(ORDERS)]
fn blocking(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, on = [ResourceExhausted])]
#[steadfast::circuit_breaker(failures = 5)]
#[steadfast::rate_limit(ORDERS)]
async fn stacked(id: &str) -> Result<String, Status> {
    Ok(id.to_owned())
}

#[steadfast::concurrency_limit(DB)]
#[steadfast::hedge(max = 2, delay = 10ms)]
async fn hedged(id: &str) -> Result<String, Status> {
    Ok(id.to_owned())
}

#[steadfast::rate_limit(rate = 50/s, burst = 10, queue = 500ms, warm_up = 10s)]
#[steadfast::concurrency_limit(max = 8, queue = 100ms)]
async fn own_limits(id: u32) -> Result<u32, Status> {
    Ok(id)
}

#[steadfast::rate_limit(rate = "3000/m")]
#[steadfast::rate_limit(rate = 5/100ms)]
fn own_blocking(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

static PER_USER: steadfast::KeyedRateLimiter =
    steadfast::KeyedRateLimiter::new(RateLimiter::per_second(5));

#[steadfast::rate_limit(PER_USER, key = user.as_str())]
#[steadfast::rate_limit(rate = 100/s, key = (user.len(), id))]
async fn keyed(user: String, id: u32) -> Result<u32, Status> {
    Ok(id + user.len() as u32)
}

#[tonic::async_trait]
trait Orders: Send + Sync + 'static {
    async fn create(&self, request: Request<u32>) -> Result<Response<u32>, Status>;
}

struct Svc {
    rate: Arc<RateLimiter>,
    places: ConcurrencyLimit,
}

#[tonic::async_trait]
impl Orders for Svc {
    #[steadfast::rate_limit(self.rate)]
    #[steadfast::concurrency_limit(self.places)]
    async fn create(&self, request: Request<u32>) -> Result<Response<u32>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let svc = Svc {
        rate: Arc::new(RateLimiter::per_second(10)),
        places: ConcurrencyLimit::new(4),
    };
    assert_send(&svc.create(Request::new(1)));
    assert_send(&create_order(1));
    assert_send(&stacked("a"));
    assert_send(&hedged("a"));
    let _ = blocking(1);
    assert_send(&own_limits(1));
    assert_send(&keyed(String::new(), 1));
    let _ = own_blocking(1);
}
