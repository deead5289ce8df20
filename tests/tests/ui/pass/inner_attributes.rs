//! Issue 9, finding 2: inner attributes at the top of an annotated body
//! stay at the top of the body.
#![deny(unused_variables)]

#[steadfast::retry(max = 2)]
async fn retried() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

#[steadfast::deadline(1s)]
#[steadfast::retry(max = 2)]
async fn both() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

#[steadfast::retry(max = 2)]
fn blocking() -> Result<(), std::io::Error> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(())
}

fn main() {
    let _ = (retried(), both(), blocking());
}
