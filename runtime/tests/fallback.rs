//! `#[fallback]`: which errors its handler answers (local refusals, not the
//! same code from a server; `when` widens it), the handler's shapes (the
//! error alone or the parameters then the error, sync or async, free
//! functions and methods), what it keeps (a by-value parameter is cloned
//! for the body only when the handler asks for it), and what its place in
//! a stack means. On tokio's paused clock.
#![allow(clippy::unwrap_used)] // test-only

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{CircuitBreaker, ConcurrencyLimit, Elapsed, Limited, LocalRefusal, RateLimiter};
use tonic::{Code, Status};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// A request that counts its clones.
#[derive(Debug)]
struct Order {
    id: u32,
    clones: &'static AtomicU32,
}

impl Clone for Order {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, SeqCst);
        Order {
            id: self.id,
            clones: self.clones,
        }
    }
}

fn busy(error: Status) -> Result<String, Status> {
    assert!(error.is_local_refusal());
    Ok("too many orders right now, please try again later".into())
}

mod refusals {
    use super::*;

    static ORDERS: RateLimiter = RateLimiter::per_second(50).burst(2);
    static RAN: AtomicU32 = AtomicU32::new(0);
    static CLONES: AtomicU32 = AtomicU32::new(0);

    #[steadfast::fallback(busy)]
    #[steadfast::rate_limit(ORDERS)]
    async fn create_order(order: Order) -> Result<String, Status> {
        RAN.fetch_add(1, SeqCst);
        Ok(format!("order {} created", order.id))
    }

    /// The article's case: a burst of 10 against a limit of burst 2, the
    /// first 2 served, the other 8 answered by the handler without the body
    /// running; a handler that takes the error alone costs no clone.
    #[tokio::test(start_paused = true)]
    async fn a_rate_refusal_is_answered_by_the_handler_and_the_body_does_not_run() {
        let mut answers = Vec::new();
        for id in 0..10 {
            answers.push(
                create_order(Order {
                    id,
                    clones: &CLONES,
                })
                .await
                .unwrap(),
            );
        }
        assert_eq!(answers[0], "order 0 created");
        assert_eq!(answers[1], "order 1 created");
        assert!(
            answers[2..]
                .iter()
                .all(|a| a.starts_with("too many orders")),
            "{answers:?}"
        );
        assert_eq!(RAN.load(SeqCst), 2);
        assert_eq!(CLONES.load(SeqCst), 0);
    }

    static DB: ConcurrencyLimit = ConcurrencyLimit::new(1);

    #[steadfast::fallback(busy)]
    #[steadfast::concurrency_limit(DB)]
    async fn slow_write() -> Result<String, Status> {
        tokio::time::sleep(MS(100)).await;
        Ok("written".into())
    }

    /// A full bulkhead is a local refusal.
    #[tokio::test(start_paused = true)]
    async fn a_full_bulkhead_is_answered_by_the_handler() {
        let (first, second) = tokio::join!(slow_write(), slow_write());
        assert_eq!(first.unwrap(), "written");
        assert!(second.unwrap().starts_with("too many orders"));
    }

    static USERS: CircuitBreaker = CircuitBreaker::new().min_calls(2).failure_ratio(0.5);
    static CALLS: AtomicU32 = AtomicU32::new(0);

    #[steadfast::fallback(busy)]
    #[steadfast::circuit_breaker(USERS)]
    async fn get_user() -> Result<String, Status> {
        CALLS.fetch_add(1, SeqCst);
        Err(Status::unavailable("backend down"))
    }

    /// The server's UNAVAILABLE is returned as it is; once the breaker
    /// opens, its refusal is answered.
    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_is_answered_and_the_servers_unavailable_is_not() {
        assert_eq!(get_user().await.unwrap_err().code(), Code::Unavailable);
        assert_eq!(get_user().await.unwrap_err().code(), Code::Unavailable);
        assert!(get_user().await.unwrap().starts_with("too many orders"));
        assert_eq!(CALLS.load(SeqCst), 2);
    }

    #[steadfast::fallback(busy)]
    #[steadfast::deadline(50ms)]
    async fn slow_lookup() -> Result<String, Status> {
        tokio::time::sleep(MS(200)).await;
        Ok("found".into())
    }

    /// A deadline that runs out here is a local refusal.
    #[tokio::test(start_paused = true)]
    async fn an_elapsed_deadline_is_answered_by_the_handler() {
        let start = tokio::time::Instant::now();
        assert!(slow_lookup().await.unwrap().starts_with("too many orders"));
        assert_eq!(start.elapsed(), MS(50));
    }

