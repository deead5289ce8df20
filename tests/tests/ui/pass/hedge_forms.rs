//! `#[hedge]` on the shapes users write: by-value and destructured
//! parameters (cloned per attempt), generics, `impl Trait`, `&self`
//! methods and `#[tonic::async_trait]` handlers; the futures stay `Send`.
use tonic::{Request, Response, Status};

#[steadfast::hedge(max = 3, delay = 10ms, on = [Unavailable, ResourceExhausted])]
async fn by_value(name: String, (a, b): (u32, u32), tags: Vec<String>) -> Result<usize, Status> {
    Ok(name.len() + (a + b) as usize + tags.len())
}

#[steadfast::hedge(max = 2, delay = "p99.9")]
async fn generic<T: Clone + Send + Sync + std::fmt::Debug>(value: T, label: impl AsRef<str> + Clone + Send + Sync) -> Result<String, std::io::Error> {
    Ok(format!("{}{value:?}", label.as_ref()))
}

#[steadfast::deadline(1s)]
#[steadfast::hedge(max = 2, delay = std::time::Duration::from_millis(5))]
#[steadfast::retry(max = 2, backoff = "none")]
async fn stacked(id: u64) -> Result<u64, Status> {
    Ok(id)
}

#[tonic::async_trait]
trait Users: Send + Sync + 'static {
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status>;
}

struct Svc;

impl Svc {
    #[steadfast::hedge(max = 2, delay = 20ms)]
    async fn lookup(&self, id: &str) -> Result<String, Status> {
        Ok(id.to_owned())
    }
}

#[tonic::async_trait]
impl Users for Svc {
    async fn get(&self, request: Request<String>) -> Result<Response<String>, Status> {
        let name = self.lookup(request.get_ref()).await?;
        Ok(Response::new(name))
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let f = by_value(String::new(), (1, 2), vec![]);
    assert_send(&f);
    let g = generic(1u8, "x");
    assert_send(&g);
    assert_send(&stacked(1));
    let svc = Svc;
    assert_send(&svc.lookup("a"));
}
