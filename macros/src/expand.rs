//! The expansion: the user's function with its body wrapped, layer by
//! layer, innermost first. Everything the expansion names goes through
//! the runtime's `__private` (see `runtime`, for `crate = ..`) and std's absolute paths; its locals start with
//! `__steadfast_` so they cannot clash with the user's. Every decision
//! (attempt numbering, classification, delays, the deadline rule) is the
//! runtime's `RetryState`: the loops written here only drive it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::Type;

use crate::attr::RetryArgs;
use crate::breaker::BreakerArgs;
use crate::fallback::FallbackArgs;
use crate::hedge::HedgeArgs;
use crate::item::Shape;
use crate::limit::LimitArgs;
use crate::valid::{Handed, Layer, ParamClone, Plan};

pub(crate) fn function(plan: Plan) -> TokenStream {
    let p = crate::runtime::private();
    let Plan {
        rpc,
        function,
        layers,
        clones,
        handed,
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
        body(&function, &layers, &clones, &handed, &ret, &spans)
    } else {
        // A plain function's spans are feature `function-spans`'s (the
        // runtime's `__function_spans!` keeps one of the two): even never
        // taken, the traced branch costs the untraced one ~25 instructions
        // (a larger future, and drop glue for the span).
        let off = body(&function, &layers, &clones, &handed, &ret, &spans);
        let on = body(
            &function,
            &layers,
            &clones,
            &handed,
            &ret,
            &Spans {
                plain: true,
                ..spans
            },
        );
        quote!(#p::function_spans! { { #on } { #off } })
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
    let contract = proc_macro2::Literal::u32_unsuffixed(crate::runtime::CONTRACT);
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #p::contract!(#contract);
            #body
        }
    }
}