    static SERVER_SAID: AtomicU32 = AtomicU32::new(0);

    #[steadfast::fallback(busy)]
    async fn server_refuses() -> Result<String, Status> {
        SERVER_SAID.fetch_add(1, SeqCst);
        Err(Status::resource_exhausted("the server's own limit"))
    }

    /// The same code from a server is not a local refusal: returned as it is.
    #[tokio::test]
    async fn a_servers_resource_exhausted_is_returned_as_it_is() {
        let status = server_refuses().await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "the server's own limit");
        assert_eq!(SERVER_SAID.load(SeqCst), 1);
    }
}

mod when {
    use super::*;

    fn is_unavailable(status: &Status) -> bool {
        status.code() == Code::Unavailable
    }

    fn cached(id: &u32, _answer: &Code, _error: Status) -> Result<String, Status> {
        Ok(format!("cached user {id}"))
    }

    static LIMIT: RateLimiter = RateLimiter::per_second(1).burst(1);

    #[steadfast::fallback(cached, when = is_unavailable)]
    #[steadfast::rate_limit(LIMIT)]
    async fn get_user(id: u32, answer: Code) -> Result<String, Status> {
        Err(Status::new(answer, format!("user {id}")))
    }

    /// `when` widens the default: the server's UNAVAILABLE and the local
    /// refusal are answered, another code is not.
    #[tokio::test(start_paused = true)]
    async fn when_answers_what_it_selects_as_well_as_local_refusals() {
        assert_eq!(
            get_user(1, Code::Unavailable).await.unwrap(),
            "cached user 1"
        );
        // The limit refuses the second call at once.
        assert_eq!(get_user(2, Code::NotFound).await.unwrap(), "cached user 2");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            get_user(3, Code::NotFound).await.unwrap_err().code(),
            Code::NotFound
        );
    }

    #[derive(Debug)]
    struct Opaque;

    fn any_error(_: &Opaque) -> bool {
        true
    }

    fn recover(_: Opaque) -> Result<u32, Opaque> {
        Ok(0)
    }

    /// An error type that cannot tell a local refusal (no `LocalRefusal`)
    /// is answered on what `when` selects alone.
    #[steadfast::fallback(recover, when = any_error)]
    async fn opaque() -> Result<u32, Opaque> {
        Err(Opaque)
    }

    #[tokio::test]
    async fn when_alone_decides_for_an_error_type_without_local_refusal() {
        assert_eq!(opaque().await.unwrap(), 0);
    }
}

mod shapes {
    use super::*;

    static CLONES: AtomicU32 = AtomicU32::new(0);
    static LIMIT: RateLimiter = RateLimiter::per_second(1).burst(1);

    async fn order_busy(order: &Order, note: &str, error: Status) -> Result<String, Status> {
        assert_eq!(error.code(), Code::ResourceExhausted);
        tokio::task::yield_now().await;
        Ok(format!("order {} ({note}) refused", order.id))
    }

    #[steadfast::fallback(order_busy)]
    #[steadfast::rate_limit(LIMIT)]
    async fn create_order(mut order: Order, note: &str) -> Result<String, Status> {
        order.id += 1000;
        Ok(format!("order {} ({note}) created", order.id))
    }

    /// A handler that asks for the parameters gets the caller's values,
    /// by reference, in order; the by-value one is kept for it and the body
    /// gets one clone (and may mutate it: `mut` stays the body's).
    #[tokio::test(start_paused = true)]
    async fn an_async_handler_with_the_parameters_gets_the_callers_values() {
        let served = create_order(
            Order {
                id: 1,
                clones: &CLONES,
            },
            "first",
        )
        .await;
        assert_eq!(served.unwrap(), "order 1001 (first) created");
        let refused = create_order(
            Order {
                id: 2,
                clones: &CLONES,
            },
            "second",
        )
        .await;
        assert_eq!(refused.unwrap(), "order 2 (second) refused");
        assert_eq!(CLONES.load(SeqCst), 2);
    }

    struct Shop {
        name: &'static str,
        orders: u32,
    }

    static SHOP_LIMIT: RateLimiter = RateLimiter::per_second(1).burst(1);

    impl Shop {
        fn closed(&self, id: &u32, _: std::io::Error) -> std::io::Result<String> {
            Ok(format!("{} is busy, order {id} not taken", self.name))
        }

