//! `#[fallback]` with every handler shape (the error alone, or the
//! parameters by reference then the error; sync or async; a free function
//! or a method), on free functions, blocking functions, methods and the
//! methods of a `#[tonic::async_trait]` impl, stacked with the other
//! attributes in any order; by-value parameters that are not `Clone` are
//! fine when the handler takes the error alone; the futures stay `Send`.
use std::time::Duration;

use steadfast::{ConcurrencyLimit, RateLimiter};
use tonic::{Request, Response, Status};

static ORDERS: RateLimiter = RateLimiter::per_second(50).queue(Duration::from_millis(500));
static DB: ConcurrencyLimit = ConcurrencyLimit::new(32);

/// Not `Clone`.
struct Payload(Vec<u8>);

#[derive(Clone)]
struct OrderRequest {
    user: String,
}

fn busy(_: Status) -> Result<u32, Status> {
    Ok(0)
}

async fn busy_later(_: Status) -> Result<u32, Status> {
    Ok(0)
}

fn order_busy(request: &OrderRequest, note: &str, _: Status) -> Result<u32, Status> {
    Ok((request.user.len() + note.len()) as u32)
}

async fn order_busy_later(request: &OrderRequest, note: &str, _: Status) -> Result<u32, Status> {
    Ok((request.user.len() + note.len()) as u32)
}

fn is_unavailable(status: &Status) -> bool {
    status.code() == tonic::Code::Unavailable
}

#[steadfast::fallback(busy)]
#[steadfast::rate_limit(ORDERS)]
async fn error_only(payload: Payload) -> Result<u32, Status> {
    Ok(payload.0.len() as u32)
}

#[steadfast::fallback(busy_later, when = is_unavailable)]
#[steadfast::concurrency_limit(DB)]
async fn error_only_async(mut payload: Payload) -> Result<u32, Status> {
    payload.0.push(1);
    Ok(payload.0.len() as u32)
}

#[steadfast::fallback(order_busy)]
#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3)]
#[steadfast::rate_limit(ORDERS)]
async fn with_params(request: OrderRequest, note: &str) -> Result<u32, Status> {
    Ok(request.user.len() as u32 + note.len() as u32)
}

#[steadfast::retry(max = 3)]
#[steadfast::fallback(order_busy_later)]
#[steadfast::circuit_breaker(failures = 5)]
async fn below_retry(mut request: OrderRequest, note: &str) -> Result<u32, Status> {
    request.user.push('!');
    Ok(request.user.len() as u32 + note.len() as u32)
}

#[steadfast::fallback(order_busy)]
#[steadfast::hedge(max = 2, delay = 10ms)]
#[steadfast::concurrency_limit(DB)]
async fn above_hedge(request: OrderRequest, note: &str) -> Result<u32, Status> {
    Ok(request.user.len() as u32 + note.len() as u32)
}

#[steadfast::fallback(busy)]
#[steadfast::fallback(order_busy)]
#[steadfast::rate_limit(ORDERS)]
async fn twice(request: OrderRequest, note: &str) -> Result<u32, Status> {
    Ok(request.user.len() as u32 + note.len() as u32)
}

#[steadfast::fallback(busy)]
async fn no_parameters() -> Result<u32, Status> {
    Ok(1)
}

fn io_busy(id: &u32, _: std::io::Error) -> std::io::Result<u32> {
    Ok(*id)
}

#[steadfast::fallback(io_busy)]
#[steadfast::rate_limit(ORDERS)]
fn blocking(id: u32) -> std::io::Result<u32> {
    Ok(id)
}

struct Shop;

impl Shop {
    fn closed(&self, id: &u32, _: Status) -> Result<u32, Status> {
        Ok(*id)
    }

    async fn closed_later(&self, _: Status) -> Result<u32, Status> {
        Ok(0)
    }

    #[steadfast::fallback(Self::closed)]
    #[steadfast::rate_limit(ORDERS)]
    async fn order(&mut self, id: u32) -> Result<u32, Status> {
        Ok(id)
    }

    #[steadfast::fallback(busy)]
    #[steadfast::rate_limit(ORDERS)]
    async fn error_only(&self, id: u32) -> Result<u32, Status> {
        Ok(id)
    }

    #[steadfast::fallback(Shop::closed_later)]
    #[steadfast::rate_limit(ORDERS)]
    async fn ping(&self) -> Result<u32, Status> {
        Ok(1)
    }
}

#[tonic::async_trait]
trait Orders: Send + Sync + 'static {
    async fn create(&self, request: Request<u32>) -> Result<Response<u32>, Status>;
    async fn cancel(&self, id: u32) -> Result<u32, Status>;
}

struct Svc;

impl Svc {
    fn refused(&self, id: &u32, _: Status) -> Result<u32, Status> {
        Ok(*id)
    }
}

fn refused(_: Status) -> Result<Response<u32>, Status> {
    Ok(Response::new(0))
}

#[tonic::async_trait]
impl Orders for Svc {
    #[steadfast::fallback(refused)]
    #[steadfast::rate_limit(ORDERS)]
    async fn create(&self, request: Request<u32>) -> Result<Response<u32>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    #[steadfast::fallback(Self::refused)]
    #[steadfast::rate_limit(ORDERS)]
    async fn cancel(&self, mut id: u32) -> Result<u32, Status> {
        id += 1;
        Ok(id)
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let request = OrderRequest { user: "a".into() };
    assert_send(&error_only(Payload(Vec::new())));
    assert_send(&error_only_async(Payload(Vec::new())));
    assert_send(&with_params(request.clone(), "n"));
    assert_send(&below_retry(request.clone(), "n"));
    assert_send(&above_hedge(request.clone(), "n"));
    assert_send(&twice(request, "n"));
    assert_send(&no_parameters());
    let _ = blocking(1);
    let mut shop = Shop;
    assert_send(&shop.order(1));
    assert_send(&shop.error_only(1));
    assert_send(&shop.ping());
    assert_send(&Svc.create(Request::new(1)));
    assert_send(&Svc.cancel(1));
}
