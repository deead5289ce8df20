use tonic::Status;

#[steadfast::hedge(max = 6, delay = "p100")]
async fn a() -> Result<(), Status> { Ok(()) }

#[steadfast::hedge(max = 2)]
async fn b() -> Result<(), Status> { Ok(()) }

#[steadfast::hedge(max = 2, dealy = 10ms)]
async fn c() -> Result<(), Status> { Ok(()) }
fn main() {}
