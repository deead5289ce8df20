use tonic::Status;

fn busy(_: Status) -> Result<u32, Status> {
    Ok(0)
}

fn is_unavailable(status: &Status) -> bool {
    status.code() == tonic::Code::Unavailable
}

#[steadfast::fallback]
async fn no_handler() -> Result<u32, Status> {
    Ok(1)
}

#[steadfast::fallback(|_| Ok(0))]
async fn closure_handler() -> Result<u32, Status> {
    Ok(1)
}

#[steadfast::fallback(busy, on = is_unavailable)]
async fn misspelled_when() -> Result<u32, Status> {
    Ok(1)
}

#[steadfast::fallback(busy, when = is_unavailable, when = is_unavailable)]
async fn when_twice() -> Result<u32, Status> {
    Ok(1)
}

fn main() {}
