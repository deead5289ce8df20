//! The arguments of each attribute, parsed with their spans: `#[retry(..)]`
//! keys one by one (every mistake collected), `#[deadline(d)]`'s duration,
//! and which attributes of the item's stack are ours.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use steadfast_grammar::policy::{self, Growth};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitFloat, LitInt, LitStr, Meta, Path};

use crate::duration::{self, DurationArg};
use crate::keys::{self, set_once};
use crate::suggest;

/// Which attribute.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Retry,
    Deadline,
    CircuitBreaker,
    Hedge,
    RateLimit,
    ConcurrencyLimit,
    Fallback,
    /// `#[steadfast::__rpc("pkg.Service", "Method")]`: the generated
    /// clients' marker, naming the spans as gRPC A72 does.
    Rpc,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Deadline => "deadline",
            Self::CircuitBreaker => "circuit_breaker",
            Self::Hedge => "hedge",
            Self::RateLimit => "rate_limit",
            Self::ConcurrencyLimit => "concurrency_limit",
            Self::Fallback => "fallback",
            Self::Rpc => "__rpc",
        }
    }
}

/// One attribute of the stack, its arguments not yet parsed.
pub(crate) struct Written {
    pub(crate) kind: Kind,
    pub(crate) args: TokenStream,
    pub(crate) span: Span,
}

/// Takes the steadfast attributes out of `attrs`, in order: the stack below
/// the one being expanded. `runtime` is the path the outermost one named
/// with `crate = ..`: attributes under that path are ours too.
pub(crate) fn take_stack(attrs: &mut Vec<Attribute>, runtime: Option<&Path>) -> Vec<Written> {
    let mut found = Vec::new();
    attrs.retain(|attr| match kind_of(attr, runtime) {
        Some(kind) => {
            let args = match &attr.meta {
                Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            let span = syn::spanned::Spanned::span(attr);
            found.push(Written { kind, args, span });
            false
        }
        None => true,
    });
    found
}

/// `retry`, `deadline`, `circuit_breaker`, `hedge`, `rate_limit`,
/// `concurrency_limit`, `fallback`: bare, under
/// `steadfast::`, under the runtime's path or its first segment (a crate
/// that re-exports the attributes), or under `<runtime>::__private::` (as
/// generated code names them).
fn kind_of(attr: &Attribute, runtime: Option<&Path>) -> Option<Kind> {
    let idents = |path: &Path| -> Vec<String> {
        path.segments.iter().map(|s| s.ident.to_string()).collect()
    };
    let segments = idents(attr.path());
    let (name, prefix) = segments.split_last()?;
    let ours = match prefix {
        [] => true,
        [krate] if krate == "steadfast" => true,
        [.., private] if private == "__private" => true,
        prefix => runtime.is_some_and(|runtime| {
            let runtime = idents(runtime);
            prefix == runtime.as_slice() || prefix == &runtime[..1]
        }),
    };
    if !ours {
        return None;
    }
    match name.as_str() {
        "retry" => Some(Kind::Retry),
        "deadline" => Some(Kind::Deadline),
        "circuit_breaker" => Some(Kind::CircuitBreaker),
        "hedge" => Some(Kind::Hedge),
        "rate_limit" => Some(Kind::RateLimit),
        "concurrency_limit" => Some(Kind::ConcurrencyLimit),
        "fallback" => Some(Kind::Fallback),
        "__rpc" => Some(Kind::Rpc),
        _ => None,
    }
}

/// The gRPC method a generated function calls: its spans are
/// `Sent.<service>.<method>` and `Attempt.<service>.<method>`.
pub(crate) struct Rpc {
    pub(crate) service: String,
    pub(crate) method: String,
    /// The client's `grpc.target` (a `Target` expression), when it has one.
    pub(crate) target: Option<syn::Expr>,
}

/// `#[__rpc("pkg.Service", "Method")]`, or with the client's target:
/// `#[__rpc("pkg.Service", "Method", self.target)]`.
pub(crate) fn parse_rpc(args: TokenStream) -> syn::Result<Rpc> {
    syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            let service: LitStr = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let method: LitStr = input.parse()?;
            let target = if input.is_empty() {
                None
            } else {
                input.parse::<syn::Token![,]>()?;
                Some(input.parse()?)
            };
            Ok(Rpc {
                service: service.value(),
                method: method.value(),
                target,
            })
        },
        args,
    )
}

