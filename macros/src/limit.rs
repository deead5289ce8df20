//! `#[rate_limit(..)]` and `#[concurrency_limit(..)]`'s arguments: a shared
//! limit (`ORDERS`, or any expression of type `RateLimiter` /
//! `ConcurrencyLimit`, a reference to one or an `Arc` of one), or the keys
//! of a limit of the function's own. Every mistake collected, as for
//! `#[retry]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Expr, LitInt};

use crate::attr::Kind;
use crate::duration::{self, DurationArg};
use crate::keys::{self, set_once};

const RATE_KEYS: &[&str] = &["rate", "burst", "queue", "warm_up", "key"];
const CONCURRENCY_KEYS: &[&str] = &["max", "queue", "key"];
const KEY_ALIASES: &[(&str, &str)] = &[
    ("per_second", "rate"),
    ("qps", "rate"),
    ("limit", "rate"),
    ("count", "rate"),
    ("max_wait", "queue"),
    ("timeout", "queue"),
    ("wait", "queue"),
    ("warmup", "warm_up"),
    ("max_concurrent", "max"),
    ("max_concurrent_calls", "max"),
    ("permits", "max"),
];

/// Validated `#[rate_limit]` or `#[concurrency_limit]` arguments.
pub(crate) struct LimitArgs {
    kind: Kind,
    /// A shared limit, or `None` for the function's own.
    pub(crate) shared: Option<Expr>,
    rate: Option<(steadfast_grammar::rate::Rate, Span)>,
    burst: Option<u32>,
    max: Option<usize>,
    queue: Option<DurationArg>,
    warm_up: Option<DurationArg>,
    /// The expression whose value picks the budget (a keyed rate limit).
    pub(crate) key: Option<Expr>,
    /// The first key that only a limit of the function's own takes.
    own_key: Option<(String, Span)>,
}

/// `(attribute, example with a shared limit, the static it names)`.
fn words(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::ConcurrencyLimit => (
            "concurrency_limit",
            "`#[concurrency_limit(DB)]` or `#[concurrency_limit(max = 32)]`",
            "`static DB: ConcurrencyLimit = ConcurrencyLimit::new(32);`",
        ),
        _ => (
            "rate_limit",
            "`#[rate_limit(ORDERS)]` or `#[rate_limit(rate = 50/s, burst = 10)]`",
            "`static ORDERS: RateLimiter = RateLimiter::per_second(50);`",
        ),
    }
}

impl LimitArgs {
    pub(crate) fn parse(kind: Kind, args: TokenStream, span: Span) -> syn::Result<Self> {
        let (name, example, _) = words(kind);
        if args.is_empty() {
            return Err(syn::Error::new(
                span,
                format!("`#[{name}]` needs a limit, as in {example}"),
            ));
        }
        let mut this = Self {
            kind,
            shared: None,
            rate: None,
            burst: None,
            max: None,
            queue: None,
            warm_up: None,
            key: None,
            own_key: None,
        };
        let (shared, rest) =
            keys::split_shared(args, &format!("expected a limit, as in {example}"))?;
        this.shared = shared;
        let mut errors = keys::Errors::default();
        keys::parse(rest, &mut errors, |meta| this.key(meta));
        // A key already reported wrong is not also reported missing.
        if let Err(e) = this.validate(span, errors.is_empty()) {
            errors.push(e);
        }
        errors.finish(this)
    }

