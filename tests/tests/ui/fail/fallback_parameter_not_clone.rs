use tonic::Status;

struct Ticket;

fn sold_out(_: &Ticket, _: Status) -> Result<u32, Status> {
    Ok(0)
}

#[steadfast::fallback(sold_out)]
async fn book(ticket: Ticket) -> Result<u32, Status> {
    let _ = ticket;
    Ok(1)
}

fn main() {}
