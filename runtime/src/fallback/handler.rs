//! How `#[fallback(handler)]` calls its handler, whichever shape it has:
//! the error alone, or the function's parameters by reference and then the
//! error; returning the function's `Result`, or a future of it.
//!
//! The macro cannot see the handler's signature, so the shape is a type
//! the compiler picks ([`ErrorOnly`] or [`WithParams`]) from the one impl
//! of [`Handler`] that fits, as axum picks its handler impls by arity. The
//! expansion asks for the shape before the body runs ([`fallback_mode`]):
//! with `ErrorOnly` a by-value parameter goes to the body as it is and
//! nothing is kept; with `WithParams` the body gets a clone and the
//! original is kept for the handler ([`Keep`]).

use std::future::{Future, Ready};

/// The handler takes the error alone.
#[derive(Debug, Clone, Copy)]
pub struct ErrorOnly;

/// The handler takes references to the function's parameters, then the
/// error.
#[derive(Debug, Clone, Copy)]
pub struct WithParams;

/// The parts of the function's `Result`.
pub trait Outcome {
    /// The error type.
    type Error;
}

impl<T, E> Outcome for Result<T, E> {
    type Error = E;
}

/// A handler that can answer for a function whose parameters, by
/// reference, are `P` and whose error is `E`, in shape `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot answer for this function: a fallback handler takes the error alone (`{E}`), or references to the function's parameters `{P}` and then the error",
    label = "not a fallback handler for this function",
    note = "write `fn handler(error: {E}) -> Result<..>` or `fn handler(a: &A, b: &B, .., error: {E}) -> Result<..>`, `async` or not"
)]
pub trait Handler<P, E, M> {
    /// What the handler returns: the function's `Result`, or a future of it.
    type Output;

    /// Calls the handler.
    fn call(self, params: P, error: E) -> Self::Output;
}

impl<F, P, E, O> Handler<P, E, ErrorOnly> for F
where
    F: FnOnce(E) -> O,
{
    type Output = O;

    #[inline]
    fn call(self, _params: P, error: E) -> O {
        self(error)
    }
}

/// The parameters a handler of shape [`WithParams`] is called with.
pub trait CallWith<F, E> {
    /// What the handler returns.
    type Output;

    /// Calls `handler` with these parameters and the error.
    fn call_with(self, handler: F, error: E) -> Self::Output;
}

macro_rules! with_params {
    ($(($($a:ident $l:lifetime),+))+) => {$(
        impl<$($l,)+ F, $($a: ?Sized,)+ E, O> CallWith<F, E> for ($(&$l $a,)+)
        where
            F: FnOnce($(&$l $a,)+ E) -> O,
        {
            type Output = O;

            #[inline]
            #[allow(non_snake_case)]
            fn call_with(self, handler: F, error: E) -> O {
                let ($($a,)+) = self;
                handler($($a,)+ error)
            }
        }
    )+};
}

with_params! {
    (A1 'a1)
    (A1 'a1, A2 'a2)
    (A1 'a1, A2 'a2, A3 'a3)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7, A8 'a8)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7, A8 'a8, A9 'a9)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7, A8 'a8, A9 'a9, A10 'a10)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7, A8 'a8, A9 'a9, A10 'a10, A11 'a11)
    (A1 'a1, A2 'a2, A3 'a3, A4 'a4, A5 'a5, A6 'a6, A7 'a7, A8 'a8, A9 'a9, A10 'a10, A11 'a11, A12 'a12)
}

// The parameters' tuple is matched through `CallWith`, not in the impl's
// header: a handler that fits neither shape is then reported as one (with
// `Handler`'s message) rather than as a tuple of the wrong length.
impl<F, P, E> Handler<P, E, WithParams> for F
where
    P: CallWith<F, E>,
{
    type Output = P::Output;

    #[inline]
    fn call(self, params: P, error: E) -> P::Output {
        params.call_with(self, error)
    }
}

/// The handler's shape for a function whose result is `R`, read from the
/// handler and references to the parameters (`probe`) before the body
/// runs. Costs nothing: the shape is a type.
#[inline(always)]
pub fn fallback_mode<R, F, P, M>(_handler: &F, _probe: P) -> M
where
    R: Outcome,
    F: Handler<P, R::Error, M>,
    M: Mode,
{
    M::MODE
}

/// [`ErrorOnly`] or [`WithParams`].
pub trait Mode: Copy {
    /// The value.
    const MODE: Self;
}

impl Mode for ErrorOnly {
    const MODE: Self = ErrorOnly;
}

impl Mode for WithParams {
    const MODE: Self = WithParams;
}

