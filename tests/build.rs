//! Compiles `proto/retry_testing.proto` twice with `steadfast-build`, once
//! under each service config grpc-go's retry tests use (each build makes
//! the clients of the services its config names), and `proto/limits.proto`
//! (flow control in proto options), twice: the second time with
//! `from_config`, for clients made from a settings file.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    for (config, dir) in [
        ("proto/retry_unary_config.json", "unary"),
        ("proto/retry_throttling_config.json", "throttled"),
    ] {
        let dir = out.join(dir);
        std::fs::create_dir_all(&dir)?;
        steadfast_build::configure()
            .service_config(config)
            .out_dir(&dir)
            .compile(&["proto/retry_testing.proto"], &["proto"])?;
    }
    let dir = out.join("limits");
    std::fs::create_dir_all(&dir)?;
    steadfast_build::configure()
        .out_dir(&dir)
        .compile(&["proto/limits.proto"], &["proto"])?;
    // The same clients made from a settings file (`from_config`).
    let dir = out.join("configured");
    std::fs::create_dir_all(&dir)?;
    steadfast_build::configure()
        .from_config(true)
        .out_dir(&dir)
        .compile(&["proto/limits.proto"], &["proto"])?;
    Ok(())
}
