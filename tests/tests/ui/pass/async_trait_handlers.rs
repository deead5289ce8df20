//! Issue 9, finding 3: the attributes on methods of a `#[tonic::async_trait]`
//! impl, the shape of every tonic server handler; the futures stay `Send`.
use tonic::{Request, Response, Status};

#[tonic::async_trait]
trait Users: Send + Sync + 'static {
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status>;
    async fn count(&self, page: u32) -> Result<u32, Status>;
    async fn bump(&mut self, by: u32, label: String) -> Result<u32, Status>;
}

struct Svc {
    n: u32,
}

#[tonic::async_trait]
impl Users for Svc {
    /// Answers inside a second.
    #[steadfast::deadline(1s)]
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status> {
        #![allow(unused_variables)]
        let unused = ();
        Ok(Response::new(request.into_inner()))
    }

    #[steadfast::deadline(2s)]
    #[steadfast::retry(max = 3, backoff = "none")]
    async fn count(&self, page: u32) -> Result<u32, Status> {
        Ok(page + self.n)
    }

    #[steadfast::retry(max = 2, backoff = "none")]
    async fn bump(&mut self, by: u32, mut label: String) -> Result<u32, Status> {
        label.push('!');
        self.n += by;
        Ok(self.n)
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let svc = Svc { n: 0 };
    let f = svc.get(Request::new(String::new()));
    assert_send(&f);
    let g = svc.count(1);
    assert_send(&g);
}
