async fn later(_: std::io::Error) -> std::io::Result<u32> {
    Ok(0)
}

#[steadfast::fallback(later)]
fn read() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
