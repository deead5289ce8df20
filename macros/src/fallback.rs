//! `#[fallback(handler)]` and `#[fallback(handler, when = predicate)]`'s
//! arguments: the handler function's path, and the errors it answers
//! besides local refusals. Every mistake collected, as for `#[retry]`.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::Path;

use crate::keys::{self, set_once};

const KEYS: &[&str] = &["when"];
const KEY_ALIASES: &[(&str, &str)] = &[
    ("on", "when"),
    ("if", "when"),
    ("only_if", "when"),
    ("handler", "when"),
    ("block_handler", "when"),
];
const EXAMPLE: &str =
    "`#[fallback(order_busy)]` or `#[fallback(cached_user, when = is_unavailable)]`";

/// Validated `#[fallback]` arguments.
pub(crate) struct FallbackArgs {
    /// The handler: a function's path (`order_busy`, `Self::busy`).
    pub(crate) handler: Path,
    /// What else the handler answers: `fn(&E) -> bool`.
    pub(crate) when: Option<Path>,
}

impl FallbackArgs {
    pub(crate) fn parse(args: TokenStream, span: Span) -> syn::Result<Self> {
        let expected = format!("`#[fallback]` names its handler function first, as in {EXAMPLE}");
        let (handler, rest) = keys::split_shared(args, &expected)?;
        let handler = match handler {
            Some(syn::Expr::Path(path)) if path.qself.is_none() && path.attrs.is_empty() => {
                path.path
            }
            Some(other) => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("`#[fallback]` names a handler function (a path), not an expression, as in {EXAMPLE}"),
                ))
            }
            None => return Err(syn::Error::new(span, expected)),
        };
        let mut when = None;
        let mut errors = keys::Errors::default();
        keys::parse(rest, &mut errors, |meta| key(meta, &mut when));
        errors.finish(Self { handler, when })
    }
}

fn key(meta: &ParseNestedMeta<'_>, when: &mut Option<Path>) -> syn::Result<()> {
    let key = meta.path.clone();
    if keys::name(&key) != "when" {
        return Err(keys::unknown(&key, KEYS, KEY_ALIASES));
    }
    set_once(when, meta.value()?.parse()?, &key)
}