    fn key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta.path.clone();
        let name = keys::name(&key);
        if !meta.input.peek(syn::Token![=]) {
            let (attribute, example, _) = words(self.kind);
            return Err(syn::Error::new_spanned(
                &key,
                format!("`#[{attribute}]` takes one limit, or keys written `key = value`, as in {example}"),
            ));
        }
        let known = match self.kind {
            Kind::ConcurrencyLimit => CONCURRENCY_KEYS,
            _ => RATE_KEYS,
        };
        if !known.contains(&name.as_str()) {
            return Err(keys::unknown(&key, known, KEY_ALIASES));
        }
        let key_span = syn::spanned::Spanned::span(&key);
        // `key` goes beside a shared (keyed) limit too.
        if self.own_key.is_none() && name != "key" {
            self.own_key = Some((name.clone(), key_span));
        }
        match name.as_str() {
            "rate" => {
                let value = meta.value()?;
                let (text, span) = rate_text(value)?;
                let rate = steadfast_grammar::rate::parse_rate(&text)
                    .map_err(|e| syn::Error::new(span, e))?;
                set_once(&mut self.rate, (rate, span), &key)
            }
            "burst" => {
                let n = count(meta, "burst", u32::MAX as usize)?;
                set_once(&mut self.burst, n as u32, &key)
            }
            "max" => {
                let n = count(meta, "max", usize::MAX >> 3)?;
                set_once(&mut self.max, n, &key)
            }
            "queue" => {
                let d = duration::parse(meta.input)?;
                if d.literal.is_none() {
                    return Err(syn::Error::new(
                        d.span,
                        "`queue` of a limit of the function's own is a literal duration, as in `queue = 500ms`",
                    ));
                }
                set_once(&mut self.queue, d, &key)
            }
            "warm_up" => {
                let d = duration::parse(meta.input)?;
                match d.literal {
                    None => Err(syn::Error::new(
                        d.span,
                        "`warm_up` of a limit of the function's own is a literal duration, as in `warm_up = 10s`",
                    )),
                    Some(p) if p.is_zero() => {
                        Err(syn::Error::new(d.span, "`warm_up` is longer than zero"))
                    }
                    Some(_) => set_once(&mut self.warm_up, d, &key),
                }
            }
            _ if self.kind == Kind::ConcurrencyLimit => Err(syn::Error::new(
                key_span,
                "`key`: a concurrency limit per key is not supported; key a `#[rate_limit]`",
            )),
            _ => set_once(&mut self.key, meta.value()?.parse()?, &key),
        }
    }

    fn validate(&self, span: Span, keys_read: bool) -> syn::Result<()> {
        let (name, _, ty) = words(self.kind);
        if let (Some(warm_up), Some(_)) = (&self.warm_up, &self.key) {
            return Err(syn::Error::new(
                warm_up.span,
                "a keyed limit does not warm up (one warm-up could not stand for every key): remove `warm_up` or `key`",
            ));
        }
        match (&self.shared, &self.own_key) {
            (Some(_), Some((key, key_span))) => Err(syn::Error::new(
                *key_span,
                format!("`{key}` sets up a limit of the function's own, but this one uses a shared limit: set it where that limit is defined, as in {ty}"),
            )),
            (None, _) if !keys_read => Ok(()),
            (None, _) if self.kind == Kind::ConcurrencyLimit && self.max.is_none() => {
                Err(syn::Error::new(
                    span,
                    format!("`#[{name}]` of the function's own needs `max`, as in `#[{name}(max = 32)]`"),
                ))
            }
            (None, _) if self.kind == Kind::RateLimit && self.rate.is_none() => {
                Err(syn::Error::new(
                    span,
                    format!("`#[{name}]` of the function's own needs `rate`, as in `#[{name}(rate = 50/s)]`"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The limit's construction, for a limit of the function's own.
    pub(crate) fn construction(&self) -> TokenStream {
        let p = crate::runtime::private();
        let mut limit = match self.kind {
            Kind::ConcurrencyLimit => {
                let max = self.max.unwrap_or(1);
                quote!(#p::ConcurrencyLimit::new(#max))
            }
            _ => {
                let (count, period) = self
                    .rate
                    .map_or((1, std::time::Duration::from_secs(1)), |(r, _)| {
                        (r.count, r.period)
                    });
                let (secs, nanos) = (period.as_secs(), period.subsec_nanos());
                let mut limit = quote!(#p::RateLimiter::per(#count, ::core::time::Duration::new(#secs, #nanos)));
                if let Some(burst) = self.burst {
                    limit = quote!(#limit.burst(#burst));
                }
                if let Some(warm_up) = &self.warm_up {
                    let warm_up = &warm_up.tokens;
                    limit = quote!(#limit.warm_up(#warm_up));
                }
                limit
            }
        };
        if let Some(queue) = &self.queue {
            let queue = &queue.tokens;
            limit = quote!(#limit.queue(#queue));
        }
        if self.key.is_some() {
            limit = quote!(#p::KeyedRateLimiter::new(#limit));
        }
        limit
    }
}

/// The tokens of a rate (`50/s`, `3000/m`, `5/100ms`, or `"50/s"`) up to
/// the next comma, as text, with their span.
fn rate_text(input: ParseStream<'_>) -> syn::Result<(String, Span)> {
    if input.peek(syn::LitStr) {
        let lit: syn::LitStr = input.parse()?;
        return Ok((lit.value(), lit.span()));
    }
    let span = input.span();
    let mut text = String::new();
    while !input.is_empty() && !input.peek(syn::Token![,]) {
        let tree: proc_macro2::TokenTree = input.parse()?;
        text.push_str(&tree.to_string());
    }
    if text.is_empty() {
        return Err(syn::Error::new(span, "expected a rate, as in `50/s`"));
    }
    Ok((text.replace('_', ""), span))
}

/// A whole number from 1 to `max`.
fn count(meta: &ParseNestedMeta<'_>, key: &str, max: usize) -> syn::Result<usize> {
    let lit: LitInt = meta.value()?.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` is a whole number, as in `{key} = 10`"),
        )
    })?;
    match lit.base10_parse::<usize>() {
        Ok(0) => Err(syn::Error::new(
            lit.span(),
            format!("`{key}` is at least 1"),
        )),
        Ok(n) if n <= max => Ok(n),
        _ => Err(syn::Error::new(
            lit.span(),
            format!("`{key}` is at most {max}"),
        )),
    }
}
