//! End-to-end: what the generated `ResilientCatalogClient` does for each
//! kind of RPC (`examples/proto/catalog.proto`, retries from
//! `catalog_service_config.json`: 3 attempts 50 ms apart on UNAVAILABLE,
//! a 1 s deadline). A real tonic server on 127.0.0.1.
#![allow(clippy::unwrap_used)] // the helpers below run only inside tests

use std::net::SocketAddr;
use std::time::Duration;

use tonic::codegen::tokio_stream::{self, StreamExt};
use tonic::transport::Channel;
use tonic::{Code, Request};

mod common;
use common::catalog::{client, entry, live, server, Act};

#[tokio::test]
async fn a_keyword_named_rpc_is_called_and_retried() {
    let s = server([Act::Fail(Code::Unavailable)]).await;
    let reply = client(s.addr).r#type(entry("x")).await.unwrap();
    assert_eq!(reply.into_inner().id, "x");
    assert_eq!(s.script.calls(), ["type", "type"]);
}

#[tokio::test]
async fn server_streaming_is_retried_until_the_response_starts() {
    let s = server([
        Act::Fail(Code::Unavailable),
        Act::Stream(vec!["a", "b"], None),
    ])
    .await;
    let mut stream = client(s.addr).watch(entry("q")).await.unwrap().into_inner();
    let mut ids = Vec::new();
    while let Some(item) = stream.next().await {
        ids.push(item.unwrap().id);
    }
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(s.script.calls(), ["watch", "watch"]);
}

#[tokio::test]
async fn a_stream_that_breaks_after_it_started_is_the_callers() {
    let s = server([Act::Stream(vec!["a"], Some(Code::Unavailable))]).await;
    let mut stream = client(s.addr).watch(entry("q")).await.unwrap().into_inner();
    assert_eq!(stream.next().await.unwrap().unwrap().id, "a");
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(s.script.calls(), ["watch"], "no retry once messages flowed");
}

/// Retries of streamed requests have their own file (`stream_replay.rs`):
/// the retry budget of the generated clients is one per process.
#[tokio::test]
async fn client_streaming_is_bounded_by_the_deadline() {
    let s = server([Act::Hang]).await;
    let start = tokio::time::Instant::now();
    let request = tokio_stream::iter([entry("a")]);
    let err = client(s.addr).upload(request).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );

    let s = server([]).await;
    let request = tokio_stream::iter([entry("a"), entry("b")]);
    assert_eq!(
        client(s.addr)
            .upload(request)
            .await
            .unwrap()
            .into_inner()
            .id,
        "a,b"
    );
}

#[tokio::test]
async fn bidi_streaming_echoes_in_order() {
    let s = server([]).await;
    let mut replies = client(s.addr)
        .chat(tokio_stream::iter([entry("a"), entry("b")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replies.next().await.unwrap().unwrap().id, "re: a");
    assert_eq!(replies.next().await.unwrap().unwrap().id, "re: b");
}

#[tokio::test]
#[allow(deprecated)]
async fn a_method_without_retries_sends_once_with_metadata_and_deadline() {
    let s = server([Act::Fail(Code::Unavailable)]).await;
    let mut request = Request::new(entry("x"));
    request
        .metadata_mut()
        .insert("x-request-id", "r-1".parse().unwrap());
    let err = client(s.addr).old(request).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        s.script.calls(),
        ["old"],
        "not in the service config: not retried"
    );
    let headers = s.script.headers.lock().unwrap().clone();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].0.as_deref(), Some("r-1"));
    let sent =
        steadfast::__private::parse_timeout(headers[0].1.as_ref().unwrap().as_bytes()).unwrap();
    assert!(
        sent <= Duration::from_secs(1),
        "the service's 1 s deadline: {sent:?}"
    );
}

#[tokio::test]
#[allow(deprecated)]
async fn deprecated_and_cross_package_methods_work() {
    let s = server([]).await;
    let mut c = client(s.addr);
    c.old(entry("x")).await.unwrap();
    c.owner(entry("x")).await.unwrap();
    assert_eq!(s.script.calls(), ["old", "owner"]);
}

/// Through `ServiceConfigLayer` under tonic's own catalog client: a
/// streamed request is recorded as the first attempt sends it, and
/// replayed when that attempt fails after the server read it all.
mod through_the_layer {
    use super::*;
    use steadfast::tonic::{ServiceConfigLayer, ServiceConfigService};
    use steadfast_examples::catalog::v1::catalog_client::CatalogClient;

    /// tonic's catalog client over the layer of `config`.
    fn layered_with(
        addr: SocketAddr,
        config: &str,
    ) -> CatalogClient<ServiceConfigService<Channel>> {
        let layer = ServiceConfigLayer::from_json(config).unwrap();
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy();
        CatalogClient::new(tower::ServiceBuilder::new().layer(layer).service(channel))
    }

