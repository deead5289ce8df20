//! Issue 9, finding 2: inner attributes at the top of an annotated body
//! stay at the top of the body.
#![deny(unused_variables)]

#[resilient::retry(max = 2)]
async fn retried() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

#[resilient::deadline(1s)]
#[resilient::retry(max = 2)]
async fn both() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

#[resilient::retry(max = 2)]
fn blocking() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

fn main() {
    let _ = (retried(), both(), blocking());
}
