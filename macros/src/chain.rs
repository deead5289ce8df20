//! Stacked attributes. The outermost resilient attribute expands the whole
//! stack at once, innermost first, so that order means what it says:
//! `#[deadline(2s)] #[retry(..)]` is one budget around all attempts, and
//! `#[retry(..)] #[deadline(2s)]` is a deadline inside each attempt.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Attribute, ItemFn, Meta};

use crate::args::RetryArgs;
use crate::duration::{self, DurationArg};
use crate::expand;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Retry,
    Deadline,
}

/// One validated attribute of the stack.
pub(crate) enum Layer {
    Retry(Box<RetryArgs>),
    Deadline(DurationArg),
}

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let name = match kind {
                Kind::Retry => "retry",
                Kind::Deadline => "deadline",
            };
            let error = syn::Error::new(
                Span::call_site(),
                format!("`#[{name}]` goes on a function or method"),
            );
            return with_item(error, item);
        }
    };
    let mut found = vec![(kind, args)];
    function.attrs.retain(|attr| match kind_of(attr) {
        Some(kind) => {
            let args = match &attr.meta {
                Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            found.push((kind, args));
            false
        }
        None => true,
    });

    let mut errors: Option<syn::Error> = None;
    let mut layers = Vec::new();
    for (kind, args) in found {
        let parsed = match kind {
            Kind::Retry => RetryArgs::parse(args).map(|a| Layer::Retry(Box::new(a))),
            Kind::Deadline => parse_deadline(args).map(Layer::Deadline),
        };
        match parsed {
            Ok(layer) => layers.push(layer),
            Err(e) => combine(&mut errors, e),
        }
    }
    if let Err(e) = check_nesting(&layers) {
        combine(&mut errors, e);
    }
    if let Some(error) = errors {
        return with_item(error, function.into_token_stream());
    }
    match expand::function(function.clone(), &layers) {
        Ok(tokens) => tokens,
        Err(error) => with_item(error, function.into_token_stream()),
    }
}

fn parse_deadline(args: TokenStream) -> syn::Result<DurationArg> {
    if args.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "`#[deadline]` needs a duration, as in `#[deadline(2s)]` or `#[deadline(= expr)]`",
        ));
    }
    syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            let d = duration::parse(input)?;
            if !input.is_empty() {
                return Err(input.error("`#[deadline]` takes one duration"));
            }
            Ok(d)
        },
        args,
    )
}

/// A per-attempt timeout longer than an enclosing literal deadline can never fire.
fn check_nesting(layers: &[Layer]) -> syn::Result<()> {
    let mut enclosing: Option<std::time::Duration> = None;
    for layer in layers {
        match layer {
            Layer::Deadline(d) => {
                if let Some(d) = d.literal {
                    enclosing = Some(enclosing.map_or(d, |e| e.min(d)));
                }
            }
            Layer::Retry(args) => {
                if let (Some(outer), Some(per)) = (enclosing, &args.per_attempt) {
                    if per.literal.is_some_and(|p| p > outer) {
                        return Err(syn::Error::new(
                            per.span,
                            format!("`per_attempt` is longer than the enclosing `#[deadline({outer:?})]`, so it could never fire"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `retry`, `deadline`, `resilient::retry`, `::resilient::deadline`.
fn kind_of(attr: &Attribute) -> Option<Kind> {
    let path = attr.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let name = match segments.as_slice() {
        [name] => name,
        [krate, name] if krate == "resilient" => name,
        _ => return None,
    };
    match name.as_str() {
        "retry" => Some(Kind::Retry),
        "deadline" => Some(Kind::Deadline),
        _ => None,
    }
}

fn combine(errors: &mut Option<syn::Error>, error: syn::Error) {
    match errors {
        Some(existing) => existing.combine(error),
        None => *errors = Some(error),
    }
}

/// The error, and the item unchanged beside it, so later diagnostics and
/// IDEs still see the function.
fn with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    tokens.extend(item);
    tokens
}
