//! Validation: the parsed stack and function checked against each other,
//! every mistake collected, into the plan the expansion writes.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{FnArg, Pat, Type};

use crate::attr::{self, Kind, RetryArgs, Written};
use crate::breaker::BreakerArgs;
use crate::duration::DurationArg;
use crate::fallback::FallbackArgs;
use crate::hedge::HedgeArgs;
use crate::item::{Function, Shape};
use crate::keys::Errors;
use crate::limit::LimitArgs;

/// One attribute of the stack, validated.
pub(crate) enum Layer {
    Retry(Box<RetryArgs>),
    Deadline(DurationArg),
    Breaker(Box<BreakerArgs>),
    Hedge(Box<HedgeArgs>),
    RateLimit(Box<LimitArgs>),
    ConcurrencyLimit(Box<LimitArgs>),
    Fallback(Box<FallbackArgs>),
}

impl Layer {
    /// Whether the body runs more than once under this layer: a retry or a hedge.
    pub(crate) fn repeats(&self) -> bool {
        matches!(self, Layer::Retry(_) | Layer::Hedge(_))
    }
}

/// A parameter taken by value, cloned into each attempt: `pat` is bound
/// from a clone of `source` (the parameter's name in the signature).
pub(crate) struct ParamClone {
    pub(crate) pat: TokenStream,
    pub(crate) source: syn::Ident,
    pub(crate) span: Span,
}

/// A parameter a `#[fallback]` handler may ask for, by reference.
pub(crate) struct Handed {
    /// Its name in the body (`self`, or the ident `#[async_trait]` bound it to).
    pub(crate) name: syn::Ident,
    /// Taken by value: kept for the handler when it asks (the body gets a
    /// clone), and bound `mut` again when it was.
    pub(crate) owned: Option<Owned>,
    pub(crate) span: Span,
}

/// How a by-value parameter is bound for the body.
pub(crate) struct Owned {
    pub(crate) mutable: bool,
}

/// What the expansion writes: the function (its by-value parameters renamed
/// where a pattern cannot be cloned), the layers outermost first, the
/// statements that clone by-value parameters into each attempt, and the
/// body's `Result` type.
pub(crate) struct Plan {
    /// Set on generated clients' methods: gRPC names for the spans.
    pub(crate) rpc: Option<attr::Rpc>,
    pub(crate) function: Function,
    pub(crate) layers: Vec<Layer>,
    pub(crate) clones: Vec<ParamClone>,
    /// The parameters a `#[fallback]` handler may ask for, in order (empty
    /// without one).
    pub(crate) handed: Vec<Handed>,
    pub(crate) result: Type,
    pub(crate) result_span: Span,
}

pub(crate) fn plan(mut function: Function, stack: Vec<Written>) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let mut layers = Vec::new();
    let mut rpc = None;
    for written in stack {
        if written.kind == Kind::Rpc {
            match attr::parse_rpc(written.args) {
                Ok(names) => rpc = Some(names),
                Err(e) => errors.push(e),
            }
            continue;
        }
        let parsed = match written.kind {
            Kind::Retry => RetryArgs::parse(written.args).map(|a| Layer::Retry(Box::new(a))),
            Kind::Deadline => attr::parse_deadline(written.args, written.span).map(Layer::Deadline),
            Kind::CircuitBreaker => {
                BreakerArgs::parse(written.args).map(|a| Layer::Breaker(Box::new(a)))
            }
            Kind::Hedge => {
                HedgeArgs::parse(written.args, written.span).map(|a| Layer::Hedge(Box::new(a)))
            }
            Kind::RateLimit => LimitArgs::parse(written.kind, written.args, written.span)
                .map(|a| Layer::RateLimit(Box::new(a))),
            Kind::ConcurrencyLimit => LimitArgs::parse(written.kind, written.args, written.span)
                .map(|a| Layer::ConcurrencyLimit(Box::new(a))),
            Kind::Fallback => FallbackArgs::parse(written.args, written.span)
                .map(|a| Layer::Fallback(Box::new(a))),
            Kind::Rpc => continue,
        };
        match parsed {
            Ok(layer) => layers.push(layer),
            Err(e) => errors.push(e),
        }
    }
    if let Err(e) = check_nesting(&layers) {
        errors.push(e);
    }
    let retries = layers.iter().any(Layer::repeats);
    let hedges = layers.iter().any(|l| matches!(l, Layer::Hedge(_)));
    if hedges {
        check_shared_parameters(&function, &mut errors);
    }
    let result = function.result_type();
    if result.is_none() {
        let message = if hedges {
            "`#[hedge]` needs a function returning `Result<T, E>`"
        } else if retries {
            "`#[retry]` needs a function returning `Result<T, E>`"
        } else if layers.iter().any(|l| matches!(l, Layer::Deadline(_))) {
            "`#[deadline]` needs a function returning `Result<T, E>` with `E: From<steadfast::Elapsed>`"
        } else if layers.iter().any(|l| matches!(l, Layer::Breaker(_))) {
            "`#[circuit_breaker]` needs a function returning `Result<T, E>` with `E: From<steadfast::CircuitOpen>`"
        } else if layers.iter().any(|l| matches!(l, Layer::RateLimit(_))) {
            "`#[rate_limit]` needs a function returning `Result<T, E>` with `E: From<steadfast::Limited>`"
        } else if layers
            .iter()
            .any(|l| matches!(l, Layer::ConcurrencyLimit(_)))
        {
            "`#[concurrency_limit]` needs a function returning `Result<T, E>` with `E: From<steadfast::Limited>`"
        } else if layers.iter().any(|l| matches!(l, Layer::Fallback(_))) {
            "`#[fallback]` needs a function returning `Result<T, E>`: its handler answers the errors"
        } else {
            "a generated client's method returns `Result<T, tonic::Status>`"
        };
        errors.push(syn::Error::new(function.output_span(), message));
    }
    if !function.is_async() {
        check_blocking(&layers, &mut errors);
    }
    let handed = if layers.iter().any(|l| matches!(l, Layer::Fallback(_))) {
        handed_parameters(&function, &mut errors)
    } else {
        Vec::new()
    };
    let clones = if retries {
        clone_parameters(&mut function, &mut errors)
    } else {
        Vec::new()
    };
    if !handed.is_empty() {
        unbind_mut(&mut function);
    }
    let layers = fold_attempt_deadlines(layers, &mut errors);
    let result_span = function.output_span();
    match result {
        Some(result) => errors.finish(Plan {
            rpc,
            function,
            layers,
            clones,
            handed,
            result,
            result_span,
        }),
        None => Err(errors
            .into_error()
            .unwrap_or_else(|| syn::Error::new(result_span, "expected a `Result` return type"))),
    }
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
            Layer::Breaker(_)
            | Layer::Hedge(_)
            | Layer::RateLimit(_)
            | Layer::ConcurrencyLimit(_)
            | Layer::Fallback(_) => {}
        }
    }
    Ok(())
}

