//! `#[hedge(..)]`'s arguments: `max`, `delay` (a duration, or a running
//! percentile such as `"p95"`), `on` or `when`, `budget`. Every mistake
//! collected, as for `#[retry]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Ident, LitInt, LitStr, Path};

use crate::duration::{self, DurationArg};
use crate::keys::{self, set_once};

pub(crate) const KEYS: &[&str] = &["max", "delay", "on", "when", "budget"];

const KEY_ALIASES: &[(&str, &str)] = &[
    ("max_attempts", "max"),
    ("attempts", "max"),
    ("hedging_delay", "delay"),
    ("after", "delay"),
    ("non_fatal", "on"),
    ("codes", "on"),
    ("if", "when"),
];

/// gRPC A6 caps hedging at 5 attempts (the runtime's limit too).
const MAX_ATTEMPTS: u32 = 5;

/// When the next attempt starts.
pub(crate) enum Delay {
    Fixed(DurationArg),
    /// A running percentile, such as 95.0 for `"p95"`.
    Percentile(f64),
}

/// Validated `#[hedge]` arguments.
pub(crate) struct HedgeArgs {
    /// The attribute, for errors about it as a whole.
    pub(crate) span: Span,
    pub(crate) max: u32,
    pub(crate) delay: Option<Delay>,
    pub(crate) on: Option<Vec<Ident>>,
    pub(crate) when: Option<Path>,
    pub(crate) budget: Option<Path>,
}

/// `"p95"`, `"p99.9"`: the percentile, in `(0, 100)`.
fn percentile(lit: &LitStr) -> syn::Result<f64> {
    let text = lit.value();
    let value = text
        .strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|p| *p > 0.0 && *p < 100.0);
    value.ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!("`delay = \"{text}\"`: expected a duration such as `50ms`, or a percentile of this function's own latency such as `\"p95\"` or `\"p99.9\"`"),
        )
    })
}

impl HedgeArgs {
    pub(crate) fn parse(args: TokenStream, span: Span) -> syn::Result<Self> {
        let mut max = None;
        let mut this = Self {
            span,
            max: 2,
            delay: None,
            on: None,
            when: None,
            budget: None,
        };
        let mut errors = keys::Errors::default();
        keys::parse(args, &mut errors, |meta| this.key(meta, &mut max));
        if let Some(n) = max {
            this.max = n;
        }
        if this.delay.is_none() && errors.is_empty() {
            errors.push(
                syn::Error::new(
                    span,
                    "`#[hedge]` needs `delay`: how long to wait for an answer before the next attempt, as in `delay = 50ms` or `delay = \"p95\"`",
                ),
            );
        }
        if let (Some(_), Some(on)) = (&this.when, &this.on) {
            let at = on.first().map_or(span, Ident::span);
            errors.push(syn::Error::new(
                at,
                "`when` and `on` both choose which errors are not fatal: keep one",
            ));
        }
        errors.finish(this)
    }

    fn key(&mut self, meta: &ParseNestedMeta<'_>, max: &mut Option<u32>) -> syn::Result<()> {
        let key = meta.path.clone();
        let name = key.get_ident().map(ToString::to_string).unwrap_or_default();
        match name.as_str() {
            "max" => {
                let lit: LitInt = meta.value()?.parse()?;
                let message = "`max` counts every attempt, the first included: 1 to 5 (gRPC A6 caps hedging at 5)";
                let n: u32 = lit
                    .base10_parse()
                    .map_err(|_| syn::Error::new(lit.span(), message))?;
                if n == 0 || n > MAX_ATTEMPTS {
                    return Err(syn::Error::new(lit.span(), message));
                }
                set_once(max, n, &key)
            }
            "delay" => {
                let delay = if meta.input.peek(syn::Token![=]) && meta.input.peek2(LitStr) {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().starts_with('p') {
                        Delay::Percentile(percentile(&lit)?)
                    } else {
                        Delay::Fixed(syn::parse::Parser::parse2(duration::parse, quote!(#lit))?)
                    }
                } else {
                    Delay::Fixed(duration::parse(meta.input)?)
                };
                set_once(&mut self.delay, delay, &key)
            }
            "when" => set_once(&mut self.when, meta.value()?.parse()?, &key),
            "budget" => set_once(&mut self.budget, meta.value()?.parse()?, &key),
            "on" => {
                let codes = crate::attr::parse_codes(meta)?;
                set_once(&mut self.on, codes, &key)
            }
            _ => Err(keys::unknown(&key, KEYS, KEY_ALIASES)),
        }
    }

    /// The policy's construction, and the statics it needs before it.
    pub(crate) fn policy(&self) -> (TokenStream, TokenStream) {
        let p = crate::runtime::private();
        let max = self.max;
        let (statics, mut policy) = match &self.delay {
            Some(Delay::Fixed(d)) => {
                let d = &d.tokens;
                (TokenStream::new(), quote!(#p::HedgePolicy::new(#max, #d)))
            }
            Some(Delay::Percentile(pct)) => (
                quote! {
                    static __STEADFAST_LATENCY: #p::Latency = #p::Latency::new(#pct);
                },
                quote! {
                    #p::HedgePolicy::new(#max, #p::Latency::DEFAULT_FALLBACK)
                        .adaptive(&__STEADFAST_LATENCY)
                },
            ),
            None => (
                TokenStream::new(),
                quote!(#p::HedgePolicy::new(#max, ::core::time::Duration::ZERO)),
            ),
        };
        if let Some(budget) = &self.budget {
            policy = quote!(#policy.budget(&#budget));
        }
        (statics, policy)
    }

    /// Whether the policy can be a `static`: no budget, a literal delay.
    pub(crate) fn policy_is_static(&self) -> bool {
        self.budget.is_none()
            && match &self.delay {
                Some(Delay::Fixed(d)) => d.literal.is_some(),
                _ => true,
            }
    }
}
