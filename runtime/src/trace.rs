//! What the attributes and generated clients use to open spans, and the
//! events the state machines emit: with feature `tracing`, tracing's; without
//! it, nothing at all (the span type is a unit and the events vanish).

use std::future::Future;

/// The span of a call or an attempt.
#[cfg(feature = "tracing")]
pub type Span = ::tracing::Span;

/// Without feature `tracing`: no span.
#[cfg(not(feature = "tracing"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Span;

#[cfg(feature = "tracing")]
pin_project_lite::pin_project! {
    /// A future run inside a span. Unlike tracing's `Instrumented`, a
    /// disabled span (no subscriber wants it) is not kept, so polling and
    /// dropping cost nothing: measured, `Instrumented` around each attempt
    /// and call of `#[retry]` cost 137 instructions a call with no
    /// subscriber at all.
    #[derive(Debug)]
    pub struct InSpan<F> {
        span: Option<Span>,
        #[pin]
        inner: F,
    }
}

#[cfg(feature = "tracing")]
impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        match this.span {
            None => this.inner.poll(cx),
            Some(span) => {
                let _entered = span.enter();
                this.inner.poll(cx)
            }
        }
    }
}

/// Without feature `tracing`: the future itself.
#[cfg(not(feature = "tracing"))]
pub type InSpan<F> = F;

/// Runs `future` inside `span` (each poll enters it).
#[inline(always)]
pub fn in_span<F: Future>(span: Span, future: F) -> InSpan<F> {
    #[cfg(feature = "tracing")]
    {
        InSpan {
            span: (!span.is_disabled()).then_some(span),
            inner: future,
        }
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        future
    }
}

/// Whether a subscriber may want steadfast's INFO spans: tracing's maximum
/// level, one atomic load (`false` with no subscriber, or one filtered to
/// WARN and above; always `false` without feature `tracing`). The attributes
/// on plain functions ask once per call and open no span when it says no.
#[inline(always)]
pub fn traced() -> bool {
    #[cfg(feature = "tracing")]
    {
        ::tracing::level_enabled!(::tracing::Level::INFO)
    }
    #[cfg(not(feature = "tracing"))]
    {
        false
    }
}

/// A span that records nothing.
#[inline(always)]
pub fn no_span() -> Span {
    #[cfg(feature = "tracing")]
    {
        Span::none()
    }
    #[cfg(not(feature = "tracing"))]
    {
        Span
    }
}

/// While it lives, the span [`enter_if`] entered.
#[cfg(feature = "tracing")]
pub type Entered = Option<::tracing::span::EnteredSpan>;

/// Without feature `tracing`: nothing entered.
#[cfg(not(feature = "tracing"))]
pub type Entered = ();

/// Enters the span `make` opens when `on` (a blocking function's call or
/// attempt); makes nothing otherwise.
#[inline(always)]
pub fn enter_if(on: bool, make: impl FnOnce() -> Span) -> Entered {
    #[cfg(feature = "tracing")]
    {
        on.then(|| make().entered())
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (on, make);
    }
}

/// While it lives, the span [`enter`] entered.
#[cfg(feature = "tracing")]
pub type Guard<'a> = ::tracing::span::Entered<'a>;

/// Without feature `tracing`: nothing entered.
#[cfg(not(feature = "tracing"))]
pub type Guard<'a> = std::marker::PhantomData<&'a ()>;

/// Enters `span` (a blocking function's call span) until the guard drops.
#[inline(always)]
pub fn enter(span: &Span) -> Guard<'_> {
    #[cfg(feature = "tracing")]
    {
        span.enter()
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        std::marker::PhantomData
    }
}

/// The body of an attributed plain function: the first one (with spans)
/// under feature `function-spans`, the second (without) otherwise.
#[cfg(feature = "function-spans")]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_function_spans {
    ({ $($on:tt)* } { $($off:tt)* }) => { $($on)* };
}

/// The body of an attributed plain function: without feature
/// `function-spans`, the second one (without spans).
#[cfg(not(feature = "function-spans"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_function_spans {
    ({ $($on:tt)* } { $($off:tt)* }) => { $($off)* };
}

/// Opens a span: `span!("name", field = value, ..)` (tracing's `info_span!`
/// grammar) with the target `steadfast`, whatever module it is expanded in
/// (so that one filter shows every span of the crate), or nothing without
/// feature `tracing`.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_span {
    ($($args:tt)*) => { $crate::__private::tracing::info_span!(target: "steadfast", $($args)*) };
}

/// Opens a span: nothing without feature `tracing`.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_span {
    ($($args:tt)*) => {
        $crate::__private::Span
    };
}

/// An event at `INFO` (tracing's `info!` grammar), or nothing.
macro_rules! event {
    ($($args:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::info!($($args)*);
    };
}

/// An event at `WARN` (tracing's `warn!` grammar), or nothing.
#[allow(unused_macros)]
macro_rules! warning {
    ($($args:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::warn!($($args)*);
    };
}

/// An event at `DEBUG` (tracing's `debug!` grammar), or nothing: for what
/// changes often in normal running (an adaptive limit's steps).
#[allow(unused_macros)]
macro_rules! detail {
    ($($args:tt)*) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!($($args)*);
    };
}

#[allow(unused_imports)]
pub(crate) use detail;
pub(crate) use event;
#[allow(unused_imports)]
pub(crate) use warning;
