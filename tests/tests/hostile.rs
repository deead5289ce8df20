//! A broken or hostile peer (`common::hostile`, an `h2` server that sends
//! what tonic never would) cannot panic, hang or fool the client stack:
//! every call ends, within its deadline, with a `Status`; retries only
//! where the rules allow. Plain tonic panics on some of these; the test
//! shows it beside ours.
#![allow(clippy::unwrap_used)] // test-only

use std::time::{Duration, Instant};

use steadfast::tonic::{
    PropagateDeadline, PropagateDeadlineService, ResponseGuard, ServiceConfigLayer,
};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::ResilientUserServiceClient;
use tonic::Code;

mod common;
use common::hostile::{message, pairs, Hostile, Reply};
use common::{channel, request};

const GRPC: (&str, &[u8]) = ("content-type", b"application/grpc");

/// tonic's client under `ServiceConfigLayer`: 3 attempts 10 ms apart on
/// `UNAVAILABLE`, for every method.
fn layered(
    addr: std::net::SocketAddr,
) -> UserServiceClient<steadfast::tonic::ServiceConfigService<tonic::transport::Channel>> {
    let layer = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 3,
            "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1,
            "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .unwrap();
    UserServiceClient::new(
        tower::ServiceBuilder::new()
            .layer(layer)
            .service(channel(addr)),
    )
}

/// A trailers-only answer with these headers besides the content type.
fn trailers_only(headers: &[(&str, &[u8])]) -> Reply {
    let mut all = vec![GRPC];
    all.extend_from_slice(headers);
    Reply::Respond {
        status: 200,
        headers: pairs(&all),
        body: None,
        trailers: None,
    }
}

/// A message, then these trailers.
fn with_trailers(trailers: &[(&str, &[u8])]) -> Reply {
    Reply::Respond {
        status: 200,
        headers: pairs(&[GRPC]),
        body: Some(message("user 42")),
        trailers: Some(pairs(trailers)),
    }
}

const BAD_DETAILS: &[u8] = b"*not base64*";

