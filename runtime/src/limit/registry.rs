//! Rate limiters registered by name, for the generated clients whose proto
//! options name them (`rate_limit { shared: "orders" }`): a limit made at
//! run time (a [`RateLimiter::cluster`](super::RateLimiter) with its Redis
//! connection, say) that a build-time option cannot construct.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{LimitError, RateLimiter};

static REGISTERED: Mutex<Option<HashMap<String, Arc<RateLimiter>>>> = Mutex::new(None);

/// Registers `limiter` under `name`, for every generated client made from
/// now on whose proto options say `rate_limit { shared: "<name>" }`: they
/// all ask it (and it can be asked directly, as [`registered`] finds it).
/// Register before making the clients: a client made earlier keeps the
/// limiter of its own it was made with.
///
/// # Errors
///
/// When a limiter is already registered under `name` (the first stays).
///
/// ```
/// use steadfast::{limit, RateLimiter};
///
/// limit::register("reports", RateLimiter::per_second(10)).unwrap();
/// assert!(limit::register("reports", RateLimiter::per_second(20)).is_err());
/// assert_eq!(limit::registered("reports").unwrap().rate().0, 10);
/// ```
pub fn register(name: &str, limiter: impl Into<Arc<RateLimiter>>) -> Result<(), LimitError> {
    let mut registered = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    let registered = registered.get_or_insert_with(HashMap::new);
    if registered.contains_key(name) {
        return Err(LimitError(
            "a rate limiter is already registered under this name",
            format!(": `{name}`"),
        ));
    }
    registered.insert(name.to_owned(), limiter.into());
    Ok(())
}

/// The limiter registered under `name`, if any.
///
/// ```
/// assert!(steadfast::limit::registered("nothing by this name").is_none());
/// ```
pub fn registered(name: &str) -> Option<Arc<RateLimiter>> {
    let registered = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
    registered.as_ref()?.get(name).cloned()
}

/// What a generated client asks for a method whose options name `name`:
/// the registered limiter, or (with a `WARN` event that says so) `local`,
/// the client's own, made from the options' settings.
pub fn registered_or(name: &str, local: RateLimiter) -> Arc<RateLimiter> {
    registered(name).unwrap_or_else(|| {
        crate::trace::warning!(
            limit = name,
            "no rate limiter is registered under this name (steadfast::limit::register): \
             the client uses a limiter of its own with its options' settings"
        );
        Arc::new(local)
    })
}
