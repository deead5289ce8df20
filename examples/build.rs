//! Compiles `proto/user.proto` with `resilient-build`: protox (no protoc),
//! tonic's code, and `ResilientUserServiceClient` with the proto's policy.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    resilient_build::configure().compile(&["proto/user.proto"], &["proto"])?;
    Ok(())
}