#[tokio::test]
async fn malformed_status_details_panic_plain_tonic_and_not_ours() {
    for reply in [
        trailers_only(&[
            ("grpc-status", b"14"),
            ("grpc-status-details-bin", BAD_DETAILS),
        ]),
        with_trailers(&[
            ("grpc-status", b"14"),
            ("grpc-status-details-bin", BAD_DETAILS),
        ]),
    ] {
        let peer = Hostile::start(vec![reply]).await;

        // Plain tonic 0.14: the caller's task dies. The day tonic answers
        // with a status instead, this still holds (and the README's table
        // wants a look).
        let mut plain = UserServiceClient::new(channel(peer.addr));
        match tokio::spawn(async move { plain.get_user(request()).await }).await {
            Err(died) => assert!(died.is_panic(), "{died:?}"),
            Ok(answer) => {
                let status = answer.expect_err("a malformed status is no success");
                eprintln!("plain tonic no longer panics here: {status:?}");
            }
        }

        // Ours, four ways: a clear INTERNAL, not retried.
        let before = peer.requests();
        let status = ResilientUserServiceClient::new(channel(peer.addr))
            .get_user(request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");
        assert!(
            status.message().contains("grpc-status-details-bin"),
            "{status:?}"
        );
        assert!(status.message().contains("was 14"), "{status:?}");
        assert_eq!(peer.requests() - before, 1);

        let status = layered(peer.addr).get_user(request()).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");

        let propagating = PropagateDeadlineService::new(channel(peer.addr));
        let status = UserServiceClient::new(propagating)
            .get_user(request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");

        // The interceptor sees no responses: the documented recipe guards
        // the channel under it.
        let intercepted = UserServiceClient::with_interceptor(
            ResponseGuard::new(channel(peer.addr)),
            PropagateDeadline,
        );
        let status = tokio::spawn(async move {
            let mut intercepted = intercepted;
            intercepted.get_user(request()).await
        })
        .await
        .expect("the guarded caller does not panic")
        .unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");
    }
}

/// What the generated client (`GetUser`: 2 s, 3 attempts of 300 ms each on
/// `UNAVAILABLE`) makes of `reply`: its outcome, the requests the peer
/// got, how long it took.
async fn generated(reply: Reply) -> (Result<String, Code>, usize, Duration) {
    let peer = Hostile::start(vec![reply]).await;
    let started = Instant::now();
    let result = ResilientUserServiceClient::new(channel(peer.addr))
        .get_user(request())
        .await;
    (
        result.map(|r| r.into_inner().name).map_err(|s| s.code()),
        peer.requests(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn every_call_ends_with_a_status_within_its_deadline() {
    let huge_message = vec![b'x'; 100_000];
    let many: Vec<(String, Vec<u8>)> = (0..5000)
        .map(|i| (format!("x-junk-{i}"), b"v".to_vec()))
        .collect();
    let mut many_headers = pairs(&[GRPC, ("grpc-status", b"0")]);
    many_headers.extend(many);
    let cases: Vec<(&str, Reply, Code, usize)> = vec![
        (
            "grpc-status not a number",
            trailers_only(&[("grpc-status", b"abc")]),
            Code::Unknown,
            1,
        ),
        (
            "grpc-status out of range",
            trailers_only(&[("grpc-status", b"99")]),
            Code::Unknown,
            1,
        ),
        (
            "grpc-message not UTF-8",
            trailers_only(&[("grpc-status", b"5"), ("grpc-message", b"\xff\xfe")]),
            Code::Unknown,
            1,
        ),
        (
            "enormous grpc-message",
            trailers_only(&[("grpc-status", b"5"), ("grpc-message", &huge_message)]),
            Code::ResourceExhausted,
            1,
        ),
        (
            "no grpc-status at all",
            Reply::Respond {
                status: 200,
                headers: pairs(&[GRPC]),
                body: Some(message("user 42")),
                trailers: None,
            },
            Code::Unknown,
            1,
        ),
        // Each 300 ms attempt times out and is retried: the 2 s deadline holds.
        (
            "trailers that never come",
            Reply::NoTrailers {
                headers: vec![],
                body: message("user 42"),
            },
            Code::DeadlineExceeded,
            3,
        ),
        (
            "a body cut mid-frame",
            Reply::CutBody {
                body: message("user 42"),
                cut: 3,
            },
            Code::Internal,
            1,
        ),
        (
            "RST_STREAM REFUSED_STREAM",
            Reply::Reset(h2::Reason::REFUSED_STREAM),
            Code::Unavailable,
            3,
        ),
        (
            "RST_STREAM INTERNAL_ERROR",
            Reply::Reset(h2::Reason::INTERNAL_ERROR),
            Code::Internal,
            1,
        ),
        // The connection broke under the call: tonic's `UNKNOWN` over a
        // transport error, which is `UNAVAILABLE` for retries (`GetUser`
        // is `NO_SIDE_EFFECTS`): all three attempts made.
        ("GOAWAY mid-call", Reply::GoAway, Code::Unknown, 3),
        // A delay past the deadline: no wait, no retry.
        (
            "pushback of 2^63 ms",
            trailers_only(&[
                ("grpc-status", b"14"),
                ("grpc-retry-pushback-ms", b"9223372036854775808"),
            ]),
            Code::Unavailable,
            1,
        ),
        (
            "pushback of garbage",
            trailers_only(&[("grpc-status", b"14"), ("grpc-retry-pushback-ms", b"soon")]),
            Code::Unavailable,
            1,
        ),
        (
            "5000 metadata entries",
            Reply::Respond {
                status: 200,
                headers: many_headers,
                body: None,
                trailers: None,
            },
            Code::Internal,
            1,
        ),
        // Not gRPC's content type: UNKNOWN, as the gRPC spec says (tonic
        // alone would read the body as gRPC).
        (
            "wrong content-type",
            Reply::Respond {
                status: 200,
                headers: pairs(&[("content-type", b"text/html")]),
                body: Some(message("user 42")),
                trailers: Some(pairs(&[("grpc-status", b"0")])),
            },
            Code::Unknown,
            1,
        ),
        // HTTP errors without gRPC headers, as the gRPC spec's table maps them.
        (
            "HTTP 503",
            Reply::Respond {
                status: 503,
                headers: vec![],
                body: None,
                trailers: None,
            },
            Code::Unavailable,
            3,
        ),
        (
            "HTTP 429",
            Reply::Respond {
                status: 429,
                headers: vec![],
                body: None,
                trailers: None,
            },
            Code::Unavailable,
            3,
        ),
        (
            "HTTP 404",
            Reply::Respond {
                status: 404,
                headers: vec![],
                body: None,
                trailers: None,
            },
            Code::Unimplemented,
            1,
        ),
    ];
    let mut table = Vec::new();
    for (what, reply, code, requests) in cases {
        let (result, seen, took) = generated(reply).await;
        table.push(format!("{what}: {result:?}, {seen} request(s), {took:?}"));
        // Within the 2 s deadline, with a margin for a loaded machine.
        assert!(took < Duration::from_millis(3500), "{what}: took {took:?}");
        assert_eq!(result, Err(code), "{what}");
        assert_eq!(seen, requests, "{what}: {result:?}");
    }
    // The scenario table, for the docs (`--nocapture` prints it).
    println!("{}", table.join("\n"));
}

mod random {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use steadfast_examples::user::ResilientUserDirectoryClient;

    /// A header value: numbers, near-numbers, base64-looking text, or any
    /// bytes a header can carry.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0u32..20).prop_map(|n| n.to_string().into_bytes()),
            Just(b"-1".to_vec()),
            Just(b"9223372036854775808".to_vec()),
            "[A-Za-z0-9+/=]{0,12}".prop_map(String::into_bytes),
            proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..48),
        ]
    }

    fn entry() -> impl Strategy<Value = (String, Vec<u8>)> {
        let name = prop_oneof![
            Just("grpc-status".to_owned()),
            Just("grpc-message".to_owned()),
            Just("grpc-status-details-bin".to_owned()),
            Just("grpc-retry-pushback-ms".to_owned()),
            Just("content-type".to_owned()),
            "x-[a-z]{1,6}",
            "x-[a-z]{1,6}-bin",
        ];
        (name, value())
    }

    fn entries() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        proptest::collection::vec(entry(), 0..8)
    }

    /// Any response: status, header and trailer maps, in any of the shapes
    /// (trailers-only, message and trailers, message and no trailers,
    /// trailers without a message).
    pub(super) fn reply() -> impl Strategy<Value = Reply> {
        let status = prop_oneof![4 => Just(200u16), 1 => 100u16..600];
        (status, any::<bool>(), entries(), 0..4u8, entries()).prop_map(
            |(status, grpc_type, mut headers, shape, trailers)| {
                if grpc_type {
                    headers.insert(0, ("content-type".to_owned(), b"application/grpc".to_vec()));
                }
                let (body, trailers) = match shape {
                    0 => (None, None),
                    1 => (Some(message("user 42")), Some(trailers)),
                    2 => (Some(message("user 42")), None),
                    _ => (None, Some(trailers)),
                };
                // 1xx statuses are informational: h2 refuses to send them.
                let status = if status < 200 { 200 } else { status };
                Reply::Respond {
                    status,
                    headers,
                    body,
                    trailers,
                }
            },
        )
    }

    /// Thousands of random responses through the generated client
    /// (`FindUser`: 1 s deadline, hedged): each call ends, in time, with an
    /// answer or a `Status`, and nothing panics. `PROPTEST_CASES=20000` for
    /// more.
    #[test]
    fn random_headers_and_trailers_never_panic_or_hang() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let peer = rt.block_on(Hostile::start(vec![trailers_only(&[(
            "grpc-status",
            b"0",
        )])]));
        let client = rt.block_on(async { ResilientUserDirectoryClient::new(channel(peer.addr)) });
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&reply(), |reply| {
                peer.script(vec![reply]);
                let mut client = client.clone();
                let started = Instant::now();
                let outcome = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(5), client.find_user(request())).await
                });
                prop_assert!(outcome.is_ok(), "the call hung");
                // The 1 s deadline, with a margin for a loaded machine.
                prop_assert!(
                    started.elapsed() < Duration::from_secs(3),
                    "{:?}",
                    started.elapsed()
                );
                Ok(())
            })
            .unwrap();
    }
}

