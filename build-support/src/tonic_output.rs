//! What this crate reads of the code tonic-prost-build generates, in one
//! place: the resilient client wraps tonic's and names what tonic named, so
//! each reading below must be re-checked when tonic is upgraded (with the
//! runtime's `tonic::mirror` list; `tests/tests/tonic_upgrade.rs` fails on
//! a tonic version these were not checked against, 0.14.9 last):
//!
//! - [`module_name`]: how tonic names a service's client module
//!   (`<snake>_client`) and client type (`<Name>Client`);
//! - [`wrote_client`]: the line that opens that module, absent under
//!   `build_client(false)`;
//! - [`wrote_connect`]: tonic writes `connect` only with its transport
//!   (`build_transport`);
//! - [`encodes_with`]: each method makes its codec as
//!   `let codec = <path>::default();`, the path being `codec_path`'s;
//! - the client's methods are named as the proto's, snake-cased by prost
//!   (`Method::name`), and take `impl IntoRequest` / `impl
//!   IntoStreamingRequest` as the generated wrapper does (`codegen.rs`).

/// The module name tonic gives a service's client (`UserService` ->
/// `user_service`): tonic's own rule, which differs from heck's on runs of
/// capitals (`HTTPProxy` -> `h_t_t_p_proxy`).
pub(crate) fn module_name(service: &str) -> String {
    let mut out = String::with_capacity(service.len() + 4);
    let mut chars = service.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|next| next.is_uppercase()) {
            out.push('_');
        }
    }
    out
}

/// Whether tonic's `code` for `service` holds its client (not written
/// under `build_client(false)`).
pub(crate) fn wrote_client(code: &str, service: &str) -> bool {
    code.contains(&format!("pub mod {}_client", module_name(service)))
}

/// Whether tonic wrote a `connect` for the client (with its transport).
pub(crate) fn wrote_connect(code: &str) -> bool {
    code.contains("pub async fn connect")
}

/// Whether every method of tonic's `code` encodes with `codec` (a path).
pub(crate) fn encodes_with(code: &str, codec: &str) -> bool {
    code.matches("let codec = ").count()
        == code
            .matches(&format!("let codec = {codec}::default();"))
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_tonic() {
        assert_eq!(module_name("UserService"), "user_service");
        assert_eq!(module_name("Publisher"), "publisher");
        assert_eq!(module_name("HTTPProxy"), "h_t_t_p_proxy");
    }
}
