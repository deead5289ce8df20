//! Compiles the protos with `steadfast-build`: protox (no protoc), tonic's
//! code, and a `Resilient<Name>Client` for each service with its policy.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_build::configure()
        .service_config("proto/catalog_service_config.json")
        .compile(&["proto/user.proto", "proto/catalog.proto"], &["proto"])?;
    Ok(())
}