/// What a call came to, comparable: the message and metadata, or the
/// status with its message and metadata.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered(String, http::HeaderMap),
    Failed(Code, String, http::HeaderMap),
}

fn outcome(
    result: Result<tonic::Response<steadfast_examples::user::UserResponse>, tonic::Status>,
) -> Outcome {
    match result {
        Ok(response) => {
            let (metadata, message, _) = response.into_parts();
            Outcome::Answered(message.name, metadata.into_headers())
        }
        Err(status) => Outcome::Failed(
            status.code(),
            status.message().to_owned(),
            status.metadata().clone().into_headers(),
        ),
    }
}

/// The generated client sends unary calls without tonic's streaming
/// machinery (`new`), or through tonic's client (`from` a tonic client):
/// over a real HTTP/2 connection, the same random responses (every shape of
/// `random::reply`, and the broken streams of the fixed table) come back as
/// the same message and metadata or the same status, with the same number
/// of attempts. `PROPTEST_CASES` sets how many (default 300).
#[test]
fn unary_calls_answer_as_through_tonics_client() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let peer = rt.block_on(Hostile::start(vec![]));
    let transport = rt.block_on(async { channel(peer.addr) });
    let fixed = prop_oneof![
        Just(Reply::CutBody {
            body: message("user 42"),
            cut: 3
        }),
        Just(Reply::Reset(h2::Reason::INTERNAL_ERROR)),
        Just(Reply::Respond {
            status: 200,
            headers: pairs(&[GRPC]),
            body: Some(message("user 42")),
            trailers: Some(pairs(&[("grpc-status", b"0"), ("x-t", b"1")])),
        }),
    ];
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop_oneof![3 => random::reply(), 1 => fixed], |reply| {
            let mut results = Vec::new();
            for own in [true, false] {
                peer.script(vec![reply.clone()]);
                let before = peer.requests();
                let result = rt.block_on(async {
                    // A client of its own, for breakers of its own: `GetUser`'s
                    // circuit breaker (one per client) would open after the
                    // random failures and answer later calls itself.
                    let transport = transport.clone();
                    let mut client = if own {
                        ResilientUserServiceClient::new(transport)
                    } else {
                        ResilientUserServiceClient::from(UserServiceClient::new(
                            ResponseGuard::new(transport),
                        ))
                    };
                    client.get_user(request()).await
                });
                results.push((outcome(result), peer.requests() - before));
            }
            if results[0] != results[1] {
                eprintln!(
                    "DIFF {reply:?}\n  ours {:?}\n  theirs {:?}",
                    results[0], results[1]
                );
            }
            prop_assert_eq!(&results[0], &results[1], "{:?}", reply);
            Ok(())
        })
        .unwrap();
}

