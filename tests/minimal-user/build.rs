fn main() -> Result<(), Box<dyn std::error::Error>> {
    resilient_build::configure().compile(&["proto/hello.proto"], &["proto"])?;
    Ok(())
}
