struct Ticket;

#[steadfast::retry(max = 3)]
async fn call(ticket: Ticket) -> Result<(), tonic::Status> { let _ = ticket; Ok(()) }
fn main() {}
