//! Issue 9, finding 1: coercions at `return` and at the tail, and `?`
//! conversions, mean what they mean without the attributes.
use std::error::Error;
use std::fmt;

#[derive(Debug)]
struct MyError;

impl fmt::Display for MyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mine")
    }
}

impl Error for MyError {}

type BoxError = Box<dyn Error + Send + Sync>;

#[steadfast::retry(max = 2, backoff = "none")]
async fn tail(fail: bool) -> Result<(), BoxError> {
    if fail {
        return Err(Box::new(MyError));
    }
    Err(Box::new(MyError))
}

#[steadfast::deadline(1s)]
async fn tail_deadline(fail: bool) -> Result<u32, Box<dyn Error + Send + Sync>> {
    if fail {
        return Err(Box::new(MyError));
    }
    Err(Box::new(MyError))
}

#[steadfast::deadline(1s)]
#[steadfast::retry(max = 2, backoff = "none")]
async fn question_mark(text: &str) -> Result<u32, BoxError> {
    let n: u32 = text.parse()?;
    Ok(n)
}

#[steadfast::retry(max = 2, backoff = "none")]
async fn impl_trait_output() -> Result<impl fmt::Display, BoxError> {
    Ok(3)
}

#[steadfast::retry(max = 2, backoff = "none")]
fn blocking(fail: bool) -> Result<(), Box<dyn Error>> {
    if fail {
        return Err(Box::new(MyError));
    }
    Err(Box::new(MyError))
}

fn main() {
    let _ = (tail(true), tail_deadline(false), question_mark("1"), impl_trait_output(), blocking(false));
}