/// The function's new body (block contents), its spans as `spans` says.
fn body(
    function: &crate::item::Function,
    layers: &[Layer],
    clones: &[ParamClone],
    handed: &[Handed],
    ret: &Ret<'_>,
    spans: &Spans<'_>,
) -> TokenStream {
    let p = crate::runtime::private();
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
        body = quote!(#p::in_span(#span, #attempt).await);
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
            Layer::RateLimit(args) => {
                limit(Limit::Rate, args, &body, ret, is_async, in_call(index))
            }
            Layer::ConcurrencyLimit(args) => limit(
                Limit::Concurrency,
                args,
                &body,
                ret,
                is_async,
                in_call(index),
            ),
            Layer::Fallback(args) => fallback(args, handed, &body, ret, is_async, in_call(index)),
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

/// The spans: for a generated client's method (`__rpc`), `Sent` per call
/// and `Attempt` per attempt or hedge, their gRPC A72 names
/// (`Sent.<service>.<method>`) in `otel.name` as `ServiceConfigLayer` and
/// `DeadlineLayer` name theirs, with OpenTelemetry's `rpc.*` fields and the
/// status code of each; for a plain function, a call span named after it and an
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
        let p = crate::runtime::private();
        match self.rpc {
            Some(rpc) => {
                let (service, method) = (&rpc.service, &rpc.method);
                quote! {
                    "rpc.system" = "grpc",
                    "rpc.service" = #service,
                    "rpc.method" = #method,
                    "otel.kind" = "client",
                    "rpc.grpc.status_code" = #p::tracing::field::Empty,
                }
            }
            None => TokenStream::new(),
        }
    }

    fn call(&self) -> TokenStream {
        let p = crate::runtime::private();
        let Some(rpc) = self.rpc else {
            let name = &self.name;
            return quote!(#p::span!(#name));
        };
        let fields = self.rpc_fields();
        let name = format!("Sent.{}.{}", rpc.service, rpc.method);
        quote!(#p::span!("Sent", "otel.name" = #name, #fields))
    }

    /// The span of the attempt that `previous` attempts came before.
    fn attempt(&self, previous: TokenStream) -> TokenStream {
        let p = crate::runtime::private();
        let Some(rpc) = self.rpc else {
            return quote! {
                #p::span!(
                    parent: __steadfast_call_parent,
                    "attempt",
                    attempt = #previous + 1
                )
            };
        };
        let fields = self.rpc_fields();
        let name = format!("Attempt.{}.{}", rpc.service, rpc.method);
        quote! {
            #p::span!(
                "Attempt",
                "otel.name" = #name,
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
        let p = crate::runtime::private();
        let span = self.attempt(previous);
        if self.rpc.is_some() {
            return drive(quote!(#p::in_span(#span, #attempt)));
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
        let span = quote!(::core::clone::Clone::clone(__steadfast_call_parent));
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
        let p = crate::runtime::private();
        let traced = drive(quote!(#p::in_span(#span, __steadfast_attempt)));
        let plain = drive(quote!(__steadfast_attempt));
        quote! {{
            let __steadfast_attempt = #future;
            if __steadfast_traced { #traced } else { #plain }
        }}
    }

    /// A plain async function's call span entered while a failed attempt
    /// is decided on (`value` does not match `success`), so that the
    /// retry's events are the call's.
    fn in_call_unless(&self, success: TokenStream, value: TokenStream) -> TokenStream {
        let p = crate::runtime::private();
        if !self.plain_on() {
            return TokenStream::new();
        }
        quote! {
            let __steadfast_in_call = (!::core::matches!(&#value, #success))
                .then(|| #p::enter(__steadfast_call_parent));
        }
    }

    /// An attempt made by a closure (a hedge's), inside its span.
    fn made_attempt(&self, attempt: TokenStream, previous: TokenStream) -> TokenStream {
        let p = crate::runtime::private();
        let span = self.attempt(previous);
        if self.rpc.is_some() {
            return quote!(#p::in_span(#span, #attempt));
        }
        if !self.plain {
            return attempt;
        }
        quote! {
            #p::in_span(if __steadfast_traced { #span } else { #p::no_span() }, #attempt)
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
        let p = crate::runtime::private();
        let attempt = ret.attempt(prelude, body);
        if self.rpc.is_none() {
            return attempt;
        }
        let ty = ret.ty;
        quote! {
            async {
                let __steadfast_attempt_stats = __steadfast_stats.attempt();
                let __steadfast_result: #ty = #attempt.await;
                #p::record_status_here(&__steadfast_result);
                __steadfast_attempt_stats.end(&__steadfast_result);
                __steadfast_result
            }
        }
    }

    /// The whole expanded body inside the call span.
    fn around_call(&self, ret: &Ret<'_>, body: TokenStream, is_async: bool) -> TokenStream {
        let p = crate::runtime::private();
        if self.rpc.is_none() && !self.plain {
            return body;
        }
        let span = self.call();
        let ty = ret.ty;
        if !is_async {
            return quote! {
                let __steadfast_traced = #p::traced();
                let __steadfast_call_span = if __steadfast_traced { #span } else { #p::no_span() };
                let __steadfast_call_parent = &__steadfast_call_span;
                let __steadfast_in_call = #p::enter(__steadfast_call_parent);
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
                let __steadfast_stats_owned = #p::CallStats::start(#path, #hedged, #target);
                let __steadfast_stats = &__steadfast_stats_owned;
                let __steadfast_call_span = #span;
                let __steadfast_result: #ty = #p::in_span(
                    ::core::clone::Clone::clone(&__steadfast_call_span),
                    async { #body },
                )
                .await;
                #p::record_status(&__steadfast_call_span, &__steadfast_result);
                __steadfast_stats.finish(&__steadfast_result);
                __steadfast_result
            };
        }
        // No span future around the body: that layer alone cost `#[retry]`
        // ~110 instructions a call (its future is moved when it is made).
        // The call span is the explicit parent of the attempts' spans, or
        // entered around the innermost future when nothing repeats.
        quote! {
            let __steadfast_traced = #p::traced();
            let __steadfast_call_span = if __steadfast_traced { #span } else { #p::no_span() };
            // A reference, so that attempts made by a `move` closure (a
            // hedge's) copy it.
            let __steadfast_call_parent = &__steadfast_call_span;
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
                let __steadfast_fake_return: #ty = loop {};
                return __steadfast_fake_return;
            }
        };
        quote!({ #(#prelude)* #fake #body })
    }

    /// `Elapsed` into the error type, spanned on the return type so that a
    /// missing `From<Elapsed>` is reported there.
    fn elapsed_into(&self) -> TokenStream {
        let p = crate::runtime::private_at(self.span);
        quote_spanned! {self.span=>
            |_| #p::elapsed_into(#p::Elapsed::new())
        }
    }
}

/// How a failed attempt is judged: `when`, `on`, or the error's
/// `Retryable` impl when it has one (every error retried otherwise).
fn verdict(when: Option<&syn::Path>, on: Option<&Vec<syn::Ident>>) -> TokenStream {
    let p = crate::runtime::private();
    let by_type = quote! {{
        #[allow(unused_imports)]
        use #p::{ViaAny as _, ViaRetryable as _};
        (&#p::Probe(__steadfast_error)).__steadfast_verdict()
    }};
    let verdict = match (when, on) {
        (Some(when), _) => quote!(#p::when(#when(__steadfast_error), #by_type)),
        (None, Some(codes)) => {
            quote!(#p::codes(&[#(#p::Code::#codes),*], __steadfast_error))
        }
        (None, None) => by_type,
    };
    quote!(|__steadfast_error| #verdict)
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
    let p = crate::runtime::private();
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
        let (__steadfast_scoped, __steadfast_until) = #scoped;
        #p::deadline_result(__steadfast_scoped, __steadfast_until, #verdict, #elapsed_into)
    }
}

/// The body run once, as an expression of the function's `Result` type: an
/// `async fn`'s awaited (in the call span when `in_call`), a blocking one's
/// called as a closure. What the layers that run the body at most once
/// (a breaker, a limit) wrap.
fn run_once(
    body: &TokenStream,
    ret: &Ret<'_>,
    is_async: bool,
    in_call: Option<&Spans<'_>>,
) -> TokenStream {
    let ty = ret.ty;
    if is_async {
        let attempt = ret.attempt(&[], body);
        let drive = |future: TokenStream| quote!(#future.await);
        match in_call {
            Some(spans) => spans.drive_in_call(attempt, drive),
            None => drive(attempt),
        }
    } else {
        quote!((|| -> #ty { #body })())
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
    let p = crate::runtime::private();
    let ty = ret.ty;
    let breaker = match &args.shared {
        Some(expr) => {
            let span = syn::spanned::Spanned::span(expr);
            let p = crate::runtime::private_at(span);
            quote_spanned! {span=>
                let __steadfast_breaker: &#p::CircuitBreaker = &#expr;
            }
        }
        None => {
            let construction = args.construction();
            quote! {
                static __STEADFAST_BREAKER: #p::CircuitBreaker = #construction;
                let __steadfast_breaker = &__STEADFAST_BREAKER;
            }
        }
    };
    let run = run_once(body, ret, is_async, in_call);
    let fault = match &args.when {
        Some(when) => quote!(#when(__steadfast_error)),
        None => quote! {{
            #[allow(unused_imports)]
            use #p::{ViaAnyFault as _, ViaFault as _};
            (&#p::FaultProbe(__steadfast_error)).__steadfast_is_fault()
        }},
    };
    let refused = {
        let p = crate::runtime::private_at(ret.span);
        quote_spanned!(ret.span=> #p::refused::<#ty>(__steadfast_open))
    };
    quote! {
        #breaker
        match __steadfast_breaker.acquire() {
            ::core::result::Result::Ok(__steadfast_permit) => {
                #[allow(clippy::redundant_closure_call)]
                let __steadfast_result: #ty = #run;
                match &__steadfast_result {
                    ::core::result::Result::Ok(_) => __steadfast_permit.success(),
                    ::core::result::Result::Err(__steadfast_error) => __steadfast_permit.record(#fault),
                }
                __steadfast_result
            }
            ::core::result::Result::Err(__steadfast_open) => #refused,
        }
    }
}

/// Which limit a `limit` layer asks.
#[derive(Clone, Copy)]
enum Limit {
    Rate,
    Concurrency,
}

// Input:  body `B`, returning `Result<T, E>`.
// Output: `B` run only once the limit admits the call (an `async fn` may
//         wait in the limit's queue; a blocking one is admitted or refused
//         at once), a concurrency limit's place held while it runs;
//         `Err(E::from(Limited))` without running it otherwise. A limit of
//         the function's own is a `static` in the body.
fn limit(
    which: Limit,
    args: &LimitArgs,
    body: &TokenStream,
    ret: &Ret<'_>,
    is_async: bool,
    in_call: Option<&Spans<'_>>,
) -> TokenStream {
    let ty = ret.ty;
    let limit = match &args.shared {
        Some(expr) => {
            let span = syn::spanned::Spanned::span(expr);
            let p = crate::runtime::private_at(span);
            match which {
                Limit::Rate if args.key.is_some() => {
                    quote_spanned!(span=> let __steadfast_limit: &#p::KeyedRateLimiter = &#expr;)
                }
                Limit::Rate => {
                    quote_spanned!(span=> let __steadfast_limit: &#p::RateLimiter = &#expr;)
                }
                Limit::Concurrency => {
                    quote_spanned!(span=> let __steadfast_limit: &#p::ConcurrencyLimit = &#expr;)
                }
            }
        }
        None => {
            let p = crate::runtime::private();
            let construction = args.construction();
            let ty = match which {
                Limit::Rate if args.key.is_some() => quote!(#p::KeyedRateLimiter),
                Limit::Rate => quote!(#p::RateLimiter),
                Limit::Concurrency => quote!(#p::ConcurrencyLimit),
            };
            quote! {
                static __STEADFAST_LIMIT: #ty = #construction;
                let __steadfast_limit = &__STEADFAST_LIMIT;
            }
        }
    };
    let admit = match (&args.key, is_async) {
        (Some(key), true) => quote!(__steadfast_limit.acquire_key(&(#key)).await),
        (Some(key), false) => quote!(__steadfast_limit.try_acquire_key(&(#key))),
        (None, true) => quote!(__steadfast_limit.acquire().await),
        (None, false) => quote!(__steadfast_limit.try_acquire()),
    };
    let run = run_once(body, ret, is_async, in_call);
    let refused = {
        let p = crate::runtime::private_at(ret.span);
        quote_spanned!(ret.span=> #p::limited::<#ty>(__steadfast_limited))
    };
    let admitted = match which {
        Limit::Rate => quote! {
            #[allow(clippy::redundant_closure_call)]
            ::core::result::Result::Ok(()) => #run,
        },
        // The place is held until the call is done.
        Limit::Concurrency => quote! {
            ::core::result::Result::Ok(__steadfast_place) => {
                #[allow(clippy::redundant_closure_call)]
                let __steadfast_result: #ty = #run;
                ::core::mem::drop(__steadfast_place);
                __steadfast_result
            }
        },
    };
    quote! {
        #limit
        match #admit {
            #admitted
            ::core::result::Result::Err(__steadfast_limited) => #refused,
        }
    }
}

// Input:  body `B`, returning `Result<T, E>`; the parameters the handler
//         may ask for.
// Output: `B`'s result, or, on an error the fallback answers (a local
//         refusal, or what `when` selects), the handler's answer. The
//         handler's shape (the error alone, or the parameters by reference
//         and then the error) is a type the compiler picks before `B` runs:
//         with the parameters, each by-value one is kept for the handler and
//         `B` gets a clone; with the error alone, nothing is kept.
fn fallback(
    args: &FallbackArgs,
    handed: &[Handed],
    body: &TokenStream,
    ret: &Ret<'_>,
    is_async: bool,
    in_call: Option<&Spans<'_>>,
) -> TokenStream {
    let p = crate::runtime::private();
    let ty = ret.ty;
    let handler = &args.handler;
    let handler_span = syn::spanned::Spanned::span(handler);
    let kept = |name: &syn::Ident| quote::format_ident!("__steadfast_kept_{}", name.unraw());
    let probes = handed.iter().map(|h| {
        let name = &h.name;
        match h.owned {
            Some(_) => quote!(&#name),
            None => quote!(&*#name),
        }
    });
    let mode = {
        let p = crate::runtime::private_at(handler_span);
        // The parameters' types are known before the handler is matched
        // against them, so that a handler that does not fit is reported as
        // such (rather than as a tuple of the wrong length).
        quote_spanned! {handler_span=>
            let __steadfast_probe = (#(#probes,)*);
            let __steadfast_mode = #p::fallback_mode::<#ty, _, _, _>(&#handler, __steadfast_probe);
        }
    };
    let splits = handed.iter().filter_map(|h| {
        let owned = h.owned.as_ref()?;
        let name = &h.name;
        let kept = kept(name);
        let mutable = owned.mutable.then(|| quote!(mut));
        let p = crate::runtime::private_at(h.span);
        Some(quote_spanned! {h.span=>
            #[allow(unused_mut)]
            let (#mutable #name, #kept) = #p::keep(__steadfast_mode, #name);
        })
    });
    let params = handed.iter().map(|h| {
        let name = &h.name;
        match h.owned {
            Some(_) => {
                let kept = kept(name);
                quote!(&#kept)
            }
            None => quote!(&*#name),
        }
    });
    let answers = match &args.when {
        None => {
            let p = crate::runtime::private_at(ret.span);
            quote_spanned!(ret.span=> #p::is_local_refusal(&__steadfast_error))
        }
        Some(when) => quote! {
            #when(&__steadfast_error) || {
                #[allow(unused_imports)]
                use #p::{ViaLocalRefusal as _, ViaNoRefusal as _};
                (&#p::RefusalProbe(&__steadfast_error)).__steadfast_is_local_refusal()
            }
        },
    };
    let call = {
        let p = crate::runtime::private_at(handler_span);
        quote_spanned! {handler_span=>
            #p::call_fallback(__steadfast_mode, #handler, (#(#params,)*), __steadfast_error)
        }
    };
    let answer = {
        let p = crate::runtime::private_at(handler_span);
        if is_async {
            quote_spanned!(handler_span=> #p::answer::<#ty, _, _>(#call).await)
        } else {
            quote_spanned!(handler_span=> #p::answer_now::<#ty, _>(#call))
        }
    };
    let run = run_once(body, ret, is_async, in_call);
    quote! {
        #mode
        #(#splits)*
        #[allow(clippy::redundant_closure_call)]
        let __steadfast_result: #ty = #run;
        match __steadfast_result {
            ::core::result::Result::Err(__steadfast_error) if #answers => #answer,
            __steadfast_result => __steadfast_result,
        }
    }
}

/// `let PAT = clone_arg(&SOURCE);`: a by-value parameter cloned for one attempt.
fn clone_from_owned(clone: &ParamClone) -> TokenStream {
    let ParamClone { pat, source, span } = clone;
    let p = crate::runtime::private_at(*span);
    quote_spanned! {*span=>
        #[allow(unused_variables, unused_mut)]
        let #pat = #p::clone_arg(&#source);
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
    let p = crate::runtime::private();
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
            let p = crate::runtime::private_at(*span);
            quote_spanned! {*span=>
                #[allow(unused_variables, unused_mut)]
                let #bound = #p::clone_arg(#source);
            }
        })
        .collect();
    let attempt = ret.attempt_move(&take, body);
    let attempt = if spans.rpc.is_some() {
        let ty = ret.ty;
        quote! {
            async move {
                let __steadfast_attempt_stats = __steadfast_stats.attempt();
                let __steadfast_result: #ty = #attempt.await;
                #p::record_status_here(&__steadfast_result);
                __steadfast_attempt_stats.end(&__steadfast_result);
                __steadfast_result
            }
        }
    } else {
        attempt
    };
    let attempt = spans.made_attempt(attempt, quote!(__steadfast_number));
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    let (statics, policy) = args.policy();
    let binding = if args.policy_is_static() {
        quote! {
            static __STEADFAST_HEDGE: #p::HedgePolicy = #policy;
            let __steadfast_hedge = &__STEADFAST_HEDGE;
        }
    } else {
        quote!(let __steadfast_hedge = &#policy;)
    };
    quote! {
        #statics
        #binding
        #(#lend)*
        #p::hedge(__steadfast_hedge, move |__steadfast_number: u32| #attempt, #verdict).await
    }
}

/// The policy, as a `const` when it can be one: then the future holds a
/// pointer to it rather than a copy, which keeps the success path as cheap
/// as the hand-called executor.
fn policy(args: &RetryArgs) -> TokenStream {
    let p = crate::runtime::private();
    let policy = args.policy();
    if args.policy_is_const() {
        quote! {
            const __STEADFAST_POLICY: #p::RetryPolicy = #policy;
            let __steadfast_policy = &__STEADFAST_POLICY;
        }
    } else {
        quote!(let __steadfast_policy = &#policy;)
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
    let p = crate::runtime::private();
    let attempt = spans.attempt_body(ret, clones, body);
    if let Some(policy) = &args.driven_by {
        return driven_retry(policy, attempt, spans);
    }
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    // The policy's `nested` setting, known here: a constant to `begin_as`.
    let once = matches!(args.nested_once, Some((true, _)));
    let previous = quote!(__steadfast_state.previous_attempts());
    let run = match &args.per_attempt {
        None => {
            let result = spans.drive_attempt(
                attempt,
                previous,
                |future| quote!(__steadfast_state.begin_as(#once, #future).await),
            );
            let in_call = spans.in_call_unless(
                quote!(::core::result::Result::Ok(_)),
                quote!(__steadfast_result),
            );
            quote! {
                let __steadfast_result = #result;
                #in_call
                __steadfast_state.end(__steadfast_result, #verdict)
            }
        }
        Some(per) => {
            let d = &per.tokens;
            let elapsed_into = ret.elapsed_into();
            let scoped = spans.drive_attempt(
                attempt,
                previous,
                |future| quote!(#p::timed(#d, __steadfast_state.begin_as(#once, #future)).await),
            );
            let in_call = spans.in_call_unless(
                quote!(::core::result::Result::Ok(::core::result::Result::Ok(_))),
                quote!(__steadfast_scoped),
            );
            quote! {
                let (__steadfast_scoped, __steadfast_until) = #scoped;
                #in_call
                __steadfast_state.end_timed(__steadfast_scoped, __steadfast_until, #verdict, #elapsed_into)
            }
        }
    };
    let sleep = if spans.rpc.is_some() {
        quote! {
            __steadfast_stats.delayed(__steadfast_delay);
            #p::sleep(__steadfast_delay).await;
        }
    } else {
        quote!(#p::sleep(__steadfast_delay).await;)
    };
    retry_loop(args, run, sleep)
}

// Input:  an attempt's future (in its span and stats, as any retry's), and
//         a settings file's `&CallPolicy` (`__driven_by`).
// Output: a loop that makes each attempt through the policy's gates and its
//         own timeout (`ConfigAttempts::start`), hands the outcome to the
//         runtime (`end`: `RetryState`'s decision), and sleeps when told.
fn driven_retry(policy: &syn::Expr, attempt: TokenStream, spans: &Spans<'_>) -> TokenStream {
    let p = crate::runtime::private();
    let previous = quote!(__steadfast_attempts.previous_attempts());
    let outcome = spans.drive_attempt(
        attempt,
        previous,
        |future| quote!(__steadfast_attempts.start(#future).await),
    );
    let delayed = if spans.rpc.is_some() {
        quote!(__steadfast_stats.delayed(__steadfast_delay);)
    } else {
        TokenStream::new()
    };
    quote! {
        let mut __steadfast_attempts = #p::ConfigAttempts::new(#policy);
        loop {
            let __steadfast_outcome = #outcome;
            match __steadfast_attempts.end(__steadfast_outcome) {
                #p::Next::Return(__steadfast_result) => break __steadfast_result,
                #p::Next::Retry { error: __steadfast_error, delay: __steadfast_delay } => {
                    #p::discard(__steadfast_error);
                    #delayed
                    #p::sleep(__steadfast_delay).await;
                }
            }
        }
    }
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
    let p = crate::runtime::private();
    let ty = ret.ty;
    let verdict = verdict(args.when.as_ref(), args.on.as_ref());
    let (enter, exit) = if spans.plain_on() {
        let span = spans.attempt(quote!(__steadfast_state.previous_attempts()));
        (
            quote!(let __steadfast_entered = #p::enter_if(__steadfast_traced, || #span);),
            quote!(::core::mem::drop(__steadfast_entered);),
        )
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let run = quote! {
        #enter
        #[allow(clippy::redundant_closure_call)]
        let __steadfast_result: #ty = (|| -> #ty { #(#clones)* #body })();
        #exit
        __steadfast_state.end(__steadfast_result, #verdict)
    };
    retry_loop(args, run, quote!(#p::sleep_blocking(__steadfast_delay);))
}

// The loop both forms share: `run` makes one attempt and evaluates to what
// `RetryState` says next; `sleep` waits out a retry delay.
fn retry_loop(args: &RetryArgs, run: TokenStream, sleep: TokenStream) -> TokenStream {
    let p = crate::runtime::private();
    let policy = policy(args);
    let notify = match &args.notify {
        Some(notify) => quote! {
            #notify(&__steadfast_error, __steadfast_delay, __steadfast_state.previous_attempts());
        },
        None => TokenStream::new(),
    };
    quote! {
        #policy
        let mut __steadfast_state = #p::RetryState::new(__steadfast_policy);
        loop {
            let __steadfast_next = { #run };
            match __steadfast_next {
                #p::Next::Return(__steadfast_result) => break __steadfast_result,
                #p::Next::Retry { error: __steadfast_error, delay: __steadfast_delay } => {
                    #notify
                    #p::discard(__steadfast_error);
                    #sleep
                }
            }
        }
    }
}
