//! Duration arguments: a literal with a unit (`2s`, `1.5s`) or `= expr`.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::parse::ParseStream;
use syn::{Expr, Lit};

/// A duration as the expansion will write it, and its value when it is a literal.
#[derive(Clone)]
pub(crate) struct DurationArg {
    pub(crate) tokens: TokenStream,
    pub(crate) literal: Option<std::time::Duration>,
    pub(crate) span: Span,
}

impl DurationArg {
    pub(crate) fn from_literal(value: std::time::Duration, span: Span) -> Self {
        let (secs, nanos) = (value.as_secs(), value.subsec_nanos());
        Self {
            tokens: quote_spanned!(span=> ::core::time::Duration::new(#secs, #nanos)),
            literal: Some(value),
            span,
        }
    }
}

/// Parses a duration: a literal with a unit (`2s`, `150ms`, `1.5s`), or
/// any expression of type `Duration`, optionally after `=` (`= BUDGET`).
pub(crate) fn parse(input: ParseStream<'_>) -> syn::Result<DurationArg> {
    if input.peek(syn::Token![=]) {
        input.parse::<syn::Token![=]>()?;
    }
    if input.peek(syn::Token![-]) {
        let minus: syn::Token![-] = input.parse()?;
        return Err(syn::Error::new(minus.span, "durations cannot be negative"));
    }
    let expr: Expr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a duration such as `2s`, `150ms`, or an expression of type `Duration`",
        )
    })?;
    if let Expr::Lit(syn::ExprLit { lit, .. }) = &expr {
        return literal(lit);
    }
    let span = syn::spanned::Spanned::span(&expr);
    Ok(DurationArg {
        tokens: quote_spanned!(span=> { let __steadfast_duration: ::core::time::Duration = #expr; __steadfast_duration }),
        literal: None,
        span,
    })
}

fn literal(lit: &Lit) -> syn::Result<DurationArg> {
    let span = lit.span();
    let text = match lit {
        Lit::Int(i) => i.to_string(),
        Lit::Float(f) => f.to_string(),
        Lit::Str(s) => s.value(),
        _ => {
            return Err(syn::Error::new(
                span,
                "expected a duration such as `2s` or `150ms`",
            ))
        }
    };
    let text = text.replace('_', "");
    steadfast_grammar::parse(&text)
        .map(|d| DurationArg::from_literal(d, span))
        .map_err(|e| syn::Error::new(span, e))
}
