//! The `Catalog` service on 127.0.0.1 that the streaming tests script: each
//! call does the next `Act` (`examples/proto/catalog.proto`).
#![allow(clippy::unwrap_used)] // test-only

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast_examples::catalog::v1::catalog_server::{Catalog, CatalogServer};
use steadfast_examples::catalog::v1::{Entry, ResilientCatalogClient};
use steadfast_examples::faulty::serve_with_deadlines;
use steadfast_examples::user::UserResponse;
use tokio::task::JoinHandle;
use tonic::codegen::tokio_stream::{self, Stream, StreamExt};
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};

pub(crate) type EntryStream = Pin<Box<dyn Stream<Item = Result<Entry, Status>> + Send>>;

/// What the server does with one call.
#[derive(Clone)]
pub(crate) enum Act {
    Fail(Code),
    /// Stream these, then end with this error if any.
    Stream(Vec<&'static str>, Option<Code>),
    Hang,
    /// Read the whole request stream, then fail with this code.
    FailAfterReading(Code),
}

#[derive(Clone, Default)]
pub(crate) struct Script {
    pub(crate) acts: Arc<Mutex<VecDeque<Act>>>,
    pub(crate) calls: Arc<Mutex<Vec<&'static str>>>,
    /// `x-request-id` and `grpc-timeout` of each call of `Old`.
    pub(crate) headers: Arc<Mutex<Vec<Headers>>>,
}

/// The `x-request-id` and `grpc-timeout` a call carried.
pub(crate) type Headers = (Option<String>, Option<String>);

impl Script {
    pub(crate) fn next(&self, method: &'static str) -> Option<Act> {
        self.calls.lock().unwrap().push(method);
        self.acts.lock().unwrap().pop_front()
    }

    pub(crate) fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

/// The entries `ids`, then the error `end` if any.
fn scripted(ids: Vec<&'static str>, end: Option<Code>) -> EntryStream {
    let items = ids.into_iter().map(|id| Ok(entry(id)));
    let end = end.map(|code| Err(Status::new(code, "broke mid-stream")));
    Box::pin(tokio_stream::iter(items.chain(end)))
}

pub(crate) fn entry(id: &str) -> Entry {
    Entry { id: id.to_owned() }
}

#[tonic::async_trait]
impl Catalog for Script {
    async fn r#type(&self, request: Request<Entry>) -> Result<Response<Entry>, Status> {
        match self.next("type") {
            Some(Act::Fail(code)) => Err(Status::new(code, "injected")),
            _ => Ok(Response::new(request.into_inner())),
        }
    }

    async fn old(&self, request: Request<Entry>) -> Result<Response<()>, Status> {
        let header = |name| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        self.headers
            .lock()
            .unwrap()
            .push((header("x-request-id"), header("grpc-timeout")));
        match self.next("old") {
            Some(Act::Fail(code)) => Err(Status::new(code, "injected")),
            _ => Ok(Response::new(())),
        }
    }

    async fn owner(&self, _: Request<Entry>) -> Result<Response<UserResponse>, Status> {
        self.next("owner");
        Ok(Response::new(UserResponse::default()))
    }

    type WatchStream = EntryStream;

    async fn watch(&self, _: Request<Entry>) -> Result<Response<EntryStream>, Status> {
        match self.next("watch") {
            Some(Act::Fail(code)) => Err(Status::new(code, "injected")),
            Some(Act::Stream(ids, end)) => Ok(Response::new(scripted(ids, end))),
            Some(Act::Hang) => std::future::pending().await,
            None | Some(Act::FailAfterReading(_)) => {
                Ok(Response::new(Box::pin(tokio_stream::empty())))
            }
        }
    }

    async fn upload(&self, request: Request<Streaming<Entry>>) -> Result<Response<Entry>, Status> {
        let act = self.next("upload");
        match act {
            Some(Act::Fail(code)) => Err(Status::new(code, "injected")),
            Some(Act::Hang) => std::future::pending().await,
            _ => {
                let mut stream = request.into_inner();
                let mut ids = Vec::new();
                while let Some(item) = stream.next().await {
                    ids.push(item?.id);
                }
                if let Some(Act::FailAfterReading(code)) = act {
                    return Err(Status::new(code, "injected after reading"));
                }
                Ok(Response::new(entry(&ids.join(","))))
            }
        }
    }

    type ChatStream = EntryStream;

    async fn chat(
        &self,
        request: Request<Streaming<Entry>>,
    ) -> Result<Response<EntryStream>, Status> {
        match self.next("chat") {
            Some(Act::Fail(code)) => Err(Status::new(code, "injected")),
            Some(Act::Stream(ids, end)) => Ok(Response::new(scripted(ids, end))),
            _ => {
                let echo = request
                    .into_inner()
                    .map(|item| item.map(|e| entry(&format!("re: {}", e.id))));
                Ok(Response::new(Box::pin(echo)))
            }
        }
    }
}

pub(crate) struct Server {
    pub(crate) script: Script,
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn server(acts: impl IntoIterator<Item = Act>) -> Server {
    let script = Script::default();
    script.acts.lock().unwrap().extend(acts);
    let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
    let routes = Routes::new(CatalogServer::new(script.clone()));
    let task = serve_with_deadlines(routes, incoming);
    Server { script, addr, task }
}

pub(crate) fn client(addr: SocketAddr) -> ResilientCatalogClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    ResilientCatalogClient::new(channel)
}

/// Messages that come one by one, `gap` apart, as a live stream's do.
pub(crate) fn live(ids: &'static [&'static str], gap: Duration) -> impl Stream<Item = Entry> {
    let (send, receive) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for id in ids {
            tokio::time::sleep(gap).await;
            if send.send(entry(id)).await.is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receive)
}
