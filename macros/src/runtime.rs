//! Where the expansion finds the runtime: `::steadfast` unless the stack
//! says `crate = "path"` (for crates that re-export `steadfast`, as
//! `#[tokio::main(crate = "..")]` and `#[serde(crate = "..")]` allow), and
//! the one hidden module of it that expanded code may name, `__private`.
//!
//! The path is a property of the whole expansion, like its call site: the
//! entry point sets it once for the stack it expands, and every generator
//! reads it here instead of having it threaded through each of them.

use std::cell::RefCell;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{LitStr, Path};

/// The version of the contract between emitted code and the runtime's
/// `__private` module. The runtime's `contract!` accepts this number and
/// no other: code expanded by one version against another runtime fails
/// to compile with a message that says so. `steadfast-build` emits the
/// same number; change all three together.
pub(crate) const CONTRACT: u32 = 3;

thread_local! {
    static ROOT: RefCell<Option<TokenStream>> = const { RefCell::new(None) };
}

/// The runtime crate's path: `::steadfast`, or the stack's `crate = ..`.
pub(crate) fn root() -> TokenStream {
    ROOT.with(|root| root.borrow().clone())
        .unwrap_or_else(|| quote!(::steadfast))
}

/// `<root>::__private`: everything an expansion names of the runtime.
pub(crate) fn private() -> TokenStream {
    let root = root();
    quote!(#root::__private)
}

/// [`private`] with every token at `span`, for code written with
/// `quote_spanned!` whose errors must land on the user's token.
pub(crate) fn private_at(span: Span) -> TokenStream {
    respan(private(), span)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Runs `expand` with `path` as the runtime (or the default).
pub(crate) fn with<R>(path: Option<&Path>, expand: impl FnOnce() -> R) -> R {
    let previous = ROOT.with(|root| root.replace(path.map(ToTokens::to_token_stream)));
    let result = expand();
    ROOT.with(|root| root.replace(previous));
    result
}

/// Takes `crate = "path"` (or `crate = path`) out of an attribute's
/// arguments, wherever it stands among them, so that each attribute's own
/// grammar never sees it. `Ok(None)` when it is not there.
pub(crate) fn take_crate(args: &mut TokenStream) -> syn::Result<Option<(Path, Span)>> {
    let tokens: Vec<TokenTree> = args.clone().into_iter().collect();
    // Top-level arguments, split at commas.
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().map_or((), |part| part.push(token)),
        }
    }
    let is_crate = |part: &[TokenTree]| {
        matches!(part, [TokenTree::Ident(key), TokenTree::Punct(eq), ..]
            if key == "crate" && eq.as_char() == '=')
    };
    let Some(index) = parts.iter().position(|part| is_crate(part)) else {
        return Ok(None);
    };
    let part = parts.remove(index);
    let span = part[0].span();
    let value: TokenStream = part[2..].iter().cloned().collect();
    if parts.iter().any(|part| is_crate(part)) {
        return Err(syn::Error::new(span, "`crate` is given twice"));
    }
    let path = parse_path(value, span)?;
    let mut rest = TokenStream::new();
    for (i, part) in parts.into_iter().enumerate() {
        // A trailing comma left behind by the one taken out is dropped.
        if part.is_empty() && i > 0 {
            continue;
        }
        if i > 0 {
            rest.extend(quote!(,));
        }
        rest.extend(part);
    }
    *args = rest;
    Ok(Some((path, span)))
}

/// `"path"` or `path`: the runtime's path as the user wrote it.
fn parse_path(value: TokenStream, span: Span) -> syn::Result<Path> {
    let expected = "`crate` is the path of the runtime, as in `crate = \"my_crate::steadfast\"`";
    let mut iter = value.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Literal(_)), None) => {
            let lit: LitStr =
                syn::parse2(value).map_err(|e| syn::Error::new(e.span(), expected))?;
            lit.parse_with(Path::parse_mod_style)
                .map_err(|_| syn::Error::new(lit.span(), expected))
        }
        (Some(TokenTree::Group(g)), None) if g.delimiter() == Delimiter::None => {
            parse_path(g.stream(), span)
        }
        (None, _) => Err(syn::Error::new(span, expected)),
        _ => syn::parse::Parser::parse2(Path::parse_mod_style, value)
            .map_err(|e| syn::Error::new(e.span(), expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(args: &str) -> (String, Option<String>) {
        let mut tokens: TokenStream = args.parse().expect("test tokens");
        let path = take_crate(&mut tokens)
            .expect("parses")
            .map(|(p, _)| p.to_token_stream().to_string());
        (tokens.to_string(), path)
    }

    #[test]
    fn crate_is_taken_from_any_position_and_the_rest_kept() {
        assert_eq!(
            take("max = 3, crate = \"my::rt\""),
            ("max = 3".into(), Some("my :: rt".into()))
        );
        assert_eq!(
            take("crate = \"::my::rt\", max = 3"),
            ("max = 3".into(), Some(":: my :: rt".into()))
        );
        assert_eq!(
            take("2s, crate = my::rt, "),
            ("2s".into(), Some("my :: rt".into()))
        );
        assert_eq!(take("max = 3"), ("max = 3".into(), None));
    }

    #[test]
    fn a_crate_that_is_not_a_path_is_an_error() {
        let mut tokens: TokenStream = "crate = \"not a path\"".parse().expect("test tokens");
        let Err(error) = take_crate(&mut tokens) else {
            panic!("`not a path` was taken for a path");
        };
        assert!(
            error.to_string().contains("the path of the runtime"),
            "{error}"
        );
        let mut tokens: TokenStream = "crate = \"a\", crate = \"b\"".parse().expect("test tokens");
        assert!(take_crate(&mut tokens).is_err());
    }

    #[test]
    fn with_sets_the_root_for_the_expansion_only() {
        assert_eq!(root().to_string(), ":: steadfast");
        let path: Path = syn::parse_str("my::rt").expect("a path");
        with(Some(&path), || {
            assert_eq!(private().to_string(), "my :: rt :: __private")
        });
        assert_eq!(root().to_string(), ":: steadfast");
    }
}
