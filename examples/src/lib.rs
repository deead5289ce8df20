//! Shared pieces of the examples, tests and benchmarks: the seed's
//! `UserService` (generated from `proto/user.proto`) and a server for it
//! whose faults are scripted.

#[cfg(feature = "otel")]
pub mod chain;
pub mod faulty;
pub mod live;
#[cfg(feature = "redis")]
pub mod redis_server;

/// The generated messages, client, server and `ResilientUserServiceClient`
/// of `proto/user.proto`.
#[allow(missing_docs, clippy::all, unreachable_pub)]
pub mod user {
    steadfast::include_proto!("user");
}

/// `proto/catalog.proto`: every kind of RPC, a keyword name, a deprecated
/// method, and a service config with `retryThrottling`.
#[allow(missing_docs, clippy::all, unreachable_pub)]
pub mod catalog {
    pub mod v1 {
        steadfast::include_proto!("catalog.v1");
    }
}

/// Says on stderr when this build has feature `otel` (steadfast's
/// `opentelemetry`, about 2.4k instructions a generated call with no
/// provider): the benchmarks measure steadfast's default build when built
/// with `--no-default-features`.
///
/// ```
/// steadfast_examples::note_features();
/// ```
pub fn note_features() {
    if cfg!(feature = "otel") {
        eprintln!(
            "note: built with feature `otel` (steadfast's `opentelemetry` on); \
             add --no-default-features to measure steadfast's default build"
        );
    }
}
