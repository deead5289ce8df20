//! `#[retry(...)]` arguments: parse with spans, then validate into what the
//! expansion needs.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Ident, LitFloat, LitInt, LitStr, Path};

use crate::duration::{self, DurationArg};
use crate::suggest;

pub(crate) const KEYS: &[&str] = &[
    "max",
    "backoff",
    "initial",
    "multiplier",
    "max_delay",
    "jitter",
    "per_attempt",
    "when",
    "on",
    "budget",
    "notify",
];

const KEY_ALIASES: &[(&str, &str)] = &[
    ("max_attempts", "max"),
    ("attempts", "max"),
    ("retries", "max"),
    ("delay", "initial"),
    ("initial_backoff", "initial"),
    ("factor", "multiplier"),
    ("max_backoff", "max_delay"),
    ("timeout", "per_attempt"),
    ("if", "when"),
    ("retry_if", "when"),
    ("codes", "on"),
];

const BACKOFFS: &[&str] = &[
    "exp",
    "exponential",
    "const",
    "constant",
    "linear",
    "fib",
    "fibonacci",
    "none",
];
const BACKOFF_ALIASES: &[(&str, &str)] = &[("expo", "exp"), ("fixed", "constant")];

const JITTERS: &[&str] = &["full", "equal", "decorrelated", "none"];

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Growth {
    Exponential,
    Constant,
    Linear,
    Fibonacci,
    None,
}

