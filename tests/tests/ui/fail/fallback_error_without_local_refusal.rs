#[derive(Debug)]
struct MyError;

fn recover(_: MyError) -> Result<u32, MyError> {
    Ok(0)
}

#[steadfast::fallback(recover)]
async fn fetch() -> Result<u32, MyError> {
    Ok(1)
}

fn main() {}
