//! `#[circuit_breaker(..)]`'s arguments: a shared breaker (`USERS`, or any
//! expression of type `CircuitBreaker`, `&CircuitBreaker` or
//! `Arc<CircuitBreaker>`), or the keys of a breaker of the function's own.
//! Every mistake collected, as for `#[retry]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, LitFloat, LitInt, Path};

use crate::duration::{self, DurationArg};
use crate::keys::{self, set_once};

pub(crate) const KEYS: &[&str] = &[
    "failure_ratio",
    "min_calls",
    "window",
    "open_for",
    "half_open",
    "slow",
    "slow_ratio",
    "failures",
    "throttle",
    "when",
];

const KEY_ALIASES: &[(&str, &str)] = &[
    ("ratio", "failure_ratio"),
    ("error_ratio", "failure_ratio"),
    ("failure_rate", "failure_ratio"),
    ("min_requests", "min_calls"),
    ("minimum_calls", "min_calls"),
    ("interval", "window"),
    ("wait", "open_for"),
    ("timeout", "open_for"),
    ("half_open_calls", "half_open"),
    ("probes", "half_open"),
    ("slow_call", "slow"),
    ("slow_threshold", "slow"),
    ("slow_call_ratio", "slow_ratio"),
    ("failure_count", "failures"),
    ("error_count", "failures"),
    ("if", "when"),
    ("k", "throttle"),
    ("adaptive_throttle", "throttle"),
];

/// The most probes a half-open breaker lets through (the runtime's limit).
const MAX_HALF_OPEN: u32 = (1 << 15) - 1;

/// Validated `#[circuit_breaker]` arguments.
pub(crate) struct BreakerArgs {
    /// A shared breaker, or `None` for the function's own.
    pub(crate) shared: Option<Expr>,
    failure_ratio: Option<f64>,
    min_calls: Option<u32>,
    window: Option<DurationArg>,
    open_for: Option<DurationArg>,
    half_open: Option<u32>,
    slow: Option<DurationArg>,
    slow_ratio: Option<(f64, Span)>,
    failures: Option<u32>,
    /// An adaptive throttle's K (`AdaptiveThrottle`) instead of a breaker's
    /// rules.
    throttle: Option<(f64, Span)>,
    /// The first key set that only a breaker's rules take (not `window`,
    /// `when` or `throttle`).
    rule_key: Option<(String, Span)>,
    pub(crate) when: Option<Path>,
    /// The first key that only a breaker of the function's own takes.
    own_key: Option<(String, Span)>,
}

/// A float or an integer literal, as `0.5` or `1`.
fn number(meta: &ParseNestedMeta<'_>) -> syn::Result<(f64, Span)> {
    let value = meta.value()?;
    if value.peek(LitFloat) {
        let lit: LitFloat = value.parse()?;
        Ok((lit.base10_parse()?, lit.span()))
    } else {
        let lit: LitInt = value
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a number such as `0.5`"))?;
        Ok((lit.base10_parse()?, lit.span()))
    }
}

