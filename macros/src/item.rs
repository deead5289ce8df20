//! What an attribute is on: the function, split into the parts the
//! expansion re-emits, and the shape of its body.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    AttrStyle, Attribute, Expr, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Signature,
    Stmt, Type, TypeParamBound, Visibility,
};

/// How the body runs.
pub(crate) enum Shape {
    /// `async fn`: the body is awaited.
    Async,
    /// `fn`: the body is called, and retries sleep the thread.
    Blocking,
    /// A method already expanded by `#[async_trait]` (every tonic server
    /// handler): a `fn` returning `Pin<Box<dyn Future<Output = R> + Send>>`
    /// whose body is `Box::pin(async move { .. })`. The async block is the
    /// body; `boxing` is the `Box::pin` path, and `prologue` the statements
    /// `async_trait` put first that must run once per call (its typed fake
    /// return, and `let __self = self;`, which moves a `&mut Self`).
    AsyncTrait {
        boxing: Box<Expr>,
        prologue: Vec<Stmt>,
    },
}

/// A function, taken apart.
pub(crate) struct Function {
    /// Attributes before the item, the steadfast ones taken out.
    pub(crate) outer: Vec<Attribute>,
    /// `#![..]` at the top of the body: they stay at the top of the new body.
    pub(crate) inner: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The statements that run once per attempt (or inside the deadline).
    pub(crate) body: Vec<Stmt>,
    pub(crate) shape: Shape,
}

/// What the attribute was put on.
pub(crate) enum Parsed {
    Function(Box<Function>),
    /// A function whose body does not parse: re-emitted untouched, so that
    /// rustc reports the real mistake rather than the attribute.
    Unparsable,
    /// Not a function at all.
    NotAFunction,
}

pub(crate) fn parse(item: TokenStream) -> Parsed {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) if looks_like_a_function(&item) => return Parsed::Unparsable,
        Err(_) => return Parsed::NotAFunction,
    };
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let (inner, outer) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let (body, shape) = match async_trait_body(&sig, &block.stmts) {
        Some((boxing, prologue, body)) => (body, Shape::AsyncTrait { boxing, prologue }),
        None if sig.asyncness.is_some() => (block.stmts, Shape::Async),
        None => (block.stmts, Shape::Blocking),
    };
    Parsed::Function(Box::new(Function {
        outer,
        inner,
        vis,
        sig,
        body,
        shape,
    }))
}

/// `fn` before a final `{ .. }`, at the top level of the tokens.
fn looks_like_a_function(item: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let has_fn = tokens
        .iter()
        .any(|t| matches!(t, TokenTree::Ident(i) if i == "fn"));
    let ends_in_block = matches!(
        tokens.last(),
        Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
    );
    has_fn && ends_in_block
}

impl Function {
    pub(crate) fn is_async(&self) -> bool {
        !matches!(self.shape, Shape::Blocking)
    }

    /// The type the body evaluates to: the declared return type, or for an
    /// `#[async_trait]` method its future's `Output`.
    pub(crate) fn output(&self) -> Option<&Type> {
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return None;
        };
        match self.shape {
            Shape::AsyncTrait { .. } => future_output(ty),
            Shape::Async | Shape::Blocking => Some(ty),
        }
    }

    /// Where errors about the return type go.
    pub(crate) fn output_span(&self) -> Span {
        match self.output() {
            Some(ty) => ty.span(),
            None => self.sig.ident.span(),
        }
    }

    /// The output when it is a `Result` (`Result<..>`, `io::Result<..>`, any
    /// path ending in `Result`), with `impl Trait` erased to `_` so that it
    /// can be spelled inside the body.
    pub(crate) fn result_type(&self) -> Option<Type> {
        let Type::Path(path) = self.output()? else {
            return None;
        };
        let last = path.path.segments.last()?;
        if !last.ident.to_string().ends_with("Result") {
            return None;
        }
        let mut ty = Type::Path(path.clone());
        EraseImplTrait.visit_type_mut(&mut ty);
        Some(ty)
    }
}

/// For an `#[async_trait]` method: the `Box::pin` path, the prologue, and
/// the statements of its async block that make the body.
fn async_trait_body(sig: &Signature, stmts: &[Stmt]) -> Option<(Box<Expr>, Vec<Stmt>, Vec<Stmt>)> {
    if sig.asyncness.is_some() {
        return None;
    }
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    future_output(ty)?;
    let [Stmt::Expr(Expr::Call(call), None)] = stmts else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut names = func.path.segments.iter().rev().map(|s| s.ident.to_string());
    if names.next().as_deref() != Some("pin") || names.next().as_deref() != Some("Box") {
        return None;
    }
    let [Expr::Async(block)] = call.args.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    block.capture?;
    let split = block
        .block
        .stmts
        .iter()
        .take_while(|stmt| is_async_trait_prologue(stmt))
        .count();
    let (prologue, body) = block.block.stmts.split_at(split);
    Some((call.func.clone(), prologue.to_vec(), body.to_vec()))
}

/// `if let Some(__ret) = None::<R> { return __ret; }` and `let __self = self;`.
fn is_async_trait_prologue(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Expr(Expr::If(expr_if), _) => {
            matches!(&*expr_if.cond, Expr::Let(l) if l.pat.to_token_stream().to_string().contains("__ret"))
        }
        Stmt::Local(local) => matches!(&local.pat, Pat::Ident(p) if p.ident == "__self"),
        _ => false,
    }
}

/// `R` of `Pin<Box<dyn Future<Output = R> + ..>>`.
fn future_output(ty: &Type) -> Option<&Type> {
    let boxed = only_type_argument(ty, "Pin")?;
    let Type::TraitObject(object) = only_type_argument(boxed, "Box")? else {
        return None;
    };
    object.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(trait_bound) = bound else {
            return None;
        };
        let future = trait_bound.path.segments.last()?;
        if future.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &future.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// `T` of `Name<T>` (any path ending in `Name`).
fn only_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
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
