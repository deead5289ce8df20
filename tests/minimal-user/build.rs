fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_build::configure().compile(&["proto/hello.proto"], &["proto"])?;
    Ok(())
}
