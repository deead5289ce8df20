//! The pipeline of both attributes: parse the item, take the stack of
//! steadfast attributes off it (the outermost one expands the whole stack,
//! so that order means what it says), validate, expand.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

use crate::attr::{self, Kind, Written};
use crate::item::{self, Parsed};
use crate::{expand, runtime, valid};

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut function = match item::parse(item.clone()) {
        Parsed::Function(function) => function,
        // rustc's own error on the body says more than ours could.
        Parsed::Unparsable => return item,
        Parsed::NotAFunction => {
            let error = syn::Error::new(
                Span::call_site(),
                format!("`#[{}]` goes on a function or method", kind.name()),
            );
            return with_item(error, item);
        }
    };
    let mut stack = vec![Written {
        kind,
        args,
        span: Span::call_site(),
    }];
    let runtime = match runtime::take_crate(&mut stack[0].args) {
        Ok(path) => path,
        Err(error) => return with_item(error, item),
    };
    stack.extend(attr::take_stack(
        &mut function.outer,
        runtime.as_ref().map(|(path, _)| path),
    ));
    let runtime = match stack_runtime(runtime, &mut stack[1..]) {
        Ok(path) => path,
        Err(error) => return with_item(error, item),
    };
    // What to show beside an error: the item without the attributes that
    // failed, so that they are not expanded (and reported) again.
    let fallback = {
        let f = &function;
        let (outer, inner, vis, sig, body) = (&f.outer, &f.inner, &f.vis, &f.sig, &f.body);
        let body = match &f.shape {
            item::Shape::AsyncTrait { boxing, prologue } => {
                quote::quote!(#boxing(async move { #(#prologue)* #(#body)* }))
            }
            _ => quote::quote!(#(#body)*),
        };
        quote::quote!(#(#outer)* #vis #sig { #(#inner)* #body })
    };
    runtime::with(runtime.as_ref(), || match valid::plan(*function, stack) {
        Ok(plan) => expand::function(plan),
        Err(error) => with_item(error, fallback),
    })
}

/// The runtime the whole stack expands against: the one `crate = ..` names
/// (the same on every attribute that names one), or the default.
fn stack_runtime(
    outermost: Option<(syn::Path, Span)>,
    below: &mut [Written],
) -> syn::Result<Option<syn::Path>> {
    let mut found = outermost;
    let mut errors = crate::keys::Errors::default();
    for written in below {
        match runtime::take_crate(&mut written.args) {
            Ok(None) => {}
            Ok(Some((path, span))) => match &found {
                None => found = Some((path, span)),
                Some((first, _)) if same_path(first, &path) => {}
                Some(_) => errors.push(syn::Error::new(
                    span,
                    "the attributes of one function must name the same `crate`",
                )),
            },
            Err(error) => errors.push(error),
        }
    }
    errors.finish(found.map(|(path, _)| path))
}

fn same_path(a: &syn::Path, b: &syn::Path) -> bool {
    a.to_token_stream().to_string() == b.to_token_stream().to_string()
}

/// The error, and the item beside it, so later diagnostics and IDEs still
/// see the function.
fn with_item(error: syn::Error, item: impl ToTokens) -> TokenStream {
    let mut tokens = error.to_compile_error();
    item.to_tokens(&mut tokens);
    tokens
}