/// A by-value parameter the handler asks for is kept for it, and the body
/// gets a clone; one it does not ask for goes to the body as it is.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is taken by value and the fallback handler asks for it, so the body gets a clone and the handler the original, but it is not `Clone`",
    label = "not `Clone`: take it by reference, make it `Clone`, or let the handler take the error alone"
)]
pub trait Keep<M> {
    /// What is kept for the handler: the value, or `()`.
    type Kept;

    /// `(for the body, kept)`.
    fn split(self) -> (Self, Self::Kept)
    where
        Self: Sized;
}

impl<T> Keep<ErrorOnly> for T {
    type Kept = ();

    #[inline(always)]
    fn split(self) -> (T, ()) {
        (self, ())
    }
}

impl<T: Clone> Keep<WithParams> for T {
    type Kept = T;

    #[inline]
    fn split(self) -> (T, T) {
        (self.clone(), self)
    }
}

/// `(body's, kept)` for one by-value parameter, as `mode` says.
#[inline(always)]
pub fn keep<M, T: Keep<M>>(_mode: M, value: T) -> (T, T::Kept) {
    value.split()
}

/// Calls the handler in the shape `mode`.
#[inline]
pub fn call_fallback<M, F, P, E>(_mode: M, handler: F, params: P, error: E) -> F::Output
where
    F: Handler<P, E, M>,
{
    handler.call(params, error)
}

/// The handler's answer to an `async fn`: its `Result`, or the future of
/// one it returned.
#[diagnostic::on_unimplemented(
    message = "a fallback handler returns the function's `{R}` (or, for an `async fn`, a future of it), not `{Self}`",
    label = "the handler's answer"
)]
pub trait Answer<R, M> {
    /// The future of the answer.
    type Future: Future<Output = R>;

    /// The answer, to be awaited.
    fn into_answer(self) -> Self::Future;
}

/// A handler returning the `Result` itself.
#[derive(Debug)]
pub struct Now;

/// A handler returning a future (an `async fn`).
#[derive(Debug)]
pub struct Later;

impl<T, E> Answer<Result<T, E>, Now> for Result<T, E> {
    type Future = Ready<Result<T, E>>;

    #[inline]
    fn into_answer(self) -> Self::Future {
        std::future::ready(self)
    }
}

impl<F: Future> Answer<F::Output, Later> for F {
    type Future = F;

    #[inline]
    fn into_answer(self) -> F {
        self
    }
}

/// An `async fn`'s answer from its handler, sync or async.
#[inline]
pub fn answer<R, M, A: Answer<R, M>>(answer: A) -> A::Future {
    answer.into_answer()
}

/// A blocking function's handler answers at once.
#[diagnostic::on_unimplemented(
    message = "a blocking function's fallback handler returns its `{R}` at once, not `{Self}`",
    label = "the handler's answer",
    note = "an `async fn` handler needs the function to be `async` too"
)]
pub trait AnswerNow<R> {
    /// The answer.
    fn into_result(self) -> R;
}

impl<T, E> AnswerNow<Result<T, E>> for Result<T, E> {
    #[inline]
    fn into_result(self) -> Self {
        self
    }
}

/// A blocking function's answer from its handler.
#[inline]
pub fn answer_now<R, A: AnswerNow<R>>(answer: A) -> R {
    answer.into_result()
}

/// Autoref specialisation for `when = ..`: an error that can tell a local
/// refusal ([`LocalRefusal`](crate::LocalRefusal)) is answered on one as well as on what
/// `when` selects; any other error only on what `when` selects.
#[derive(Debug)]
pub struct RefusalProbe<'a, E>(pub &'a E);

/// Picked first, when `E: LocalRefusal`.
pub trait ViaLocalRefusal {
    /// What the error's `LocalRefusal` impl says.
    fn __steadfast_is_local_refusal(&self) -> bool;
}

impl<E: crate::LocalRefusal> ViaLocalRefusal for RefusalProbe<'_, E> {
    #[inline]
    fn __steadfast_is_local_refusal(&self) -> bool {
        self.0.is_local_refusal()
    }
}

/// Picked otherwise: only `when` decides.
pub trait ViaNoRefusal {
    /// Not a local refusal, as far as the type can tell.
    fn __steadfast_is_local_refusal(&self) -> bool;
}

impl<E> ViaNoRefusal for &RefusalProbe<'_, E> {
    #[inline]
    fn __steadfast_is_local_refusal(&self) -> bool {
        false
    }
}

/// The default rule: the handler answers local refusals.
#[inline]
pub fn is_local_refusal<E: crate::LocalRefusal>(error: &E) -> bool {
    error.is_local_refusal()
}
