//! The generated client's circuit breaker (from `user.proto`: 50% of 20
//! calls in 10 s, open 2 s, one probe) against a real server on loopback
//! that dies and comes back, on the real clock with loose bounds.
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use steadfast::tonic::effective_code;
use steadfast::CircuitState;
use steadfast_examples::faulty::{FaultyUsers, Relay};
use steadfast_examples::user::ResilientUserServiceClient;
use tokio::time::Instant;
use tonic::Code;

mod common;
use common::{channel, request, MS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_trips_the_breaker_and_its_return_closes_it() {
    let first = FaultyUsers::default();
    let (first_addr, first_task) = first.serve().await.unwrap();
    let relay = Relay::start(first_addr).await.unwrap();
    let mut client = ResilientUserServiceClient::new(channel(relay.addr()));
    let clone = client.clone();
    client.get_user(request()).await.expect("up");

    // The server dies.
    first_task.abort();
    relay.point_to(None);
    // Calls with 500 ms to live, shorter than the open period, so that none
    // waits for the probe (see below).
    let short = || {
        let mut r = tonic::Request::new(request());
        r.set_timeout(MS(500));
        r
    };
    let mut calls_until_open = 0;
    while client.circuit_breaker("GetUser").unwrap().state() != CircuitState::Open {
        calls_until_open += 1;
        assert!(calls_until_open <= 20, "the breaker never opened");
        let error = client.get_user(short()).await.unwrap_err();
        // A broken connection is UNAVAILABLE, as retries and breakers see
        // it; an attempt the machine was too slow to finish in 300 ms is
        // DEADLINE_EXCEEDED.
        let code = effective_code(&error);
        assert!(
            matches!(code, Code::Unavailable | Code::DeadlineExceeded),
            "{error:?}"
        );
    }
    // Each call makes up to 3 attempts, each attempt asks the breaker, and
    // 20 failed attempts trip it: 7 calls.
    assert!(
        calls_until_open <= 8,
        "{calls_until_open} calls reached the dead server"
    );
    assert_eq!(
        clone.circuit_breaker("GetUser").unwrap().state(),
        CircuitState::Open,
        "clones share the breaker"
    );
    let fresh = ResilientUserServiceClient::new(channel(relay.addr()));
    assert_eq!(
        fresh.circuit_breaker("GetUser").unwrap().state(),
        CircuitState::Closed,
        "another client has its own"
    );

    // While open, a call whose deadline ends before the breaker lets probes
    // through fails fast, and nothing is sent. (With 2 s left, the retry
    // would wait out the pushback the refusal carries.)
    let connections = relay.connections();
    let started = Instant::now();
    let error = client.get_user(short()).await.unwrap_err();
    assert!(started.elapsed() < MS(200), "took {:?}", started.elapsed());
    assert_eq!(error.code(), Code::Unavailable);
    assert!(
        error.message().contains("circuit breaker open"),
        "{error:?}"
    );
    assert_eq!(
        relay.connections(),
        connections,
        "nothing reached the network"
    );

    // The server comes back (a new process, as after a restart).
    let second = FaultyUsers::default();
    let (second_addr, _second_task) = second.serve().await.unwrap();
    relay.point_to(Some(second_addr));
    let back = Instant::now();
    loop {
        match client.get_user(request()).await {
            Ok(_) => break,
            Err(e) => assert!(
                back.elapsed() < Duration::from_secs(6),
                "calls did not flow again: {e:?}"
            ),
        }
        tokio::time::sleep(MS(100)).await;
    }
    // Open for 2 s from the trip: calls flow again within that, give or take.
    assert!(
        back.elapsed() < Duration::from_secs(4),
        "{:?}",
        back.elapsed()
    );
    assert_eq!(
        client.circuit_breaker("GetUser").unwrap().state(),
        CircuitState::Closed
    );
    assert!(second.calls() >= 1);
}
