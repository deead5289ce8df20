use tonic::Status;

struct Client;

impl Client {
    #[steadfast::hedge(max = 2, delay = 10ms)]
    async fn get(&mut self, out: &mut Vec<u8>) -> Result<(), Status> {
        out.push(1);
        Ok(())
    }
}
fn main() {}