        #[steadfast::fallback(Self::closed)]
        #[steadfast::rate_limit(SHOP_LIMIT)]
        fn order(&mut self, id: u32) -> std::io::Result<String> {
            self.orders += 1;
            Ok(format!("order {id} taken"))
        }
    }

    /// A blocking method: `&mut self` is handed to the handler as `&Self`.
    #[test]
    fn a_blocking_method_hands_self_to_a_method_handler() {
        let mut shop = Shop {
            name: "corner shop",
            orders: 0,
        };
        assert_eq!(shop.order(1).unwrap(), "order 1 taken");
        assert_eq!(
            shop.order(2).unwrap(),
            "corner shop is busy, order 2 not taken"
        );
        assert_eq!(shop.orders, 1);
    }
}

mod errors {
    use super::*;

    #[derive(Debug)]
    enum OrderError {
        Busy(Limited),
        TimedOut(Elapsed),
        Rejected,
    }

    impl From<Limited> for OrderError {
        fn from(limited: Limited) -> Self {
            OrderError::Busy(limited)
        }
    }

    impl From<Elapsed> for OrderError {
        fn from(elapsed: Elapsed) -> Self {
            OrderError::TimedOut(elapsed)
        }
    }

    impl LocalRefusal for OrderError {
        fn is_local_refusal(&self) -> bool {
            !matches!(self, OrderError::Rejected)
        }
    }

    fn later(error: OrderError) -> Result<&'static str, OrderError> {
        match error {
            OrderError::Busy(limited) => {
                assert_eq!(limited.which(), steadfast::limit::Which::Rate);
                Ok("later: busy")
            }
            OrderError::TimedOut(_) => Ok("later: slow"),
            OrderError::Rejected => unreachable!("not a local refusal"),
        }
    }

    static LIMIT: RateLimiter = RateLimiter::per_second(1).burst(1);

    #[steadfast::fallback(later)]
    #[steadfast::deadline(10ms)]
    #[steadfast::rate_limit(LIMIT)]
    async fn place(reject: bool) -> Result<&'static str, OrderError> {
        if reject {
            return Err(OrderError::Rejected);
        }
        tokio::time::sleep(MS(50)).await;
        Ok("placed")
    }

    /// An error type of the user's own says what a local refusal is.
    #[tokio::test(start_paused = true)]
    async fn a_users_error_type_tells_its_local_refusals() {
        assert!(matches!(place(true).await, Err(OrderError::Rejected)));
        assert_eq!(place(false).await.unwrap(), "later: busy");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(place(false).await.unwrap(), "later: slow");
    }

    /// `io::Error` and `Box<dyn Error>` made from a refusal carry it.
    #[test]
    fn io_and_boxed_errors_made_from_refusals_are_local_refusals() {
        let limited = Limited::new(steadfast::limit::Which::Rate, "orders", None);
        assert!(std::io::Error::from(limited).is_local_refusal());
        assert!(!std::io::Error::other("peer said no").is_local_refusal());
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Elapsed::new());
        assert!(boxed.is_local_refusal());
        let boxed: Box<dyn std::error::Error> = "peer said no".into();
        assert!(!boxed.is_local_refusal());
        assert!(Status::from(steadfast::CircuitOpen::new(MS(5))).is_local_refusal());
        // A copy of a status keeps the refusal; the same code rebuilt from
        // its parts (as a peer's would be) does not.
        let status = Status::from(limited);
        assert!(status.clone().is_local_refusal());
        assert!(!Status::new(status.code(), status.message()).is_local_refusal());
    }
}

/// Order is meaning: `#[fallback]` answers what the layers below it return.
mod stacking {
    use super::*;