pub(crate) enum Jitter {
    Named(&'static str),
    Fraction(f64),
}

/// Validated `#[retry]` arguments.
pub(crate) struct RetryArgs {
    pub(crate) max: Option<(u32, Span)>,
    pub(crate) backoff: Option<(Growth, Span)>,
    pub(crate) initial: Option<DurationArg>,
    pub(crate) multiplier: Option<(f64, Span)>,
    pub(crate) max_delay: Option<DurationArg>,
    pub(crate) jitter: Option<(Jitter, Span)>,
    pub(crate) per_attempt: Option<DurationArg>,
    pub(crate) when: Option<Path>,
    pub(crate) on: Option<Vec<Ident>>,
    pub(crate) budget: Option<Path>,
    pub(crate) notify: Option<Path>,
}

/// Sets a key once; a second time is an error on the second key.
fn set_once<T>(slot: &mut Option<T>, value: T, key: &Path) -> syn::Result<()> {
    if slot.is_some() {
        let name = key.get_ident().map(ToString::to_string).unwrap_or_default();
        return Err(syn::Error::new_spanned(
            key,
            format!("duplicate key `{name}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

impl RetryArgs {
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut this = Self {
            max: None,
            backoff: None,
            initial: None,
            multiplier: None,
            max_delay: None,
            jitter: None,
            per_attempt: None,
            when: None,
            on: None,
            budget: None,
            notify: None,
        };
        // Collect every mistake, not just the first: a wrong key or value is
        // recorded and its tokens skipped up to the next comma.
        let mut errors: Option<syn::Error> = None;
        let parser = syn::meta::parser(|meta| {
            if let Err(error) = this.key(&meta) {
                match &mut errors {
                    Some(all) => all.combine(error),
                    None => errors = Some(error),
                }
                while !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    meta.input.parse::<proc_macro2::TokenTree>()?;
                }
            }
            Ok(())
        });
        let parsed = syn::parse::Parser::parse2(parser, args);
        let mut errors = match (parsed, errors) {
            (Err(e), Some(mut all)) => {
                all.combine(e);
                Some(all)
            }
            (Err(e), None) => Some(e),
            (Ok(()), errors) => errors,
        };
        if let Err(e) = this.validate() {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(this),
        }
    }

    fn key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta.path.clone();
        let name = key.get_ident().map(ToString::to_string).unwrap_or_default();
        match name.as_str() {
            "max" => {
                let lit: LitInt = meta.value()?.parse()?;
                let n: u32 = lit.base10_parse().map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        "`max` is a whole number of attempts, at least 1",
                    )
                })?;
                if n == 0 {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`max` counts every attempt, the first included: it must be at least 1",
                    ));
                }
                set_once(&mut self.max, (n, lit.span()), &key)
            }
            "backoff" => {
                let lit: LitStr = meta.value()?.parse()?;
                let growth = match lit.value().as_str() {
                    "exp" | "exponential" => Growth::Exponential,
                    "const" | "constant" => Growth::Constant,
                    "linear" => Growth::Linear,
                    "fib" | "fibonacci" => Growth::Fibonacci,
                    "none" => Growth::None,
                    other => {
                        let mut msg = format!(
                            "unknown backoff `{other}`: expected one of {}",
                            suggest::list(BACKOFFS)
                        );
                        if let Some(s) = suggest::closest(other, BACKOFFS, BACKOFF_ALIASES) {
                            msg = format!("unknown backoff `{other}`: did you mean `{s}`? (expected one of {})", suggest::list(BACKOFFS));
                        }
                        return Err(syn::Error::new(lit.span(), msg));
                    }
                };
                set_once(&mut self.backoff, (growth, lit.span()), &key)
            }
            "initial" => set_once(&mut self.initial, duration::parse(meta.input)?, &key),
            "max_delay" => set_once(&mut self.max_delay, duration::parse(meta.input)?, &key),
            "per_attempt" => set_once(&mut self.per_attempt, duration::parse(meta.input)?, &key),
            "multiplier" => {
                let value = meta.value()?;
                let (m, span) = if value.peek(LitFloat) {
                    let lit: LitFloat = value.parse()?;
                    (lit.base10_parse::<f64>()?, lit.span())
                } else {
                    let lit: LitInt = value.parse()?;
                    (lit.base10_parse::<f64>()?, lit.span())
                };
                if !(m > 1.0 && m.is_finite()) {
                    return Err(syn::Error::new(
                        span,
                        "`multiplier` must be greater than 1, as in `2.0`",
                    ));
                }
                set_once(&mut self.multiplier, (m, span), &key)
            }
            "jitter" => {
                let value = meta.value()?;
                let jitter = if value.peek(LitStr) {
                    let lit: LitStr = value.parse()?;
                    let v = lit.value();
                    match JITTERS.iter().find(|j| **j == v) {
                        Some(j) => (Jitter::Named(j), lit.span()),
                        None => {
                            let hint = suggest::closest(&v, JITTERS, &[])
                                .map(|s| format!(" did you mean `{s}`?"))
                                .unwrap_or_default();
                            return Err(syn::Error::new(
                                lit.span(),
                                format!("unknown jitter `{v}`:{hint} expected one of {} or a fraction such as `0.2`", suggest::list(JITTERS)),
                            ));
                        }
                    }
                } else {
                    let lit: LitFloat = value.parse().map_err(|e| {
                        syn::Error::new(e.span(), "expected a jitter: `\"full\"`, `\"equal\"`, `\"decorrelated\"`, `\"none\"` or a fraction such as `0.2`")
                    })?;
                    let f: f64 = lit.base10_parse()?;
                    if !(0.0..=1.0).contains(&f) {
                        return Err(syn::Error::new(
                            lit.span(),
                            "a jitter fraction is between 0.0 and 1.0 (`0.2` is ±20%)",
                        ));
                    }
                    (Jitter::Fraction(f), lit.span())
                };
                set_once(&mut self.jitter, jitter, &key)
            }
            "when" => set_once(&mut self.when, meta.value()?.parse()?, &key),
            "budget" => set_once(&mut self.budget, meta.value()?.parse()?, &key),
            "notify" => set_once(&mut self.notify, meta.value()?.parse()?, &key),
            "on" => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let codes = content.parse_terminated(Ident::parse_any_code, syn::Token![,])?;
                set_once(&mut self.on, codes.into_iter().collect(), &key)
            }
            _ => {
                let hint = suggest::closest(&name, KEYS, KEY_ALIASES)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown key `{name}`: {hint}expected one of {}",
                        suggest::list(KEYS)
                    ),
                ))
            }
        }
    }

    fn validate(&self) -> syn::Result<()> {
        if let (Some((_, span)), Some((growth, _))) = (&self.multiplier, &self.backoff) {
            if *growth != Growth::Exponential {
                return Err(syn::Error::new(
                    *span,
                    "`multiplier` only applies to `backoff = \"exp\"`",
                ));
            }
        }
        if self.when.is_some() && self.on.is_some() {
            let on = self.on.as_ref().and_then(|v| v.first()).map(Ident::span);
            return Err(syn::Error::new(
                on.unwrap_or_else(Span::call_site),
                "`when` and `on` both choose which errors are retried: keep one",
            ));
        }
        Ok(())
    }

    /// Whether the policy can be a `const`: no budget, every duration a literal.
    pub(crate) fn policy_is_const(&self) -> bool {
        self.budget.is_none()
            && [&self.initial, &self.max_delay]
                .iter()
                .all(|d| d.as_ref().is_none_or(|d| d.literal.is_some()))
    }

    /// `RetryPolicy` construction, without classification.
    pub(crate) fn policy(&self) -> TokenStream {
        let p = quote!(::resilient::__private);
        let max = self.max.as_ref().map_or(3, |(n, _)| *n);
        let growth = self
            .backoff
            .as_ref()
            .map_or(Growth::Exponential, |(g, _)| *g);
        let initial = self
            .initial
            .as_ref()
            .map_or_else(|| quote!(#p::DEFAULT_INITIAL), |d| d.tokens.clone());
        let mut backoff = match growth {
            Growth::Exponential => quote!(#p::Backoff::exponential(#initial)),
            Growth::Constant => quote!(#p::Backoff::constant(#initial)),
            Growth::Linear => quote!(#p::Backoff::linear(#initial)),
            Growth::Fibonacci => quote!(#p::Backoff::fibonacci(#initial)),
            Growth::None => quote!(#p::Backoff::none()),
        };
        if let Some((m, _)) = &self.multiplier {
            backoff = quote!(#backoff.multiplier(#m));
        }
        if let Some(d) = &self.max_delay {
            let d = &d.tokens;
            backoff = quote!(#backoff.max_delay(#d));
        }
        if let Some((jitter, _)) = &self.jitter {
            let j = match jitter {
                Jitter::Named("full") => quote!(#p::Jitter::Full),
                Jitter::Named("equal") => quote!(#p::Jitter::Equal),
                Jitter::Named("decorrelated") => quote!(#p::Jitter::Decorrelated),
                Jitter::Named(_) => quote!(#p::Jitter::None),
                Jitter::Fraction(f) => quote!(#p::Jitter::Proportional(#f)),
            };
            backoff = quote!(#backoff.jitter(#j));
        }
        let mut policy = quote!(#p::RetryPolicy::new().max_attempts(#max).backoff(#backoff));
        if let Some(budget) = &self.budget {
            policy = quote!(#policy.budget(&#budget));
        }
        policy
    }
}

trait ParseAnyCode {
    fn parse_any_code(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAnyCode for Ident {
    /// A `tonic::Code` variant name, checked against the list.
    fn parse_any_code(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident> {
        let ident: Ident = input.parse()?;
        let name = ident.to_string();
        if CODES.contains(&name.as_str()) {
            return Ok(ident);
        }
        let hint = suggest::closest(&name, CODES, CODE_ALIASES)
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        Err(syn::Error::new(
            ident.span(),
            format!("unknown status code `{name}`: {hint}expected `tonic::Code` names such as `Unavailable`, `ResourceExhausted`, `Aborted`"),
        ))
    }
}

const CODES: &[&str] = &[
    "Ok",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

const CODE_ALIASES: &[(&str, &str)] = &[
    ("UNAVAILABLE", "Unavailable"),
    ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
    ("ABORTED", "Aborted"),
    ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
    ("INTERNAL", "Internal"),
];
