use tonic::Status;

fn busy(_: Status) -> Result<u32, Status> {
    Ok(0)
}

#[steadfast::fallback(busy)]
async fn pair((a, b): (u32, u32)) -> Result<u32, Status> {
    Ok(a + b)
}

struct Shop;

impl Shop {
    #[steadfast::fallback(busy)]
    async fn close(self) -> Result<u32, Status> {
        Ok(1)
    }
}

#[steadfast::fallback(busy)]
async fn not_a_result() -> u32 {
    1
}

fn main() {}
