use tonic::Status;

// `__driven_by` is written by code generated with `from_config`, alone.
#[steadfast::retry(__driven_by = policy, max = 3)]
async fn call(policy: &steadfast::config::CallPolicy) -> Result<(), Status> {
    let _ = policy;
    Ok(())
}
fn main() {}
