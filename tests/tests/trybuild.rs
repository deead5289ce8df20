//! Compile-time behaviour of the attributes (`#[retry]`, `#[deadline]`, `#[circuit_breaker]`,
//! `#[hedge]`, `#[rate_limit]`, `#[concurrency_limit]`): every supported
//! signature compiles, and every mistake is an error on the token to change.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p steadfast-tests --test trybuild`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
