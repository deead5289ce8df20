//! The expansion: the user's function with its body wrapped, layer by
//! layer, innermost first. Everything the expansion names goes through
//! `::resilient::__private` and std's absolute paths; its locals start with
//! `__resilient_` so they cannot clash with the user's. Every decision
//! (attempt numbering, classification, delays, the deadline rule) is the
//! runtime's `RetryState`: the loops written here only drive it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::Type;

use crate::attr::RetryArgs;
use crate::breaker::BreakerArgs;
use crate::hedge::HedgeArgs;
use crate::item::Shape;
use crate::valid::{Layer, ParamClone, Plan};

pub(crate) fn function(plan: Plan) -> TokenStream {
    let Plan {
        rpc,
        function,
        layers,
        clones,
        result,
        result_span,
    } = plan;
    let ret = Ret {
        ty: &result,
        span: result_span,
    };
    let spans = Spans {
        rpc: rpc.as_ref(),
        hedged: layers.iter().any(|l| matches!(l, Layer::Hedge(_))),
        name: function.sig.ident.unraw().to_string(),
        plain: false,
    };
    let body = if spans.rpc.is_some() {
        body(&function, &layers, &clones, &ret, &spans)
    } else {
        // A plain function's spans are feature `function-spans`'s (the
        // runtime's `__function_spans!` keeps one of the two): even never
        // taken, the traced branch costs the untraced one ~25 instructions
        // (a larger future, and drop glue for the span).
        let off = body(&function, &layers, &clones, &ret, &spans);
        let on = body(
            &function,
            &layers,
            &clones,
            &ret,
            &Spans {
                plain: true,
                ..spans
            },
        );
        quote!(::resilient::__function_spans! { { #on } { #off } })
    };
    let body = match &function.shape {
        Shape::AsyncTrait { boxing, prologue } => quote! {
            #boxing(async move {
                #(#prologue)*
                #body
            })
        },
        Shape::Async | Shape::Blocking => body,
    };
    let inner = &function.inner;
    let outer = &function.outer;
    let vis = &function.vis;
    let sig = &function.sig;
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #body
        }
    }
}