/// The server side: a client that misbehaves against `DeadlineLayer` and
/// tonic, driven by a raw `h2` client.
mod server_side {
    use super::*;
    use bytes::Bytes;
    use common::server;
    use steadfast_examples::faulty::Fault;

    /// An h2 connection to `addr`, its driver spawned.
    async fn connect(addr: std::net::SocketAddr) -> h2::client::SendRequest<Bytes> {
        let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (send, connection) = h2::client::handshake(socket).await.unwrap();
        tokio::spawn(connection);
        send.ready().await.unwrap()
    }

    fn get_user(timeout: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::post("http://localhost/user.UserService/GetUser")
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(timeout) = timeout {
            request = request.header("grpc-timeout", timeout);
        }
        request.body(()).unwrap()
    }

    /// The gRPC status of a response: its headers' (trailers-only), or
    /// its trailers'.
    async fn status_of(response: h2::client::ResponseFuture) -> Option<String> {
        let response = response.await.ok()?;
        if let Some(status) = response.headers().get("grpc-status") {
            return Some(status.to_str().ok()?.to_owned());
        }
        let mut body = response.into_body();
        while let Some(Ok(_)) = body.data().await {}
        let trailers = body.trailers().await.ok()??;
        Some(trailers.get("grpc-status")?.to_str().ok()?.to_owned())
    }

