//! What every `key = value` attribute shares: reading the keys with every
//! mistake collected (a wrong key or value is recorded and its tokens
//! skipped up to the next comma), a key set twice, and an unknown key with
//! the closest known one suggested.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::Path;

use crate::suggest;

/// Errors collected, to report them all at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }

    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(errors) => Err(errors),
            None => Ok(value),
        }
    }
}

/// Reads `args` as `key = value, ..`, handing each key to `key`.
pub(crate) fn parse(
    args: TokenStream,
    errors: &mut Errors,
    mut key: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let mut found = Errors::default();
    let parser = syn::meta::parser(|meta| {
        if let Err(error) = key(&meta) {
            found.push(error);
            while !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                meta.input.parse::<proc_macro2::TokenTree>()?;
            }
        }
        Ok(())
    });
    let parsed = syn::parse::Parser::parse2(parser, args);
    if let Some(error) = found.0 {
        errors.push(error);
    }
    if let Err(error) = parsed {
        errors.push(error);
    }
}

/// Sets a key once; a second time is an error on the second key.
pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, key: &Path) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            key,
            format!("duplicate key `{}`", name(key)),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// The key's name (`""` for a path that is not one identifier).
pub(crate) fn name(key: &Path) -> String {
    key.get_ident().map(ToString::to_string).unwrap_or_default()
}

/// An unknown key: the error names the closest of `known` (or the key an
/// alias stands for) and lists them all.
pub(crate) fn unknown(key: &Path, known: &[&str], aliases: &[(&str, &str)]) -> syn::Error {
    let name = name(key);
    let hint = suggest::closest(&name, known, aliases)
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    syn::Error::new_spanned(
        key,
        format!(
            "unknown key `{name}`: {hint}expected one of {}",
            suggest::list(known)
        ),
    )
}

/// Splits `args` into a shared object written first (`USERS`, `self.limit`:
/// any expression not written `key = ..`) and the keys after it; `expected`
/// is the error's message when the expression does not parse.
pub(crate) fn split_shared(
    args: TokenStream,
    expected: &str,
) -> syn::Result<(Option<syn::Expr>, TokenStream)> {
    let starts_with_key = |input: syn::parse::ParseStream<'_>| {
        input.peek(syn::Ident) && input.peek2(syn::Token![=]) && !input.peek2(syn::Token![==])
    };
    syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            if input.is_empty() || starts_with_key(input) {
                return Ok((None, input.parse::<TokenStream>()?));
            }
            let shared = input.parse::<syn::Expr>()?;
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
            Ok((Some(shared), input.parse::<TokenStream>()?))
        },
        args,
    )
    .map_err(|e| syn::Error::new(e.span(), expected))
}