    fn answered(error: Status) -> Result<&'static str, Status> {
        assert!(error.is_local_refusal());
        Ok("answered")
    }

    static OUTER: ConcurrencyLimit = ConcurrencyLimit::new(1);
    static INNER: ConcurrencyLimit = ConcurrencyLimit::new(1);

    #[steadfast::fallback(answered)]
    #[steadfast::retry(max = 3, backoff = "constant", initial = 10ms, jitter = "none", on = [ResourceExhausted])]
    #[steadfast::concurrency_limit(OUTER)]
    async fn fallback_above_retry() -> Result<&'static str, Status> {
        Ok("served")
    }

    #[steadfast::retry(max = 3, backoff = "constant", initial = 10ms, jitter = "none", on = [ResourceExhausted])]
    #[steadfast::fallback(answered)]
    #[steadfast::concurrency_limit(INNER)]
    async fn fallback_below_retry() -> Result<&'static str, Status> {
        Ok("served")
    }

    /// The bulkhead is full until 15 ms. Above `#[retry]`, the handler
    /// answers only when the retries are spent: here the third attempt
    /// (20 ms) gets a place. Below it, the handler answers the first
    /// refusal, which the retry takes as the answer.
    #[tokio::test(start_paused = true)]
    async fn fallback_above_a_retry_waits_for_its_attempts_below_answers_the_first_refusal() {
        for (limit, above) in [(&OUTER, true), (&INNER, false)] {
            let held = limit.try_acquire().unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(MS(15)).await;
                drop(held);
            });
            let start = tokio::time::Instant::now();
            let answer = if above {
                fallback_above_retry().await
            } else {
                fallback_below_retry().await
            };
            match above {
                true => assert_eq!((answer.unwrap(), start.elapsed()), ("served", MS(20))),
                false => assert_eq!((answer.unwrap(), start.elapsed()), ("answered", MS(0))),
            }
            tokio::time::sleep(MS(20)).await;
        }
    }

    static HEDGE_ABOVE: RateLimiter = RateLimiter::per_second(1).burst(1);
    static HEDGE_BELOW: RateLimiter = RateLimiter::per_second(1).burst(1);

    #[steadfast::fallback(answered)]
    #[steadfast::hedge(max = 2, delay = 10ms, on = [ResourceExhausted])]
    #[steadfast::rate_limit(HEDGE_ABOVE)]
    async fn hedged_then_answered() -> Result<&'static str, Status> {
        tokio::time::sleep(MS(100)).await;
        Ok("served")
    }

    #[steadfast::hedge(max = 2, delay = 10ms, on = [ResourceExhausted])]
    #[steadfast::fallback(answered)]
    #[steadfast::rate_limit(HEDGE_BELOW)]
    async fn each_hedge_answered() -> Result<&'static str, Status> {
        tokio::time::sleep(MS(100)).await;
        Ok("served")
    }

    /// The hedge sent at 10 ms is refused by the limit. Above `#[hedge]`,
    /// that refusal is one attempt's failure and the first attempt's answer
    /// (100 ms) is the call's; below it, the handler answers the hedge at
    /// 10 ms, and that answer wins.
    #[tokio::test(start_paused = true)]
    async fn fallback_below_a_hedge_answers_a_refused_hedge_and_its_answer_wins() {
        let start = tokio::time::Instant::now();
        assert_eq!(hedged_then_answered().await.unwrap(), "served");
        assert_eq!(start.elapsed(), MS(100));
        let start = tokio::time::Instant::now();
        assert_eq!(each_hedge_answered().await.unwrap(), "answered");
        assert_eq!(start.elapsed(), MS(10));
    }

    async fn slow_answer(_: Status) -> Result<&'static str, Status> {
        tokio::time::sleep(MS(100)).await;
        Ok("answered late")
    }

    static FULL: ConcurrencyLimit = ConcurrencyLimit::new(1);

    #[steadfast::deadline(50ms)]
    #[steadfast::fallback(slow_answer)]
    #[steadfast::concurrency_limit(FULL)]
    async fn deadline_above_fallback() -> Result<&'static str, Status> {
        Ok("served")
    }

    /// A deadline above the fallback bounds its handler too.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_above_the_fallback_bounds_the_handler() {
        let _held = FULL.try_acquire().unwrap();
        let start = tokio::time::Instant::now();
        let status = deadline_above_fallback().await.unwrap_err();
        assert_eq!(
            (status.code(), start.elapsed()),
            (Code::DeadlineExceeded, MS(50))
        );
    }

    static BREAKER: CircuitBreaker = CircuitBreaker::new().min_calls(2).failure_ratio(0.5);
    static NEVER: RateLimiter = RateLimiter::per_second(1).burst(1);

    #[steadfast::circuit_breaker(BREAKER)]
    #[steadfast::fallback(answered)]
    #[steadfast::rate_limit(NEVER)]
    async fn breaker_above_fallback() -> Result<&'static str, Status> {
        Ok("served")
    }

    /// Below a breaker, the handler's answers are successes to it: refusals
    /// it answered never open the breaker.
    #[tokio::test(start_paused = true)]
    async fn a_breaker_above_the_fallback_counts_its_answers_as_successes() {
        assert_eq!(breaker_above_fallback().await.unwrap(), "served");
        for _ in 0..5 {
            assert_eq!(breaker_above_fallback().await.unwrap(), "answered");
        }
        assert_eq!(BREAKER.state(), steadfast::CircuitState::Closed);
    }
}
