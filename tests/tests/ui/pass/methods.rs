use steadfast::retry;
use tonic::Status;

struct Client { calls: u32 }

impl Client {
    #[retry(max = 3)]
    async fn by_ref(&self) -> Result<u32, Status> { Ok(self.calls) }

    #[retry(max = 3)]
    async fn by_mut(&mut self) -> Result<u32, Status> { self.calls += 1; Ok(self.calls) }

    #[steadfast::deadline(1s)]
    async fn deadline_by_value(self) -> Result<u32, Status> { Ok(self.calls) }

    #[retry(max = 3)]
    fn blocking_mut(&mut self, n: u32) -> Result<u32, std::io::Error> { self.calls += n; Ok(self.calls) }
}

trait Api {
    async fn get(&mut self, id: String) -> Result<String, Status>;
}

impl Api for Client {
    #[retry(max = 2)]
    #[steadfast::deadline(500ms)]
    async fn get(&mut self, id: String) -> Result<String, Status> { self.calls += 1; Ok(id) }
}

fn main() {
    let mut c = Client { calls: 0 };
    let _ = c.blocking_mut(1);
    let _ = async move {
        let _ = c.by_ref().await;
        let _ = c.by_mut().await;
        let _ = c.get("x".into()).await;
        let _ = c.deadline_by_value().await;
    };
}