    #[tokio::test]
    async fn a_request_body_that_never_ends_is_cut_at_the_deadline_without_the_handler() {
        let server = server([]).await;
        let mut send = connect(server.addr).await;
        let started = Instant::now();
        let (response, mut body) = send.send_request(get_user(Some("300m")), false).unwrap();
        // Half a gRPC frame header, then silence, never the end of the stream.
        body.send_data(Bytes::from_static(&[0, 0]), false).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(5), status_of(response))
            .await
            .expect("the server answered");
        assert_eq!(status.as_deref(), Some("4"), "DEADLINE_EXCEEDED");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert_eq!(
            server.users.calls(),
            0,
            "the handler ran on an unfinished request"
        );
    }

    #[tokio::test]
    async fn malformed_or_enormous_timeouts_neither_run_the_handler_nor_pin_the_server() {
        let server = server([Fault::Ok]).await;
        let mut send = connect(server.addr).await;
        for garbage in ["", "-1m", "1x", "123456789S", "abcS", "1.5S"] {
            let (response, mut body) = send.send_request(get_user(Some(garbage)), false).unwrap();
            body.send_data(message("42"), true).unwrap();
            let status = tokio::time::timeout(Duration::from_secs(5), status_of(response))
                .await
                .expect("the server answered");
            assert_eq!(status.as_deref(), Some("13"), "INTERNAL for {garbage:?}");
        }
        assert_eq!(server.users.calls(), 0);
        // 99999999 hours is capped at the server's maximum (300 s): the
        // handler sees the capped deadline.
        let (response, mut body) = send
            .send_request(get_user(Some("99999999H")), false)
            .unwrap();
        body.send_data(message("42"), true).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(5), status_of(response))
            .await
            .expect("the server answered");
        assert_eq!(status.as_deref(), Some("0"));
        let remaining = server.users.seen()[0].remaining_ms.unwrap();
        assert!(remaining <= 300_000, "{remaining}");
    }

    #[tokio::test]
    async fn a_flood_of_unfinished_streams_leaves_the_server_answering() {
        let server = server([]).await;
        let flood = connect(server.addr).await;
        let mut hung = Vec::new();
        // More streams than the server allows at once (h2's default is
        // unlimited on the client side; the server refuses past its own
        // limit), each a request that never ends.
        for _ in 0..300 {
            let Ok(ready) =
                tokio::time::timeout(Duration::from_millis(200), flood.clone().ready()).await
            else {
                break;
            };
            let Ok(mut ready) = ready else { break };
            let Ok((response, mut body)) = ready.send_request(get_user(Some("500m")), false) else {
                break;
            };
            let _ = body.send_data(Bytes::from_static(&[0]), false);
            hung.push((response, body));
        }
        assert!(!hung.is_empty());
        // Meanwhile a well-behaved client is served at once.
        let started = Instant::now();
        let reply = ResilientUserServiceClient::new(channel(server.addr))
            .get_user(request())
            .await
            .unwrap();
        assert_eq!(reply.into_inner().name, "user 42");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // And every hung stream is ended by its deadline, none ran the handler.
        for (response, _body) in hung {
            let status = tokio::time::timeout(Duration::from_secs(5), status_of(response)).await;
            assert!(status.is_ok(), "a hung stream was never answered");
        }
        assert_eq!(server.users.calls(), 1);
    }
}

/// Headers that never finish: a HEADERS frame without END_HEADERS, then
/// silence, on a raw TCP connection. h2 holds the half-made request (within
/// its header size limit) and never hands it to the service; other clients
/// are served meanwhile.
#[tokio::test]
async fn headers_that_never_finish_run_nothing_and_block_no_one() {
    use tokio::io::AsyncWriteExt;
    let server = common::server([]).await;
    let mut raw = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame.
    raw.write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]).await.unwrap();
    // HEADERS on stream 1, flags 0 (no END_HEADERS, no END_STREAM): one
    // HPACK byte, `:method: POST` (static index 3), and nothing after.
    raw.write_all(&[0, 0, 1, 0x1, 0, 0, 0, 0, 1, 0x83])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let reply = ResilientUserServiceClient::new(channel(server.addr))
        .get_user(request())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().name, "user 42");
    assert_eq!(
        server.users.calls(),
        1,
        "only the well-formed call reached the handler"
    );
    drop(raw);
}

/// gRPC A6 (and grpc-go's retry tests): once response headers arrive the
/// call is committed, and a failure in its trailers is not retried, while
/// the same code as a trailers-only answer is. Both client paths.
#[tokio::test]
async fn a_failure_after_response_headers_is_committed_and_not_retried() {
    let headers_then_unavailable = Reply::Respond {
        status: 200,
        headers: pairs(&[GRPC]),
        body: None,
        trailers: Some(pairs(&[("grpc-status", b"14")])),
    };
    let peer = Hostile::start(vec![headers_then_unavailable]).await;
    let status = ResilientUserServiceClient::new(channel(peer.addr))
        .get_user(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        peer.requests(),
        1,
        "the generated client retried a committed call"
    );

    let status = layered(peer.addr).get_user(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(peer.requests(), 2, "the layer retried a committed call");

    // The same code trailers-only: not committed, retried (GetUser makes 3 attempts).
    let peer = Hostile::start(vec![trailers_only(&[("grpc-status", b"14")])]).await;
    let status = ResilientUserServiceClient::new(channel(peer.addr))
        .get_user(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(peer.requests(), 3);
}