fn ratio(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<(f64, Span)> {
    let (value, span) = number(meta)?;
    if !(value > 0.0 && value <= 1.0) {
        return Err(syn::Error::new(
            span,
            format!("`{key}` is a fraction of the calls: more than 0 and at most 1, such as `0.5`"),
        ));
    }
    Ok((value, span))
}

fn count(meta: &ParseNestedMeta<'_>, key: &str, max: u32) -> syn::Result<u32> {
    let lit: LitInt = meta.value()?.parse()?;
    let n: u32 = lit.base10_parse().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`{key}` is a whole number, from 1 to {max}"),
        )
    })?;
    if n == 0 || n > max {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` is a whole number, from 1 to {max}"),
        ));
    }
    Ok(n)
}

fn positive(d: DurationArg, key: &str) -> syn::Result<DurationArg> {
    if d.literal.is_some_and(|d| d.is_zero()) {
        return Err(syn::Error::new(
            d.span,
            format!("`{key}` must be longer than zero"),
        ));
    }
    Ok(d)
}

/// Whether the arguments start with `ident =` (keys) rather than a breaker.
impl BreakerArgs {
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut this = Self {
            shared: None,
            failure_ratio: None,
            min_calls: None,
            window: None,
            open_for: None,
            half_open: None,
            slow: None,
            slow_ratio: None,
            failures: None,
            throttle: None,
            rule_key: None,
            when: None,
            own_key: None,
        };
        let mut errors = keys::Errors::default();
        let (shared, rest) = keys::split_shared(
            args,
            "expected a shared breaker, as in `#[circuit_breaker(USERS)]`, or keys such as `failure_ratio = 0.5, open_for = 5s`",
        )?;
        this.shared = shared;
        keys::parse(rest, &mut errors, |meta| this.key(meta));
        if let Err(e) = this.validate() {
            errors.push(e);
        }
        errors.finish(this)
    }

    fn key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta.path.clone();
        let name = key.get_ident().map(ToString::to_string).unwrap_or_default();
        if name != "when" && KEYS.contains(&name.as_str()) && self.own_key.is_none() {
            self.own_key = Some((name.clone(), syn::spanned::Spanned::span(&key)));
        }
        if !["when", "window", "throttle"].contains(&name.as_str())
            && KEYS.contains(&name.as_str())
            && self.rule_key.is_none()
        {
            self.rule_key = Some((name.clone(), syn::spanned::Spanned::span(&key)));
        }
        match name.as_str() {
            "failure_ratio" => {
                let (r, _) = ratio(meta, "failure_ratio")?;
                set_once(&mut self.failure_ratio, r, &key)
            }
            "slow_ratio" => {
                let r = ratio(meta, "slow_ratio")?;
                set_once(&mut self.slow_ratio, r, &key)
            }
            "min_calls" => {
                let n = count(meta, "min_calls", u32::MAX)?;
                set_once(&mut self.min_calls, n, &key)
            }
            "half_open" => {
                let n = count(meta, "half_open", MAX_HALF_OPEN)?;
                set_once(&mut self.half_open, n, &key)
            }
            "failures" => {
                let n = count(meta, "failures", u32::MAX)?;
                set_once(&mut self.failures, n, &key)
            }
            "window" => {
                let d = positive(duration::parse(meta.input)?, "window")?;
                set_once(&mut self.window, d, &key)
            }
            "open_for" => {
                let d = positive(duration::parse(meta.input)?, "open_for")?;
                set_once(&mut self.open_for, d, &key)
            }
            "slow" => {
                let d = positive(duration::parse(meta.input)?, "slow")?;
                set_once(&mut self.slow, d, &key)
            }
            "throttle" => {
                let (k, span) = number(meta)?;
                if !(k >= 1.0 && k.is_finite()) {
                    return Err(syn::Error::new(
                        span,
                        "`throttle` is the SRE book's K: at least 1, such as `2.0` (the book's)",
                    ));
                }
                set_once(&mut self.throttle, (k, span), &key)
            }
            "when" => set_once(&mut self.when, meta.value()?.parse()?, &key),
            _ => Err(keys::unknown(&key, KEYS, KEY_ALIASES)),
        }
    }

    fn validate(&self) -> syn::Result<()> {
        if let (Some(_), Some((key, key_span))) = (&self.shared, &self.own_key) {
            return Err(syn::Error::new(
                *key_span,
                format!("`{key}` sets up a breaker of the function's own, but this one uses a shared breaker: set it where that breaker is defined (only `when` goes beside a shared breaker)"),
            ));
        }
        if let (Some(_), Some((key, span))) = (&self.throttle, &self.rule_key) {
            return Err(syn::Error::new(
                *span,
                format!("`{key}` is a breaker's rule; an adaptive throttle (`throttle = K`) takes only `window` beside it"),
            ));
        }
        if let (Some((_, span)), None) = (&self.slow_ratio, &self.slow) {
            return Err(syn::Error::new(
                *span,
                "`slow_ratio` needs `slow`, the time past which a call is slow",
            ));
        }
        Ok(())
    }

    /// The breaker's construction, for a breaker of the function's own.
    pub(crate) fn construction(&self) -> TokenStream {
        let p = crate::runtime::private();
        if let Some((k, _)) = self.throttle {
            let mut t = quote!(#p::AdaptiveThrottle::new().k(#k));
            if let Some(d) = &self.window {
                let d = &d.tokens;
                t = quote!(#t.window(#d));
            }
            return quote!(#t.into_breaker());
        }
        let mut b = quote!(#p::CircuitBreaker::new());
        if let Some(r) = self.failure_ratio {
            b = quote!(#b.failure_ratio(#r));
        }
        if let Some(n) = self.min_calls {
            b = quote!(#b.min_calls(#n));
        }
        if let Some(d) = &self.window {
            let d = &d.tokens;
            b = quote!(#b.window(#d));
        }
        if let Some(d) = &self.open_for {
            let d = &d.tokens;
            b = quote!(#b.open_for(#d));
        }
        if let Some(n) = self.half_open {
            b = quote!(#b.half_open_calls(#n));
        }
        if let Some(d) = &self.slow {
            let d = &d.tokens;
            let r = self.slow_ratio.map_or(0.8, |(r, _)| r);
            b = quote!(#b.slow_calls(#d, #r));
        }
        if let Some(n) = self.failures {
            b = quote!(#b.failure_count(#n));
        }
        b
    }
}