/// `#[deadline(d)]`: one duration.
pub(crate) fn parse_deadline(args: TokenStream, span: Span) -> syn::Result<DurationArg> {
    if args.is_empty() {
        return Err(syn::Error::new(
            span,
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
    "nested",
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

/// Validated `#[retry]` arguments.
pub(crate) struct RetryArgs {
    pub(crate) max: Option<(u32, Span)>,
    pub(crate) backoff: Option<(Growth, Span)>,
    pub(crate) initial: Option<DurationArg>,
    pub(crate) multiplier: Option<(f64, Span)>,
    pub(crate) max_delay: Option<DurationArg>,
    pub(crate) jitter: Option<(policy::Jitter, Span)>,
    pub(crate) per_attempt: Option<DurationArg>,
    pub(crate) when: Option<Path>,
    pub(crate) on: Option<Vec<Ident>>,
    pub(crate) budget: Option<Path>,
    pub(crate) notify: Option<Path>,
    /// `nested = "once"`: loops inside make one attempt each.
    pub(crate) nested_once: Option<(bool, Span)>,
    /// `__driven_by = policy`: what code generated with `from_config`
    /// writes: the attempts decided at run time by a settings file's
    /// `&CallPolicy` (`__private::ConfigAttempts`), not by keys.
    pub(crate) driven_by: Option<syn::Expr>,
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
            nested_once: None,
            driven_by: None,
        };
        let mut errors = keys::Errors::default();
        keys::parse(args, &mut errors, |meta| this.key(meta));
        if let Err(e) = this.validate() {
            errors.push(e);
        }
        errors.finish(this)
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
                policy::check_max_attempts(n)
                    .map_err(|e| syn::Error::new(lit.span(), format!("`max` {e}")))?;
                set_once(&mut self.max, (n, lit.span()), &key)
            }
            "backoff" => {
                let lit: LitStr = meta.value()?.parse()?;
                let other = lit.value();
                let Some(growth) = Growth::from_name(&other) else {
                    let names = suggest::list(policy::BACKOFF_NAMES);
                    let msg = match suggest::closest(&other, policy::BACKOFF_NAMES, policy::BACKOFF_ALIASES) {
                        Some(s) => format!("unknown backoff `{other}`: did you mean `{s}`? (expected one of {names})"),
                        None => format!("unknown backoff `{other}`: expected one of {names}"),
                    };
                    return Err(syn::Error::new(lit.span(), msg));
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
                policy::check_multiplier(m)
                    .map_err(|e| syn::Error::new(span, format!("`multiplier` {e}")))?;
                set_once(&mut self.multiplier, (m, span), &key)
            }
            "jitter" => {
                let value = meta.value()?;
                let jitter = if value.peek(LitStr) {
                    let lit: LitStr = value.parse()?;
                    let v = lit.value();
                    match policy::Jitter::from_name(&v) {
                        Some(j) => (j, lit.span()),
                        None => {
                            let hint = suggest::closest(&v, policy::JITTER_NAMES, &[])
                                .map(|s| format!(" did you mean `{s}`?"))
                                .unwrap_or_default();
                            return Err(syn::Error::new(
                                lit.span(),
                                format!("unknown jitter `{v}`:{hint} expected one of {} or a fraction such as `0.2`", suggest::list(policy::JITTER_NAMES)),
                            ));
                        }
                    }
                } else {
                    let lit: LitFloat = value.parse().map_err(|e| {
                        syn::Error::new(e.span(), "expected a jitter: `\"full\"`, `\"equal\"`, `\"decorrelated\"`, `\"none\"` or a fraction such as `0.2`")
                    })?;
                    let f: f64 = lit.base10_parse()?;
                    let jitter =
                        policy::Jitter::fraction(f).map_err(|e| syn::Error::new(lit.span(), e))?;
                    (jitter, lit.span())
                };
                set_once(&mut self.jitter, jitter, &key)
            }
            "when" => set_once(&mut self.when, meta.value()?.parse()?, &key),
            "budget" => set_once(&mut self.budget, meta.value()?.parse()?, &key),
            "notify" => set_once(&mut self.notify, meta.value()?.parse()?, &key),
            "nested" => {
                let lit: LitStr = meta.value()?.parse()?;
                let once = match lit.value().as_str() {
                    "once" => true,
                    "retry" => false,
                    other => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("unknown `nested` value `{other}`: expected `\"once\"` (retry loops inside this one make one attempt each) or `\"retry\"` (the default)"),
                        ))
                    }
                };
                set_once(&mut self.nested_once, (once, lit.span()), &key)
            }
            "on" => set_once(&mut self.on, parse_codes(meta)?, &key),
            // Not in `KEYS`: generated code's, never suggested.
            "__driven_by" => set_once(&mut self.driven_by, meta.value()?.parse()?, &key),
            _ => Err(keys::unknown(&key, KEYS, KEY_ALIASES)),
        }
    }

    fn validate(&self) -> syn::Result<()> {
        if let Some(driven_by) = &self.driven_by {
            let others = self.max.is_some()
                || self.backoff.is_some()
                || self.initial.is_some()
                || self.multiplier.is_some()
                || self.max_delay.is_some()
                || self.jitter.is_some()
                || self.per_attempt.is_some()
                || self.when.is_some()
                || self.on.is_some()
                || self.budget.is_some()
                || self.notify.is_some()
                || self.nested_once.is_some();
            if others {
                return Err(syn::Error::new_spanned(
                    driven_by,
                    "`__driven_by` is what code generated with `from_config` writes: the settings file's policy decides every attempt, and no other key goes beside it",
                ));
            }
        }
        if let (Some((_, span)), Some((growth, _))) = (&self.multiplier, &self.backoff) {
            if !growth.takes_multiplier() {
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
        let p = crate::runtime::private();
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
                policy::Jitter::Full => quote!(#p::Jitter::Full),
                policy::Jitter::Equal => quote!(#p::Jitter::Equal),
                policy::Jitter::Decorrelated => quote!(#p::Jitter::Decorrelated),
                policy::Jitter::None => quote!(#p::Jitter::None),
                policy::Jitter::Fraction(f) => quote!(#p::Jitter::Proportional(#f)),
            };
            backoff = quote!(#backoff.jitter(#j));
        }
        let mut policy = quote!(#p::RetryPolicy::new().max_attempts(#max).backoff(#backoff));
        if let Some((true, _)) = self.nested_once {
            policy = quote!(#policy.nested(#p::Nested::Once));
        }
        if let Some(budget) = &self.budget {
            policy = quote!(#policy.budget(&#budget));
        }
        policy
    }
}

/// `on = [Unavailable, ..]`: `tonic::Code` names, each checked.
pub(crate) fn parse_codes(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Ident>> {
    let value = meta.value()?;
    let content;
    syn::bracketed!(content in value);
    let codes = content.parse_terminated(Ident::parse_any_code, syn::Token![,])?;
    Ok(codes.into_iter().collect())
}

trait ParseAnyCode {
    fn parse_any_code(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAnyCode for Ident {
    /// A `tonic::Code` variant name, checked against the list.
    fn parse_any_code(input: syn::parse::ParseStream<'_>) -> syn::Result<Ident> {
        let ident: Ident = input.parse()?;
        let name = ident.to_string();
        let variants: Vec<&str> = policy::code_variants().collect();
        if variants.contains(&name.as_str()) {
            return Ok(ident);
        }
        // gRPC's own spelling (`UNAVAILABLE`) is the likeliest slip.
        let hint = policy::code_variant(&name)
            .or_else(|| suggest::closest(&name, &variants, &[]))
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        Err(syn::Error::new(
            ident.span(),
            format!("unknown status code `{name}`: {hint}expected `tonic::Code` names such as `Unavailable`, `ResourceExhausted`, `Aborted`"),
        ))
    }
}
