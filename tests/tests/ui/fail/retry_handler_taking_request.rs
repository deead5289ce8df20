// A tonic handler's `Request` is not `Clone`: it cannot go to several attempts.
use tonic::{Request, Response, Status};

#[tonic::async_trait]
trait Users: Send + Sync + 'static {
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status>;
}

struct Svc;

#[tonic::async_trait]
impl Users for Svc {
    #[steadfast::retry(max = 2)]
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

fn main() {}
