//! `#[rate_limit(..)]` and `#[concurrency_limit(..)]`'s arguments: a shared
//! limit (`ORDERS`, or any expression of type `RateLimiter` /
//! `ConcurrencyLimit`, a reference to one or an `Arc` of one).

use proc_macro2::{Span, TokenStream};
use syn::parse::ParseStream;
use syn::Expr;

use crate::attr::Kind;

/// A validated `#[rate_limit]` or `#[concurrency_limit]`.
pub(crate) struct LimitArgs {
    /// The limit the calls share.
    pub(crate) shared: Expr,
}

impl LimitArgs {
    pub(crate) fn parse(kind: Kind, args: TokenStream, span: Span) -> syn::Result<Self> {
        let (name, example, ty) = match kind {
            Kind::ConcurrencyLimit => (
                "concurrency_limit",
                "`#[concurrency_limit(DB)]`",
                "`static DB: ConcurrencyLimit = ConcurrencyLimit::new(32);`",
            ),
            _ => (
                "rate_limit",
                "`#[rate_limit(ORDERS)]`",
                "`static ORDERS: RateLimiter = RateLimiter::per_second(50);`",
            ),
        };
        if args.is_empty() {
            return Err(syn::Error::new(
                span,
                format!("`#[{name}]` needs a limit, as in {example}, naming a {ty}"),
            ));
        }
        syn::parse::Parser::parse2(
            |input: ParseStream<'_>| {
                if input.peek(syn::Ident)
                    && input.peek2(syn::Token![=])
                    && !input.peek2(syn::Token![==])
                {
                    let key: syn::Ident = input.parse()?;
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "`{key}`: a limit of the function's own is not supported yet; declare {ty} and name it, as in {example}"
                        ),
                    ));
                }
                let shared: Expr = input.parse()?;
                if !input.is_empty() {
                    return Err(
                        input.error(format!("`#[{name}]` takes one limit, as in {example}"))
                    );
                }
                Ok(Self { shared })
            },
            args,
        )
    }
}