/// The function's new body (block contents), its spans as `spans` says.
fn body(
    function: &crate::item::Function,
    layers: &[Layer],
    clones: &[ParamClone],
    ret: &Ret<'_>,
    spans: &Spans<'_>,
) -> TokenStream {
    let is_async = function.is_async();
    // Bodies are block contents (statements and a tail expression), so that
    // wrapping them adds no redundant braces for `unused_braces` to flag.
    let mut body = {
        let stmts = &function.body;
        quote!(#(#stmts)*)
    };
    // The clones go inside the innermost retry or hedge layer's attempt.
    let innermost_retry = layers.iter().rposition(Layer::repeats);
    // A gRPC call sent once is one attempt, and has its span all the same.
    if innermost_retry.is_none() && spans.rpc.is_some() && is_async {
        let attempt = spans.attempt_body(ret, &[], &body);
        let span = spans.attempt(quote!(0u32));
        body = quote!(::resilient::__private::in_span(#span, #attempt).await);
    }
    // A plain async function whose policy makes one attempt enters its
    // call span around the innermost layer's future (with attempts, their
    // spans are the call span's children).
    let in_call = |index: usize| {
        let one_attempt = innermost_retry.is_none() && spans.plain_on() && is_async;
        (one_attempt && index + 1 == layers.len()).then_some(spans)
    };
    for (index, layer) in layers.iter().enumerate().rev() {
        body = match layer {
            Layer::Deadline(d) => {
                // Directly above a retry whose attempts are each timed, every
                // wait below is bounded by this deadline already: each
                // attempt's scope shrinks to it and the loop never sleeps past
                // it. A timer of this scope's own could never fire first.
                let bounded_below = matches!(
                    layers.get(index + 1),
                    Some(Layer::Retry(args)) if args.per_attempt.is_some()
                );
                deadline(&d.tokens, &body, ret, bounded_below, in_call(index))
            }
            Layer::Breaker(args) => breaker(args, &body, ret, is_async, in_call(index)),
            Layer::Hedge(args) => hedge(
                args,
                clones,
                Some(index) == innermost_retry,
                &body,
                ret,
                spans,
            ),
            Layer::Retry(args) => {
                let clones: Vec<TokenStream> = if Some(index) == innermost_retry {
                    clones.iter().map(clone_from_owned).collect()
                } else {
                    Vec::new()
                };
                let clones = &clones[..];
                if is_async {
                    retry_async(args, clones, &body, ret, spans)
                } else {
                    retry_blocking(args, clones, &body, ret, spans)
                }
            }
        };
    }
    spans.around_call(ret, body, is_async)
}

/// The spans: for a generated client's method (`__rpc`), gRPC A72's
/// `Sent.<service>.<method>` per call and `Attempt.<service>.<method>` per
/// attempt or hedge, with OpenTelemetry's `rpc.*` fields and the status
/// code of each; for a plain function, a call span named after it and an
/// `attempt` span per attempt of a retry or hedge.
///
/// A plain function's spans cost nothing without a subscriber that wants
/// INFO: the call decides once (`traced()`, one atomic load) and the
/// untraced branch awaits the same futures with no span layer around them.
/// (Span futures on every call and attempt, unconditionally, cost `#[retry]`
/// about 200 instructions a call with no subscriber at all: callgrind.)
struct Spans<'a> {
    rpc: Option<&'a crate::attr::Rpc>,
    /// Whether the call's extra attempts are hedges (or retries).
    hedged: bool,
    /// The function's name: a plain function's call span.
    name: String,
    /// Whether a plain function opens its spans (feature `function-spans`).
    plain: bool,
}

impl Spans<'_> {
    /// Whether this is a plain function that opens spans.
    fn plain_on(&self) -> bool {
        self.rpc.is_none() && self.plain
    }

    fn rpc_fields(&self) -> TokenStream {
        match self.rpc {
            Some(rpc) => {
                let (service, method) = (&rpc.service, &rpc.method);
                quote! {
                    "rpc.system" = "grpc",
                    "rpc.service" = #service,
                    "rpc.method" = #method,
                    "otel.kind" = "client",
                    "rpc.grpc.status_code" = ::resilient::__private::tracing::field::Empty,
                }
            }
            None => TokenStream::new(),
        }
    }

    fn call(&self) -> TokenStream {
        let Some(rpc) = self.rpc else {
            let name = &self.name;
            return quote!(::resilient::__span!(#name));
        };
        let fields = self.rpc_fields();
        let name = format!("Sent.{}.{}", rpc.service, rpc.method);
        quote!(::resilient::__span!(#name, #fields))
    }

    /// The span of the attempt that `previous` attempts came before.
    fn attempt(&self, previous: TokenStream) -> TokenStream {
        let Some(rpc) = self.rpc else {
            return quote! {
                ::resilient::__span!(
                    parent: __resilient_call_parent,
                    "attempt",
                    attempt = #previous + 1
                )
            };
        };
        let fields = self.rpc_fields();
        let name = format!("Attempt.{}.{}", rpc.service, rpc.method);
        quote! {
            ::resilient::__span!(
                #name,
                "previous-rpc-attempts" = #previous,
                "transparent-retry" = false,
                #fields
            )
        }
    }

    /// `drive(future)` for an attempt's future, inside the attempt's span:
    /// always for a gRPC call, under `traced` for a plain function.
    fn drive_attempt(
        &self,
        attempt: TokenStream,
        previous: TokenStream,
        drive: impl Fn(TokenStream) -> TokenStream,
    ) -> TokenStream {
        let span = self.attempt(previous);
        if self.rpc.is_some() {
            return drive(quote!(::resilient::__private::in_span(#span, #attempt)));
        }
        if !self.plain {
            return drive(attempt);
        }
        Self::traced_branch(attempt, span, drive)
    }

    /// `drive(future)` inside a plain function's call span: for the
    /// innermost future of a function whose policy makes one attempt.
    fn drive_in_call(
        &self,
        future: TokenStream,
        drive: impl Fn(TokenStream) -> TokenStream,
    ) -> TokenStream {
        let span = quote!(::core::clone::Clone::clone(__resilient_call_parent));
        Self::traced_branch(future, span, drive)
    }

    /// `drive(future)` with `span` around the future when the call is
    /// traced, and the bare future otherwise: both branches drive the same
    /// future, so the untraced one costs what it cost without spans.
    fn traced_branch(
        future: TokenStream,
        span: TokenStream,
        drive: impl Fn(TokenStream) -> TokenStream,
    ) -> TokenStream {
        let traced = drive(quote!(::resilient::__private::in_span(#span, __resilient_attempt)));
        let plain = drive(quote!(__resilient_attempt));
        quote! {{
            let __resilient_attempt = #future;
            if __resilient_traced { #traced } else { #plain }
        }}
    }

    /// A plain async function's call span entered while a failed attempt
    /// is decided on (`value` does not match `success`), so that the
    /// retry's events are the call's.
    fn in_call_unless(&self, success: TokenStream, value: TokenStream) -> TokenStream {
        if !self.plain_on() {
            return TokenStream::new();
        }
        quote! {
            let __resilient_in_call = (!::core::matches!(&#value, #success))
                .then(|| ::resilient::__private::enter(__resilient_call_parent));
        }
    }

    /// An attempt made by a closure (a hedge's), inside its span.
    fn made_attempt(&self, attempt: TokenStream, previous: TokenStream) -> TokenStream {
        let p = quote!(::resilient::__private);
        let span = self.attempt(previous);
        if self.rpc.is_some() {
            return quote!(#p::in_span(#span, #attempt));
        }
        if !self.plain {
            return attempt;
        }
        quote! {
            #p::in_span(if __resilient_traced { #span } else { #p::no_span() }, #attempt)
        }
    }

    /// An attempt's future: `ret.attempt(..)`, recording its status on the
    /// attempt's span for a gRPC call.
    fn attempt_body(
        &self,
        ret: &Ret<'_>,
        prelude: &[TokenStream],
        body: &TokenStream,
    ) -> TokenStream {
        let attempt = ret.attempt(prelude, body);
        if self.rpc.is_none() {
            return attempt;
        }
        let ty = ret.ty;
        quote! {
            async {
                let __resilient_attempt_stats = __resilient_stats.attempt();
                let __resilient_result: #ty = #attempt.await;
                ::resilient::__private::record_status_here(&__resilient_result);
                __resilient_attempt_stats.end(&__resilient_result);
                __resilient_result
            }
        }
    }

    /// The whole expanded body inside the call span.
    fn around_call(&self, ret: &Ret<'_>, body: TokenStream, is_async: bool) -> TokenStream {
        let p = quote!(::resilient::__private);
        if self.rpc.is_none() && !self.plain {
            return body;
        }
        let span = self.call();
        let ty = ret.ty;
        if !is_async {
            return quote! {
                let __resilient_traced = #p::traced();
                let __resilient_call_span = if __resilient_traced { #span } else { #p::no_span() };
                let __resilient_call_parent = &__resilient_call_span;
                let __resilient_in_call = #p::enter(__resilient_call_parent);
                #body
            };
        }
        if let Some(rpc) = self.rpc {
            let path = format!("{}/{}", rpc.service, rpc.method);
            let hedged = self.hedged;
            let target = match &rpc.target {
                Some(target) => quote!(&#target),
                None => quote!(&#p::Target::OTHER),
            };
            return quote! {
                // gRPC A66/A96 metrics (feature `opentelemetry`).
                let __resilient_stats_owned = #p::CallStats::start(#path, #hedged, #target);
                let __resilient_stats = &__resilient_stats_owned;
                let __resilient_call_span = #span;
                let __resilient_result: #ty = #p::in_span(
                    ::core::clone::Clone::clone(&__resilient_call_span),
                    async { #body },
                )
                .await;
                #p::record_status(&__resilient_call_span, &__resilient_result);
                __resilient_stats.finish(&__resilient_result);
                __resilient_result
            };
        }
        // No span future around the body: that layer alone cost `#[retry]`
        // ~110 instructions a call (its future is moved when it is made).
        // The call span is the explicit parent of the attempts' spans, or
        // entered around the innermost future when nothing repeats.
        quote! {
            let __resilient_traced = #p::traced();
            let __resilient_call_span = if __resilient_traced { #span } else { #p::no_span() };
            // A reference, so that attempts made by a `move` closure (a
            // hedge's) copy it.
            let __resilient_call_parent = &__resilient_call_span;
            #body
        }
    }
}

/// The body's `Result` type, and where errors about it belong.
struct Ret<'a> {
    ty: &'a Type,
    span: Span,
}

impl Ret<'_> {
    // Input:  block contents `B` of type `Result<T, E>`.
    // Output: `async { fake return; B }`. The fake return fixes the block's
    //         output type before the body is checked, so coercions at
    //         `return` and at the tail (`Err(Box::new(e))` into
    //         `Box<dyn Error>`) and `?` conversions mean what they mean
    //         without the attribute.
    fn attempt(&self, prelude: &[TokenStream], body: &TokenStream) -> TokenStream {
        let block = self.block(prelude, body);
        quote!(async #block)
    }

    /// As [`attempt`](Self::attempt), an `async move` block: for attempts
    /// made by a closure, which hands them copies of its references.
    fn attempt_move(&self, prelude: &[TokenStream], body: &TokenStream) -> TokenStream {
        let block = self.block(prelude, body);
        quote!(async move #block)
    }

    fn block(&self, prelude: &[TokenStream], body: &TokenStream) -> TokenStream {
        let ty = self.ty;
        let fake = quote_spanned! {self.span=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_with_type_underscore,
                clippy::needless_return
            )]
            if false {
                let __resilient_fake_return: #ty = loop {};
                return __resilient_fake_return;
            }
        };
        quote!({ #(#prelude)* #fake #body })
    }

    /// `Elapsed` into the error type, spanned on the return type so that a
    /// missing `From<Elapsed>` is reported there.
    fn elapsed_into(&self) -> TokenStream {
        quote_spanned! {self.span=>
            |_| ::resilient::__private::elapsed_into(::resilient::__private::Elapsed::new())
        }
    }
}

/// How a failed attempt is judged: `when`, `on`, or the error's
/// `Retryable` impl when it has one (every error retried otherwise).
fn verdict(when: Option<&syn::Path>, on: Option<&Vec<syn::Ident>>) -> TokenStream {
    let p = quote!(::resilient::__private);
    let by_type = quote! {{
        #[allow(unused_imports)]
        use #p::{ViaAny as _, ViaRetryable as _};
        (&#p::Probe(__resilient_error)).__resilient_verdict()
    }};
    let verdict = match (when, on) {
        (Some(when), _) => quote!(#p::when(#when(__resilient_error), #by_type)),
        (None, Some(codes)) => {
            quote!(#p::codes(&[#(#p::Code::#codes),*], __resilient_error))
        }
        (None, None) => by_type,
    };
    quote!(|__resilient_error| #verdict)
}

// Input:  async body `B`, returning `Result<T, E>`.
// Output: `B` run in `scope(d, ..)` (`carried(d, ..)`, without a timer, when
//         everything below is bounded by it already); when the time runs
//         out, `E::from(Elapsed)`.
fn deadline(
    duration: &TokenStream,
    body: &TokenStream,
    ret: &Ret<'_>,
    bounded_below: bool,
    in_call: Option<&Spans<'_>>,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let attempt = ret.attempt(&[], body);
    let verdict = verdict(None, None);
    let elapsed_into = ret.elapsed_into();
    let scope = if bounded_below {
        quote!(#p::carried)
    } else {
        quote!(#p::timed)
    };
    let drive = |future: TokenStream| quote!(#scope(#duration, #future).await);
    let scoped = match in_call {
        Some(spans) => spans.drive_in_call(attempt, drive),
        None => drive(attempt),
    };
    quote! {
        let (__resilient_scoped, __resilient_until) = #scoped;
        #p::deadline_result(__resilient_scoped, __resilient_until, #verdict, #elapsed_into)
    }
}

// Input:  body `B`, returning `Result<T, E>`.
// Output: `B` run only when the breaker lets the call through, its outcome
//         reported to the breaker; `Err(E::from(CircuitOpen))` otherwise.
//         A breaker of the function's own is a `static` in the body.
fn breaker(
    args: &BreakerArgs,
    body: &TokenStream,
    ret: &Ret<'_>,
    is_async: bool,
    in_call: Option<&Spans<'_>>,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let ty = ret.ty;
    let breaker = match &args.shared {
        Some(expr) => {
            let span = syn::spanned::Spanned::span(expr);
            quote_spanned! {span=>
                let __resilient_breaker: &#p::CircuitBreaker = &#expr;
            }
        }
        None => {
            let construction = args.construction();
            quote! {
                static __RESILIENT_BREAKER: #p::CircuitBreaker = #construction;
                let __resilient_breaker = &__RESILIENT_BREAKER;
            }
        }
    };
    let run = if is_async {
        let attempt = ret.attempt(&[], body);
        let drive = |future: TokenStream| quote!(#future.await);
        match in_call {
            Some(spans) => spans.drive_in_call(attempt, drive),
            None => drive(attempt),
        }
    } else {
        quote!((|| -> #ty { #body })())
    };
    let fault = match &args.when {
        Some(when) => quote!(#when(__resilient_error)),
        None => quote! {{
            #[allow(unused_imports)]
            use #p::{ViaAnyFault as _, ViaFault as _};
            (&#p::FaultProbe(__resilient_error)).__resilient_is_fault()
        }},
    };
    let refused = quote_spanned!(ret.span=> #p::refused::<#ty>(__resilient_open));
    quote! {
        #breaker
        match __resilient_breaker.acquire() {
            ::core::result::Result::Ok(__resilient_permit) => {
                #[allow(clippy::redundant_closure_call)]
                let __resilient_result: #ty = #run;
                match &__resilient_result {
                    ::core::result::Result::Ok(_) => __resilient_permit.success(),
                    ::core::result::Result::Err(__resilient_error) => __resilient_permit.record(#fault),
                }
                __resilient_result
            }
            ::core::result::Result::Err(__resilient_open) => #refused,
        }
    }
}

/// `let PAT = clone_arg(&SOURCE);`: a by-value parameter cloned for one attempt.
fn clone_from_owned(clone: &ParamClone) -> TokenStream {
    let ParamClone { pat, source, span } = clone;
    quote_spanned! {*span=>
        #[allow(unused_variables, unused_mut)]
        let #pat = ::resilient::__private::clone_arg(&#source);
    }
}

// Input:  async body `B`, returning `Result<T, E>`.
// Output: `hedge(policy, move || async move { clones; B }, verdict)`: the
//         attempts are made by a closure and polled together in the
//         caller's task. By-value parameters are lent to the closure as
//         references and cloned into each attempt (destructured there when
//         this is the innermost repeating layer); references are copied.
fn hedge(
    args: &HedgeArgs,
    clones: &[ParamClone],
    innermost: bool,
    body: &TokenStream,
    ret: &Ret<'_>,
    spans: &Spans<'_>,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let lend = clones.iter().map(|ParamClone { source, span, .. }| {
        quote_spanned! {*span=>
            #[allow(unused_variables)]
            let #source = &#source;
        }
    });
    let take: Vec<TokenStream> = clones
        .iter()
        .map(|ParamClone { pat, source, span }| {
            let bound = if innermost {
                pat.clone()
            } else {
                quote!(#source)
            };
            quote_spanned! {*span=>
                #[allow(unused_variables, unused_mut)]
                let #bound = ::resilient::__private::clone_arg(#source);
            }
        })
        .collect();
    let attempt = ret.attempt_move(&take, body);
    let attempt = if spans.rpc.is_some() {
        let ty = ret.ty;
        quote! {
            async move {
                let __resilient_attempt_stats = __resilient_stats.attempt();
                let __resilient_result: #ty = #attempt.await;
                ::resilient::__private::record_status_here(&__resilient_result);
                __resilient_attempt_stats.end(&__resilient_result);
                __resilient_result
            }
        }
    } else {
        attempt
    };
    let attempt = spans.made_attempt(attempt, quote!(__resilient_number));
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    let (statics, policy) = args.policy();
    let binding = if args.policy_is_static() {
        quote! {
            static __RESILIENT_HEDGE: #p::HedgePolicy = #policy;
            let __resilient_hedge = &__RESILIENT_HEDGE;
        }
    } else {
        quote!(let __resilient_hedge = &#policy;)
    };
    quote! {
        #statics
        #binding
        #(#lend)*
        #p::hedge(__resilient_hedge, move |__resilient_number: u32| #attempt, #verdict).await
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

// Input:  async body `B`, returning `Result<T, E>`.
// Output: a loop that awaits `async { clones; B }` once per attempt (inside
//         a deadline scope when the attempt has its own time), hands each
//         result to `RetryState`, and sleeps when it says so.
fn retry_async(
    args: &RetryArgs,
    clones: &[TokenStream],
    body: &TokenStream,
    ret: &Ret<'_>,
    spans: &Spans<'_>,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let attempt = spans.attempt_body(ret, clones, body);
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    // The policy's `nested` setting, known here: a constant to `begin_as`.
    let once = matches!(args.nested_once, Some((true, _)));
    let previous = quote!(__resilient_state.previous_attempts());
    let run = match &args.per_attempt {
        None => {
            let result = spans.drive_attempt(
                attempt,
                previous,
                |future| quote!(__resilient_state.begin_as(#once, #future).await),
            );
            let in_call = spans.in_call_unless(
                quote!(::core::result::Result::Ok(_)),
                quote!(__resilient_result),
            );
            quote! {
                let __resilient_result = #result;
                #in_call
                __resilient_state.end(__resilient_result, #verdict)
            }
        }
        Some(per) => {
            let d = &per.tokens;
            let elapsed_into = ret.elapsed_into();
            let scoped = spans.drive_attempt(
                attempt,
                previous,
                |future| quote!(#p::timed(#d, __resilient_state.begin_as(#once, #future)).await),
            );
            let in_call = spans.in_call_unless(
                quote!(::core::result::Result::Ok(::core::result::Result::Ok(_))),
                quote!(__resilient_scoped),
            );
            quote! {
                let (__resilient_scoped, __resilient_until) = #scoped;
                #in_call
                __resilient_state.end_timed(__resilient_scoped, __resilient_until, #verdict, #elapsed_into)
            }
        }
    };
    let sleep = if spans.rpc.is_some() {
        quote! {
            __resilient_stats.delayed(__resilient_delay);
            #p::sleep(__resilient_delay).await;
        }
    } else {
        quote!(#p::sleep(__resilient_delay).await;)
    };
    retry_loop(args, run, sleep)
}

// Input:  blocking body `B`, returning `Result<T, E>`.
// Output: a loop that calls `(|| -> R { clones; B })()` once per attempt and
//         sleeps the thread between attempts.
fn retry_blocking(
    args: &RetryArgs,
    clones: &[TokenStream],
    body: &TokenStream,
    ret: &Ret<'_>,
    spans: &Spans<'_>,
) -> TokenStream {
    let p = quote!(::resilient::__private);
    let ty = ret.ty;
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    let (enter, exit) = if spans.plain_on() {
        let span = spans.attempt(quote!(__resilient_state.previous_attempts()));
        (
            quote!(let __resilient_entered = #p::enter_if(__resilient_traced, || #span);),
            quote!(::core::mem::drop(__resilient_entered);),
        )
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let run = quote! {
        #enter
        #[allow(clippy::redundant_closure_call)]
        let __resilient_result: #ty = (|| -> #ty { #(#clones)* #body })();
        #exit
        __resilient_state.end(__resilient_result, #verdict)
    };
    retry_loop(args, run, quote!(#p::sleep_blocking(__resilient_delay);))
}

// The loop both forms share: `run` makes one attempt and evaluates to what
// `RetryState` says next; `sleep` waits out a retry delay.
fn retry_loop(args: &RetryArgs, run: TokenStream, sleep: TokenStream) -> TokenStream {
    let p = quote!(::resilient::__private);
    let policy = policy(args);
    let notify = match &args.notify {
        Some(notify) => quote! {
            #notify(&__resilient_error, __resilient_delay, __resilient_state.previous_attempts());
        },
        None => TokenStream::new(),
    };
    quote! {
        #policy
        let mut __resilient_state = #p::RetryState::new(__resilient_policy);
        loop {
            let __resilient_next = { #run };
            match __resilient_next {
                #p::Next::Return(__resilient_result) => break __resilient_result,
                #p::Next::Retry { error: __resilient_error, delay: __resilient_delay } => {
                    #notify
                    #p::discard(__resilient_error);
                    #sleep
                }
            }
        }
    }
}
