// A body that does not parse gets rustc's own error, not the attribute's.
#[steadfast::retry(max = 3)]
async fn call() -> Result<u32, std::io::Error> {
    let x = 1 +;
    Ok(x)
}
fn main() {}
