//! Compiles the protos with `steadfast-build`: protox (no protoc), tonic's
//! code, and a `Resilient<Name>Client` for each service with its policy
//! (made from a settings file too, with feature `config`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_build::configure()
        // With feature `config`: `ResilientUserServiceClient::from_config` (the
        // `live_config` example). The benchmarks build without it.
        .from_config(std::env::var_os("CARGO_FEATURE_CONFIG").is_some())
        .service_config("proto/catalog_service_config.json")
        .compile(&["proto/user.proto", "proto/catalog.proto"], &["proto"])?;
    Ok(())
}
