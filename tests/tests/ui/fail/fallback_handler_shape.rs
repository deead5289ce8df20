use tonic::Status;

#[derive(Clone)]
struct Order;

fn too_few(_: &Order, _: Status) -> Result<u32, Status> {
    Ok(0)
}

#[steadfast::fallback(too_few)]
async fn create_order(order: Order, note: &str) -> Result<u32, Status> {
    let _ = (order, note);
    Ok(1)
}

fn by_value(_: Order, _: Status) -> Result<u32, Status> {
    Ok(0)
}

#[steadfast::fallback(by_value)]
async fn cancel_order(order: Order) -> Result<u32, Status> {
    let _ = order;
    Ok(1)
}

fn other_answer(_: Status) -> Result<String, Status> {
    Ok(String::new())
}

#[steadfast::fallback(other_answer)]
async fn count_orders() -> Result<u32, Status> {
    Ok(1)
}

fn main() {}
