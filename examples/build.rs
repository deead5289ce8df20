//! Compiles the protos with `resilient-build`: protox (no protoc), tonic's
//! code, and a `Resilient<Name>Client` for each service with its policy.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    resilient_build::configure()
        .service_config("proto/catalog_service_config.json")
        .compile(&["proto/user.proto", "proto/catalog.proto"], &["proto"])?;
    Ok(())
}
