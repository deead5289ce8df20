//! The expansion: the user's function with its body wrapped, layer by
//! layer, innermost first. Everything the expansion names goes through
//! `::resilient::__private` and std's absolute paths; its locals start with
//! `__resilient_` so they cannot clash with the user's.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

use crate::args::RetryArgs;
use crate::chain::Layer;

pub(crate) fn function(mut function: ItemFn, layers: &[Layer]) -> syn::Result<TokenStream> {
    let is_async = function.sig.asyncness.is_some();
    let ret = result_type(&function.sig.output);
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };

    let retries = layers.iter().any(|l| matches!(l, Layer::Retry(_)));
    if ret.is_none() {
        let what = if retries {
            "`#[retry]`"
        } else {
            "`#[deadline]`"
        };
        let span = match &function.sig.output {
            ReturnType::Default => function.sig.ident.span(),
            ReturnType::Type(_, ty) => ty.span(),
        };
        push(syn::Error::new(
            span,
            format!(
                "{what} needs a function returning `Result<T, E>`{}",
                if retries {
                    ""
                } else {
                    " with `E: From<resilient::Elapsed>`"
                }
            ),
        ));
    }
    if !is_async {
        for layer in layers {
            match layer {
                Layer::Deadline(d) => push(syn::Error::new(
                    d.span,
                    "`#[deadline]` needs an `async fn`: a blocking function cannot be stopped when its time is up",
                )),
                Layer::Retry(args) => {
                    if let Some(per) = &args.per_attempt {
                        push(syn::Error::new(
                            per.span,
                            "`per_attempt` needs an `async fn`: a blocking attempt cannot be stopped when its time is up",
                        ));
                    }
                }
            }
        }
    }

    // By-value parameters are cloned into each attempt.
    let mut clones = Vec::new();
    if retries {
        for (i, input) in function.sig.inputs.iter_mut().enumerate() {
            match input {
                FnArg::Receiver(receiver) => {
                    if receiver.reference.is_none() {
                        push(syn::Error::new(
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
                            // The attempt's copy is the one that may be mutated.
                            ident.mutability = None;
                            ident.ident.clone()
                        }
                        _ => {
                            let name = format_ident!("__resilient_arg{}", i);
                            *arg.pat = syn::parse_quote!(#name);
                            name
                        }
                    };
                    clones.push(quote_spanned! {span=>
                        #[allow(unused_variables, unused_mut)]
                        let #pat = ::resilient::__private::clone_arg(&#source);
                    });
                }
            }
        }
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    let ret = ret.unwrap_or_else(|| quote!(_));

    // Bodies are block contents (statements and a tail expression), so that
    // wrapping them adds no redundant braces for `unused_braces` to flag.
    let mut body = {
        let stmts = &function.block.stmts;
        quote!(#(#stmts)*)
    };
    let ret_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => function.sig.ident.span(),
    };
    // The clones go inside the innermost retry layer's attempt.
    let innermost_retry = layers.iter().rposition(|l| matches!(l, Layer::Retry(_)));
    for (index, layer) in layers.iter().enumerate().rev() {
        body = match layer {
            Layer::Deadline(d) => deadline(&d.tokens, body, &ret, ret_span),
            Layer::Retry(args) => {
                let clones = if Some(index) == innermost_retry {
                    &clones[..]
                } else {
                    &[]
                };
                if is_async {
                    retry_async(args, clones, body, &ret, ret_span)
                } else {
                    retry_blocking(args, clones, body, &ret)
                }
            }
        };
    }
    let ItemFn {
        attrs, vis, sig, ..
    } = &function;
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

/// `T` of `-> T` when it looks like a `Result` (`Result<..>`, `io::Result<..>`,
/// any path ending in `Result`), with `impl Trait` erased to `_`.
fn result_type(output: &ReturnType) -> Option<TokenStream> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if !last.ident.to_string().ends_with("Result") {
        return None;
    }
    let mut ty = (**ty).clone();
    EraseImplTrait.visit_type_mut(&mut ty);
    Some(quote!(#ty))
}

struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if matches!(ty, Type::ImplTrait(_)) {
            *ty = syn::parse_quote!(_);
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

// Input:  async body `B`, returning `Result<T, E>`.
// Output: `match scope(d, async { B }).await { Ok(r) => r, Err(e) => Err(e.into()) }`.
fn deadline(
    duration: &TokenStream,
    body: TokenStream,
    ret: &TokenStream,
    ret_span: Span,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let into = elapsed_into(ret_span);
    let attempt = quote!(#p::attempt::<#ret, _>(async { #body }));
    scoped(
        duration,
        &attempt,
        quote!(::core::result::Result::Err(#into)),
    )
}

// Input:  a future `F` of `Result<T, E>`, a duration, and what to do when
//         the time is up (with `__resilient_elapsed` in scope).
// Output: block contents running `F` in a deadline scope, to `Result<T, E>`.
// A failure at or after the deadline is the deadline's, whichever timer
// (ours, or the transport's for `grpc-timeout`) fired first.
fn scoped(duration: &TokenStream, future: &TokenStream, on_timeout: TokenStream) -> TokenStream {
    let p = quote!(::resilient::__private);
    quote! {
        let __resilient_scope = #p::scope(#duration, #future);
        let __resilient_until = __resilient_scope.deadline();
        match __resilient_scope.await {
            ::core::result::Result::Ok(::core::result::Result::Ok(__resilient_value)) => {
                ::core::result::Result::Ok(__resilient_value)
            }
            ::core::result::Result::Ok(::core::result::Result::Err(__resilient_error))
                if !#p::passed(__resilient_until) =>
            {
                ::core::result::Result::Err(__resilient_error)
            }
            _ => {
                let __resilient_elapsed = #p::Elapsed::new();
                #on_timeout
            }
        }
    }
}

/// The conversion of `Elapsed` into the error type, spanned on the return
/// type so that a missing `From<Elapsed>` is reported there.
fn elapsed_into(ret_span: Span) -> TokenStream {
    quote_spanned!(ret_span=> ::resilient::__private::elapsed_into(__resilient_elapsed))
}

/// How an error is classified: `when`, `on`, or by `Retryable` when the
/// error implements it (every error retried otherwise).
fn classify(args: &RetryArgs) -> TokenStream {
    let p = quote!(::resilient::__private);
    if let Some(when) = &args.when {
        quote!((#when(&__resilient_error), ::core::option::Option::None))
    } else if let Some(codes) = &args.on {
        quote!(#p::codes(&[#(#p::Code::#codes),*], &__resilient_error))
    } else {
        quote! {{
            #[allow(unused_imports)]
            use #p::{ViaAny as _, ViaRetryable as _};
            (&#p::Probe(&__resilient_error)).__resilient_classify()
        }}
    }
}

/// The policy, as a `const` when it can be one: then the future holds a
/// pointer to it rather than a copy, which keeps the success path as cheap
/// as the hand-called executor.
fn policy(args: &RetryArgs) -> TokenStream {
    let policy = args.policy();
    if args.policy_is_const() {
        quote! {
            const __RESILIENT_POLICY: ::resilient::__private::RetryPolicy = #policy;
            let __resilient_policy = &__RESILIENT_POLICY;
        }
    } else {
        quote!(let __resilient_policy = &#policy;)
    }
}

fn notify(args: &RetryArgs) -> TokenStream {
    match &args.notify {
        Some(notify) => quote! {
            #notify(&__resilient_error, __resilient_delay, __resilient_state.attempt() - 1);
        },
        None => TokenStream::new(),
    }
}

// Input:  async body `B`, returning `Result<T, E>`.
// Output: a loop that awaits `async { clones; B }` once per attempt (inside
//         a deadline scope when `per_attempt` is set) and asks `RetryState`
//         after each failure whether to sleep and go again.
fn retry_async(
    args: &RetryArgs,
    clones: &[TokenStream],
    body: TokenStream,
    ret: &TokenStream,
    ret_span: Span,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let into = elapsed_into(ret_span);
    let notify = notify(args);
    let attempt = quote! {
        #p::numbered(
            __resilient_state.previous_attempts(),
            #p::attempt::<#ret, _>(async { #(#clones)* #body }),
        )
    };
    let run = match &args.per_attempt {
        None => quote!(#attempt.await),
        Some(per) => {
            let d = &per.tokens;
            let on_timeout = quote! {
                let __resilient_error = #into;
                match __resilient_state.after_timeout() {
                    #p::Decision::Retry(__resilient_delay) => {
                        #notify
                        #p::sleep(__resilient_delay).await;
                        continue;
                    }
                    #p::Decision::Return => break ::core::result::Result::Err(__resilient_error),
                }
            };
            let scoped = scoped(d, &attempt, on_timeout);
            quote!({ #scoped })
        }
    };
    let sleep = quote!(#p::sleep(__resilient_delay).await;);
    retry_loop(args, TokenStream::new(), run, sleep)
}

// Input:  blocking body `B`, returning `Result<T, E>`.
// Output: a loop that calls `(|| -> R { clones; B })()` once per attempt and
//         sleeps the thread between attempts.
fn retry_blocking(
    args: &RetryArgs,
    clones: &[TokenStream],
    body: TokenStream,
    ret: &TokenStream,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let before = quote! {
        #[allow(clippy::redundant_closure_call)]
        let __resilient_result: #ret = (|| -> #ret { #(#clones)* #body })();
    };
    let sleep = quote!(#p::sleep_blocking(__resilient_delay););
    retry_loop(args, before, quote!(__resilient_result), sleep)
}

// The loop both forms share: `before` runs first in each round, `outcome`
// is the attempt's `Result`, `sleep` waits out a retry delay.
fn retry_loop(
    args: &RetryArgs,
    before: TokenStream,
    outcome: TokenStream,
    sleep: TokenStream,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let policy = policy(args);
    let classify = classify(args);
    let notify = notify(args);
    quote! {
        #policy
        let mut __resilient_state = #p::RetryState::new(__resilient_policy);
        loop {
            #before
            match #outcome {
                ::core::result::Result::Ok(__resilient_value) => {
                    __resilient_state.on_success();
                    break ::core::result::Result::Ok(__resilient_value);
                }
                ::core::result::Result::Err(__resilient_error) => {
                    let (__resilient_retryable, __resilient_pushback) = #classify;
                    match __resilient_state.after_classified(__resilient_retryable, __resilient_pushback) {
                        #p::Decision::Retry(__resilient_delay) => {
                            #notify
                            #sleep
                        }
                        #p::Decision::Return => break ::core::result::Result::Err(__resilient_error),
                    }
                }
            }
        }
    }
}
