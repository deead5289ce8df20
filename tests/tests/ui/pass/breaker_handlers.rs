//! `#[circuit_breaker]` on the methods of a `#[tonic::async_trait]` impl
//! (every tonic server handler) and beside the other attributes; the
//! futures stay `Send`.
use std::sync::Arc;

use steadfast::CircuitBreaker;
use tonic::{Request, Response, Status};

static DOWNSTREAM: CircuitBreaker = CircuitBreaker::new().failure_count(5);

#[tonic::async_trait]
trait Users: Send + Sync + 'static {
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status>;
    async fn count(&self, page: u32) -> Result<u32, Status>;
    async fn own(&self) -> Result<u32, Status>;
}

struct Svc {
    breaker: Arc<CircuitBreaker>,
}

#[tonic::async_trait]
impl Users for Svc {
    #[steadfast::deadline(1s)]
    #[steadfast::circuit_breaker(DOWNSTREAM)]
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    #[steadfast::retry(max = 3, backoff = "none")]
    #[steadfast::circuit_breaker(self.breaker)]
    async fn count(&self, page: u32) -> Result<u32, Status> {
        Ok(page)
    }

    #[steadfast::circuit_breaker(failure_ratio = 0.5, min_calls = 10, open_for = 1s)]
    async fn own(&self) -> Result<u32, Status> {
        Ok(1)
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let svc = Svc {
        breaker: Arc::new(CircuitBreaker::new()),
    };
    let f = svc.get(Request::new(String::new()));
    assert_send(&f);
    let g = svc.count(1);
    assert_send(&g);
    let h = svc.own();
    assert_send(&h);
}
