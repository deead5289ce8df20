//! The `#[retry]` and `#[deadline]` attributes. Documented and re-exported
//! by the `resilient` crate: depend on that, not on this.
#![forbid(unsafe_code)]

mod args;
mod chain;
mod duration;
mod expand;
mod suggest;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// See `resilient::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    chain::expand(chain::Kind::Retry, args.into(), item.into()).into()
}

/// See `resilient::deadline`.
#[proc_macro_attribute]
pub fn deadline(args: TokenStream, item: TokenStream) -> TokenStream {
    chain::expand(chain::Kind::Deadline, args.into(), item.into()).into()
}
