//! Expansion snapshots: what each attribute writes, formatted with
//! prettyplease and pinned with insta (`cargo insta review` after a change).

use proc_macro2::TokenStream;
use quote::quote;

use crate::attr::Kind;
use crate::entry::expand;

/// The expansion as a file, formatted. An expansion that is not valid Rust
/// fails the test here, instead of landing in a snapshot as raw tokens.
fn pretty(tokens: TokenStream) -> String {
    match syn::parse_file(&tokens.to_string()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => panic!("the expansion does not parse ({e}):\n{tokens}"),
    }
}

fn retry(args: TokenStream, item: TokenStream) -> String {
    pretty(expand(Kind::Retry, args, item))
}

fn deadline(args: TokenStream, item: TokenStream) -> String {
    pretty(expand(Kind::Deadline, args, item))
}

#[test]
fn retry_async_defaults() {
    insta::assert_snapshot!(retry(
        quote!(),
        quote! {
            /// Fetches a user.
            pub async fn get_user(client: &mut Client, id: &str) -> Result<User, Status> {
                client.get(id).await
            }
        }
    ));
}

#[test]
fn retry_every_key() {
    insta::assert_snapshot!(retry(
        quote!(
            max = 5,
            backoff = "exp",
            initial = 50ms,
            multiplier = 1.5,
            max_delay = 2s,
            jitter = "full",
            per_attempt = 300ms,
            on = [Unavailable, Aborted],
            budget = BUDGET,
            notify = log_retry
        ),
        quote! {
            async fn call(&self, request: Request) -> Result<Reply, Status> {
                self.inner.call(request).await
            }
        }
    ));
}

#[test]
fn retry_blocking_with_when() {
    insta::assert_snapshot!(retry(
        quote!(max = 2, backoff = "const", initial = 1s, when = transient),
        quote! {
            fn read(path: &str) -> std::io::Result<Vec<u8>> {
                std::fs::read(path)
            }
        }
    ));
}

#[test]
fn deadline_outside_retry() {
    insta::assert_snapshot!(deadline(
        quote!(2s),
        quote! {
            #[steadfast::retry(max = 3)]
            async fn call(id: String) -> Result<String, Status> {
                Ok(id)
            }
        }
    ));
}

#[test]
fn retry_outside_deadline() {
    insta::assert_snapshot!(retry(
        quote!(max = 3),
        quote! {
            #[steadfast::deadline(= TIMEOUT)]
            async fn call(id: String) -> Result<String, Status> {
                Ok(id)
            }
        }
    ));
}

#[test]
fn errors_keep_the_item() {
    insta::assert_snapshot!(retry(
        quote!(maxx = 3),
        quote! {
            async fn call() -> Result<(), Status> { Ok(()) }
        }
    ));
}

#[test]
fn hedge_lends_by_value_parameters_to_each_attempt() {
    insta::assert_snapshot!(pretty(expand(
        Kind::Hedge,
        quote!(max = 3, delay = 10ms, on = [Unavailable]),
        quote! {
            async fn get(client: &Client, id: String) -> Result<User, Status> {
                client.get(id).await
            }
        }
    )));
}

#[test]
fn circuit_breaker_around_the_body() {
    insta::assert_snapshot!(pretty(expand(
        Kind::CircuitBreaker,
        quote!(USERS),
        quote! {
            async fn get(client: &Client) -> Result<User, Status> {
                client.get().await
            }
        }
    )));
}

#[test]
fn fallback_keeps_parameters_only_in_the_shape_that_asks() {
    insta::assert_snapshot!(pretty(expand(
        Kind::Fallback,
        quote!(order_busy),
        quote! {
            #[rate_limit(ORDERS)]
            async fn create_order(client: &mut Client, mut order: Order) -> Result<Reply, Status> {
                client.create(order).await
            }
        }
    )));
}