    fn layered(addr: SocketAddr) -> CatalogClient<ServiceConfigService<Channel>> {
        layered_with(
            addr,
            r#"{"methodConfig": [{"name": [{"service": "catalog.v1.Catalog"}], "timeout": "5s",
                "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                                "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        )
    }

    #[tokio::test]
    async fn a_streamed_request_is_replayed_after_a_failure() {
        let s = server([Act::FailAfterReading(Code::Unavailable)]).await;
        // Messages that come one by one, as a live stream's do: the first
        // attempt sends them as they come, recording them.
        let stream = live(&["a", "b", "c"], Duration::from_millis(20));
        let reply = layered(s.addr).upload(stream).await.unwrap();
        assert_eq!(reply.into_inner().id, "a,b,c");
        assert_eq!(s.script.calls(), ["upload", "upload"]);
    }

    #[tokio::test]
    async fn under_a_timeout_only_a_stream_goes_as_it_comes_and_a_unary_call_whole() {
        let s = server([]).await;
        let mut client = layered_with(
            s.addr,
            r#"{"methodConfig": [{"name": [{"service": "catalog.v1.Catalog"}], "timeout": "5s"}]}"#,
        );
        // Not there when the call starts: sent as the messages come.
        let stream = live(&["x", "y"], Duration::from_millis(20));
        let reply = client.upload(stream).await.unwrap();
        assert_eq!(reply.into_inner().id, "x,y");
        // A unary call's request, read whole and sent as one chunk.
        let reply = client.r#type(entry("t")).await.unwrap();
        assert_eq!(reply.into_inner().id, "t");
        assert_eq!(s.script.calls(), ["upload", "type"]);
    }

    #[tokio::test]
    async fn a_failure_before_the_stream_was_all_sent_is_retried_and_the_stream_goes_on() {
        // The server fails at once, while the stream is still coming: gRPC
        // A6 retries it, sending what was sent, then the rest as it comes.
        let s = server([Act::Fail(Code::Unavailable)]).await;
        let (send, receive) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let _ = send.send(entry("early")).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = send.send(entry("late")).await;
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(receive);
        let reply = layered(s.addr).upload(stream).await.unwrap();
        assert_eq!(reply.into_inner().id, "early,late");
        assert_eq!(s.script.calls(), ["upload", "upload"]);
    }

    #[tokio::test]
    async fn a_stream_larger_than_the_buffer_is_not_retried() {
        let s = server([Act::FailAfterReading(Code::Unavailable)]).await;
        let big = "x".repeat(200 * 1024);
        let stream = tokio_stream::iter([entry(&big), entry(&big)]);
        let status = layered(s.addr).upload(stream).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(s.script.calls(), ["upload"]);
    }

    /// A service-wide `hedgingPolicy` reaches a bidi call whose requests
    /// wait on its responses: it is sent once, not read whole first (which
    /// would wait on itself until the deadline).
    #[tokio::test]
    async fn a_hedged_bidi_call_whose_requests_wait_on_responses_is_sent_once() {
        let s = server([]).await;
        let mut client = layered_with(
            s.addr,
            r#"{"methodConfig": [{"name": [{"service": "catalog.v1.Catalog"}], "timeout": "5s",
                "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.05s"}}]}"#,
        );
        let (send, receive) = tokio::sync::mpsc::channel(4);
        send.send(entry("ping")).await.unwrap();
        let stream = tokio_stream::wrappers::ReceiverStream::new(receive);
        let start = tokio::time::Instant::now();
        let mut replies = client.chat(stream).await.unwrap().into_inner();
        assert_eq!(replies.next().await.unwrap().unwrap().id, "re: ping");
        send.send(entry("pong")).await.unwrap();
        assert_eq!(replies.next().await.unwrap().unwrap().id, "re: pong");
        drop(send);
        assert!(replies.next().await.is_none());
        assert!(start.elapsed() < Duration::from_secs(4), "waited on itself");
        assert_eq!(s.script.calls(), ["chat"]);
    }

    #[tokio::test]
    async fn a_response_stream_is_the_callers_once_it_started() {
        let s = server([
            Act::Fail(Code::Unavailable),
            Act::Stream(vec!["x", "y"], Some(Code::Unavailable)),
        ])
        .await;
        let mut stream = layered(s.addr)
            .watch(entry("w"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stream.next().await.unwrap().unwrap().id, "x");
        assert_eq!(stream.next().await.unwrap().unwrap().id, "y");
        // Committed at its headers: the break mid-stream is not retried.
        assert_eq!(
            stream.next().await.unwrap().unwrap_err().code(),
            Code::Unavailable
        );
        assert_eq!(s.script.calls(), ["watch", "watch"]);
    }
}
