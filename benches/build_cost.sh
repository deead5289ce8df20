#!/usr/bin/env bash
# Clean-build time of a crate generating UserService from examples/proto/user.proto:
# once with plain protox + tonic-prost-build, once with steadfast-build (the same
# proto, the same dependencies otherwise). Each build starts from an empty target
# directory. Usage: bash benches/build_cost.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

make_crate() { # name build-deps build.rs
  local dir="$work/$1"
  mkdir -p "$dir/src" "$dir/proto/steadfast"
  cp "$root/examples/proto/user.proto" "$dir/proto/"
  cp "$root/build-support/proto/steadfast/options.proto" "$dir/proto/steadfast/"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
steadfast = { path = "$root/runtime" }
tonic = { version = "0.14.9", features = ["transport", "codegen"] }
tonic-prost = "0.14.9"
prost = "0.14.1"

[build-dependencies]
$2
TOML
  printf '%s\n' "$3" > "$dir/build.rs"
  printf 'pub mod user { tonic::include_proto!("user"); }\n' > "$dir/src/lib.rs"
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
}

make_crate plain_tonic 'protox = "0.10"
tonic-prost-build = "0.14.9"' 'fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(["proto/user.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}'
make_crate with_steadfast "steadfast-build = { path = \"$root/build-support\" }" 'fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_build::configure().compile(&["proto/user.proto"], &["proto"])?;
    Ok(())
}'

for name in plain_tonic with_steadfast; do
  (cd "$work/$name" && cargo fetch -q)
  start=$(date +%s%N)
  (cd "$work/$name" && CARGO_TARGET_DIR="$work/target-$name" cargo build -q)
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf '%s: %d.%01d s\n' "$name" $((ms / 1000)) $(((ms % 1000) / 100))
done
