use std::fmt::Display;

use steadfast::retry;
use tonic::Status;

#[retry(max = 2)]
async fn generic<'a, T: Clone + Send, U>(value: T, label: &'a str, _u: U) -> Result<(T, &'a str), Status>
where
    U: Clone,
{
    Ok((value, label))
}

#[retry(max = 2)]
async fn impl_trait_argument(key: impl AsRef<str> + Clone) -> Result<usize, Status> {
    Ok(key.as_ref().len())
}

#[retry(max = 2)]
fn impl_trait_return(n: u32) -> Result<impl Display, std::io::Error> {
    Ok(n)
}

#[retry(max = 2)]
async fn patterns((a, b): (u32, u32), mut acc: Vec<u32>) -> Result<Vec<u32>, Status> {
    acc.push(a + b);
    Ok(acc)
}

#[retry(max = 2)]
async fn question_mark(s: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let n: u32 = s.parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    Ok(n)
}

fn main() {
    let _ = (generic(1u8, "x", ()), impl_trait_argument("k"), patterns((1, 2), vec![]), question_mark("1"));
    let _ = impl_trait_return(1).map(|d| d.to_string());
}