fn check_blocking(layers: &[Layer], errors: &mut Errors) {
    for layer in layers {
        match layer {
            Layer::Deadline(d) => errors.push(syn::Error::new(
                d.span,
                "`#[deadline]` needs an `async fn`: a blocking function cannot be stopped when its time is up",
            )),
            Layer::Retry(args) => {
                if let Some(per) = &args.per_attempt {
                    errors.push(syn::Error::new(
                        per.span,
                        "`per_attempt` needs an `async fn`: a blocking attempt cannot be stopped when its time is up",
                    ));
                }
            }
            // A blocking function is admitted or refused at once: it never
            // waits in a limit's queue. Its fallback handler answers at once.
            Layer::Breaker(_)
            | Layer::RateLimit(_)
            | Layer::ConcurrencyLimit(_)
            | Layer::Fallback(_) => {}
            Layer::Hedge(args) => errors.push(syn::Error::new(
                args.span,
                "`#[hedge]` needs an `async fn`: its attempts run at the same time, inside the caller's task",
            )),
        }
    }
}

/// Hedged attempts run at the same time, so none may hold a `&mut`.
fn check_shared_parameters(function: &Function, errors: &mut Errors) {
    const WHY: &str = "hedged attempts run at the same time, so they cannot share a `&mut`";
    for input in &function.sig.inputs {
        match input {
            FnArg::Receiver(receiver)
                if receiver.mutability.is_some() && receiver.reference.is_some() =>
            {
                errors.push(syn::Error::new(
                    receiver.self_token.span,
                    format!("{WHY}: take `&self` (a tonic client is cheap to clone: clone it inside the body for each attempt)"),
                ));
            }
            FnArg::Typed(arg) => {
                if let Type::Reference(reference) = &*arg.ty {
                    if reference.mutability.is_some() {
                        errors.push(syn::Error::new(
                            reference.and_token.span,
                            format!("{WHY}: take `&T` and clone what each attempt must mutate (a tonic client is cheap to clone), or take it by value to have it cloned for each attempt"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `#[retry(..)] #[deadline(d)]` is `#[retry(.., per_attempt = d)]`: one
/// rule for an attempt that runs out of its own time, whichever way it was
/// written (it is retried, whatever the error type).
fn fold_attempt_deadlines(layers: Vec<Layer>, errors: &mut Errors) -> Vec<Layer> {
    let mut folded: Vec<Layer> = Vec::with_capacity(layers.len());
    for layer in layers {
        match (folded.last_mut(), layer) {
            (Some(Layer::Retry(args)), Layer::Deadline(d)) => match &args.per_attempt {
                Some(per) => {
                    errors.push(syn::Error::new(
                        d.span,
                        "a `#[deadline]` directly below `#[retry]` times each attempt, as `per_attempt` does: keep one",
                    ));
                    errors.push(syn::Error::new(per.span, "`per_attempt` set here"));
                }
                None => args.per_attempt = Some(d),
            },
            (_, layer) => folded.push(layer),
        }
    }
    folded
}

// Input:  the function's parameters.
// Output: `let p = clone_arg(&p);` for each one taken by value, to run at
//         the start of each attempt; a by-value `self` is an error. A
//         pattern that cannot be cloned as written (`(a, b): (u32, u32)`)
//         becomes `__steadfast_argN` in the signature and is destructured
//         from the clone.
fn clone_parameters(function: &mut Function, errors: &mut Errors) -> Vec<ParamClone> {
    // An `#[async_trait]` method's parameters are bound again inside its
    // async block (`let x = x;`): the clone shadows them before that, and the
    // signature stays as `async_trait` wrote it.
    let async_trait = matches!(function.shape, Shape::AsyncTrait { .. });
    let mut clones = Vec::new();
    for (i, input) in function.sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                if receiver.reference.is_none() {
                    errors.push(syn::Error::new(
                        receiver.self_token.span,
                        "`#[retry]` runs the body once per attempt, so it cannot consume `self`: take `&self` or `&mut self`",
                    ));
                }
            }
            FnArg::Typed(arg) => {
                if matches!(*arg.ty, Type::Reference(_)) {
                    continue;
                }
                let span = arg.ty.span();
                let pat = (*arg.pat).clone();
                let source = match &mut *arg.pat {
                    Pat::Ident(ident) if ident.subpat.is_none() => {
                        if !async_trait {
                            // The attempt's copy is the one that may be mutated.
                            ident.mutability = None;
                        }
                        ident.ident.clone()
                    }
                    _ if async_trait => {
                        errors.push(syn::Error::new(
                            span,
                            "`#[retry]` on an `#[async_trait]` method needs each by-value parameter bound to a name",
                        ));
                        continue;
                    }
                    _ => {
                        let name = format_ident!("__steadfast_arg{}", i);
                        *arg.pat = syn::parse_quote!(#name);
                        name
                    }
                };
                let pat = if async_trait {
                    quote::quote!(#source)
                } else {
                    quote::quote!(#pat)
                };
                clones.push(ParamClone { pat, source, span });
            }
        }
    }
    clones
}

// Input:  the function's parameters.
// Output: each one as a `#[fallback]` handler would be handed it: its name,
//         and whether it is taken by value (then kept for the handler that
//         asks). A parameter without a name, and a consumed `self`, are
//         errors: the handler could not be handed them.
fn handed_parameters(function: &Function, errors: &mut Errors) -> Vec<Handed> {
    let self_name = match &function.shape {
        Shape::AsyncTrait { prologue, .. } => prologue.iter().find_map(|stmt| match stmt {
            syn::Stmt::Local(local) => match &local.pat {
                Pat::Ident(p) if p.ident == "__self" => Some(p.ident.clone()),
                _ => None,
            },
            _ => None,
        }),
        _ => None,
    };
    let mut handed = Vec::new();
    for input in &function.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                if receiver.reference.is_none() {
                    errors.push(syn::Error::new(
                        receiver.self_token.span,
                        "`#[fallback]` keeps the parameters for its handler, so it cannot take a consumed `self`: take `&self` or `&mut self`",
                    ));
                    continue;
                }
                let name = self_name
                    .clone()
                    .unwrap_or_else(|| syn::Ident::new("self", receiver.self_token.span));
                handed.push(Handed {
                    name,
                    owned: None,
                    span: receiver.self_token.span,
                });
            }
            FnArg::Typed(arg) => {
                let span = arg.pat.span();
                let Pat::Ident(ident) = &*arg.pat else {
                    errors.push(syn::Error::new(
                        span,
                        "`#[fallback]` hands the parameters to its handler by name: bind this one to a name (`order: Order`) and take it apart in the body",
                    ));
                    continue;
                };
                if ident.subpat.is_some() || ident.by_ref.is_some() {
                    errors.push(syn::Error::new(
                        span,
                        "`#[fallback]` hands the parameters to its handler by name: bind this one to a plain name",
                    ));
                    continue;
                }
                let owned = (!matches!(*arg.ty, Type::Reference(_))).then(|| Owned {
                    mutable: ident.mutability.is_some(),
                });
                handed.push(Handed {
                    name: ident.ident.clone(),
                    owned,
                    span: arg.ty.span(),
                });
            }
        }
    }
    handed
}

/// A by-value parameter is bound for the body by the fallback's split
/// (`let (mut x, kept) = ..`): the signature's binding is never mutated.
fn unbind_mut(function: &mut Function) {
    if matches!(function.shape, Shape::AsyncTrait { .. }) {
        return;
    }
    for input in &mut function.sig.inputs {
        if let FnArg::Typed(arg) = input {
            if let (Pat::Ident(ident), false) =
                (&mut *arg.pat, matches!(*arg.ty, Type::Reference(_)))
            {
                ident.mutability = None;
            }
        }
    }
}
