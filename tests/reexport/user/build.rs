fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_build::configure()
        .crate_path("::platform::steadfast")
        .compile(
            &["../../minimal-user/proto/hello.proto"],
            &["../../minimal-user/proto"],
        )?;
    Ok(())
}
