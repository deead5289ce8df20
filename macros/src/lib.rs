//! The `#[retry]`, `#[deadline]`, `#[circuit_breaker]`, `#[hedge]`, `#[rate_limit]`,
//! `#[concurrency_limit]` and `#[fallback]` attributes. Documented and re-exported
//! by the `steadfast` crate: depend on that, not on this.
//!
//! Parse → validate → expand: `item` takes the function apart, `attr`
//! parses each attribute's arguments, `valid` checks them against each
//! other and the function, `expand` writes the code; `entry` runs the
//! pipeline.
#![forbid(unsafe_code)]

mod attr;
mod breaker;
mod duration;
mod entry;
mod expand;
mod fallback;
mod hedge;
mod item;
mod keys;
mod limit;
mod runtime;
mod suggest;
#[cfg(test)]
mod tests;
mod valid;

use proc_macro::TokenStream;

/// See `steadfast::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Retry, args.into(), item.into()).into()
}

/// See `steadfast::circuit_breaker`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::CircuitBreaker, args.into(), item.into()).into()
}

/// See `steadfast::hedge`.
#[proc_macro_attribute]
pub fn hedge(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Hedge, args.into(), item.into()).into()
}

/// See `steadfast::rate_limit`.
#[proc_macro_attribute]
pub fn rate_limit(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::RateLimit, args.into(), item.into()).into()
}

/// See `steadfast::concurrency_limit`.
#[proc_macro_attribute]
pub fn concurrency_limit(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::ConcurrencyLimit, args.into(), item.into()).into()
}

/// See `steadfast::fallback`.
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Fallback, args.into(), item.into()).into()
}

/// What `steadfast-build` puts on a generated client's method: the gRPC
/// method it calls, for the names and fields of its spans. Not for hand use.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __rpc(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Rpc, args.into(), item.into()).into()
}

/// See `steadfast::deadline`.
#[proc_macro_attribute]
pub fn deadline(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Deadline, args.into(), item.into()).into()
}
