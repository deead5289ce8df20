//! End-to-end: the generated `ResilientCatalogClient` retries client- and
//! bidi-streaming calls as gRPC A6 (and `ServiceConfigLayer`) does: the
//! messages are recorded as they are sent (up to 256 KiB), a retry sends
//! them again and goes on with the caller's stream, and a response commits
//! the call. Retries from `catalog_service_config.json` (3 attempts 50 ms
//! apart on UNAVAILABLE, a 1 s deadline). A file of its own: the generated
//! clients' retry budget is one per process, and these calls spend it.
#![allow(clippy::unwrap_used)] // test-only

use std::time::Duration;

use tonic::codegen::tokio_stream::{self, StreamExt};
use tonic::Code;

mod common;
use common::catalog::{client, entry, live, server, Act};

#[tokio::test]
async fn a_client_stream_read_then_failed_is_replayed_whole() {
    let s = server([Act::FailAfterReading(Code::Unavailable)]).await;
    let stream = live(&["a", "b", "c"], Duration::from_millis(20));
    let reply = client(s.addr).upload(stream).await.unwrap();
    assert_eq!(reply.into_inner().id, "a,b,c");
    assert_eq!(s.script.calls(), ["upload", "upload"]);
}

#[tokio::test]
async fn a_failure_before_the_stream_ended_is_retried_and_the_stream_goes_on() {
    // The server fails at once: the retry sends what was sent, then the
    // messages that come after.
    let s = server([Act::Fail(Code::Unavailable)]).await;
    let stream = live(&["early", "late"], Duration::from_millis(150));
    let reply = client(s.addr).upload(stream).await.unwrap();
    assert_eq!(reply.into_inner().id, "early,late");
    assert_eq!(s.script.calls(), ["upload", "upload"]);
}

#[tokio::test]
async fn a_stream_larger_than_the_buffer_is_not_retried() {
    let s = server([Act::FailAfterReading(Code::Unavailable)]).await;
    let big = "x".repeat(200 * 1024);
    let stream = tokio_stream::iter([entry(&big), entry(&big)]);
    let status = client(s.addr).upload(stream).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(s.script.calls(), ["upload"]);
}

#[tokio::test]
async fn a_bidi_call_is_retried_until_its_response_starts() {
    let s = server([Act::Fail(Code::Unavailable)]).await;
    // Requests that wait on responses: "pong" goes only after "re: ping".
    let (send, receive) = tokio::sync::mpsc::channel(4);
    send.send(entry("ping")).await.unwrap();
    let stream = tokio_stream::wrappers::ReceiverStream::new(receive);
    let mut replies = client(s.addr).chat(stream).await.unwrap().into_inner();
    assert_eq!(replies.next().await.unwrap().unwrap().id, "re: ping");
    send.send(entry("pong")).await.unwrap();
    assert_eq!(replies.next().await.unwrap().unwrap().id, "re: pong");
    drop(send);
    assert!(replies.next().await.is_none());
    assert_eq!(s.script.calls(), ["chat", "chat"]);
}

#[tokio::test]
async fn a_failure_once_the_client_stream_was_answered_is_not_retried() {
    // Committed at response headers: the failure in the trailers that
    // follow (after the server read the stream) is the caller's.
    let s = server([Act::Stream(vec!["first"], Some(Code::Unavailable))]).await;
    let mut replies = client(s.addr)
        .chat(tokio_stream::iter([entry("a")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replies.next().await.unwrap().unwrap().id, "first");
    assert_eq!(
        replies.next().await.unwrap().unwrap_err().code(),
        Code::Unavailable
    );
    assert_eq!(s.script.calls(), ["chat"]);
}
