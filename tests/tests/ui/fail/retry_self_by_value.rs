struct Client;

impl Client {
    #[steadfast::retry(max = 3)]
    async fn call(self) -> Result<(), tonic::Status> { Ok(()) }
}
fn main() {}
