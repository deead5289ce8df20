#[steadfast::circuit_breaker(throttle = 0.5)]
async fn below_one() -> Result<(), tonic::Status> {
    Ok(())
}

#[steadfast::circuit_breaker(throttle = 2.0, failure_ratio = 0.5)]
async fn with_a_breaker_rule() -> Result<(), tonic::Status> {
    Ok(())
}

fn main() {}
