//! End-to-end and compile-time tests of `steadfast`. The library holds only
//! the code `build.rs` generates for them: grpc-go's retry test services
//! (`proto/retry_testing.proto`), under each service config they run with,
//! and the flow-control options' (`proto/limits.proto`).

/// Built under `proto/retry_unary_config.json`: `Unary` retries
/// `ALREADY_EXISTS`, `Streaming` `UNAVAILABLE`, 4 attempts 10 ms apart.
pub mod unary {
    include!(concat!(env!("OUT_DIR"), "/unary/retry.testing.rs"));
}

/// Built under `proto/retry_throttling_config.json`: `Throttled` retries
/// `UNAVAILABLE` under A6 throttling (10 tokens, 0.5 back per success).
pub mod throttled {
    include!(concat!(env!("OUT_DIR"), "/throttled/retry.testing.rs"));
}

/// `proto/limits.proto`: flow control in proto options.
pub mod limits {
    include!(concat!(env!("OUT_DIR"), "/limits/limits.testing.rs"));
}

/// `proto/limits.proto` built with `from_config`: clients made from a
/// settings file.
pub mod configured {
    include!(concat!(env!("OUT_DIR"), "/configured/limits.testing.rs"));
}
