//! Where this crate does what tonic does, and must keep doing it alike: the
//! code that copies or guards tonic's own behaviour, in one place, with
//! what to re-check when tonic is upgraded. `tests/tests/tonic_upgrade.rs`
//! fails when the workspace's tonic is not the version this list was last
//! checked against (tonic 0.14.9), and names this module.
//!
//! - [`unary`]: a unary call sent and read without tonic's streaming
//!   machinery. Re-check tonic's `Grpc::unary`/`client_streaming` (the
//!   headers it sends: `te`, `content-type`, `grpc-accept-encoding`,
//!   user-agent; how it frames a message and ends the stream), its
//!   `Streaming` decoder's reading of a response (what it takes for a
//!   trailers-only response, `grpc-encoding`, a missing or repeated
//!   `grpc-status`, HTTP statuses without gRPC headers), and
//!   `Status::from_header_map`. `unary/tests.rs` runs both clients on
//!   scripted and random responses and compares what the caller gets: run
//!   it first.
//! - [`guard`]: what tonic would panic on (0.14: a malformed
//!   `grpc-status-details-bin`, decoded with `.expect`). Re-check
//!   `Status::from_header_map`'s decoding (base64 engine and padding), and
//!   drop the guard once tonic answers it with a status
//!   (`tests/tests/hostile.rs` says so when plain tonic no longer panics).
//! - Elsewhere, named here so that one list holds them:
//!   - `tonic::effective_code` (`tonic/mod.rs`): the errors tonic's
//!     transport makes (`TimeoutExpired` for its expiry of `grpc-timeout`,
//!     `ConnectError`, hyper's canceled request, the "transport error"
//!     `UNKNOWN`) and how `Status::from_error` codes them;
//!   - `tonic::rule::reports_timeout`: tonic's server answers `CANCELLED`
//!     ("Timeout expired") when its copy of the deadline runs out;
//!   - `config/outcome.rs`: `grpc-status` read with `Code::from_bytes`'s
//!     rule (`00` and `014` are `UNKNOWN`), as the caller's status is
//!     tonic's;
//!   - `config/call.rs`'s `enforces_grpc_timeout`: `ServiceConfigLayer`
//!     arms no timer of its own over tonic's `Channel`, whose connection
//!     stack enforces the `grpc-timeout` a request carries (`GrpcTimeout`,
//!     0.14: `transport/channel/service/connection.rs`). Re-check that it
//!     still does, for every request, before its response headers; the
//!     layer's hung-server test in `tests/tests/conformance.rs` runs
//!     through a bare `Channel`;
//!   - steadfast-build's `tonic_output` module: what it reads of
//!     tonic-build's generated code (its list is there).

pub(crate) mod guard;
pub(crate) mod unary;
