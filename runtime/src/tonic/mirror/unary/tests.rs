//! [`UnaryClient`] against tonic's own `Grpc::unary`, on the same scripted
//! responses: the same requests on the wire (but for tonic's empty closing
//! DATA frame), the same messages, metadata and statuses back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Pairs = Vec<(&'static str, &'static [u8])>;

/// One step of a scripted response body.
#[derive(Clone, Debug)]
enum Item {
    Data(Vec<u8>),
    Trailers(Pairs),
    Error(&'static str),
}

/// A response: HTTP status, headers, body.
#[derive(Clone, Debug)]
struct Script {
    status: u16,
    headers: Pairs,
    body: Vec<Item>,
}

fn map(pairs: &Pairs) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    map
}

/// A gRPC message frame.
fn framed(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `message` as a protobuf `string` message (field 1).
fn message(text: &str) -> Vec<u8> {
    text.to_owned().encode_to_vec()
}

struct ScriptBody(VecDeque<Item>);

impl HttpBody for ScriptBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|item| match item {
            Item::Data(data) => Ok(Frame::data(Bytes::from(data))),
            Item::Trailers(pairs) => Ok(Frame::trailers(map(&pairs))),
            Item::Error(text) => Err(text.into()),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a transport was sent.
#[derive(Debug, PartialEq)]
struct Sent {
    method: http::Method,
    uri: Uri,
    version: http::Version,
    headers: HeaderMap,
    body: Vec<u8>,
    grpc_method: Option<(String, String)>,
    x_extension: Option<u32>,
}

/// A transport that answers with a script and records what it was sent,
/// and whether the body said it had ended with its last DATA frame (hyper
/// then sends END_STREAM on that frame, rather than an empty frame after).
#[derive(Clone)]
struct Scripted {
    script: Script,
    sent: Arc<Mutex<Vec<(Sent, bool)>>>,
}

impl Scripted {
    fn new(script: Script) -> Self {
        Self {
            script,
            sent: Arc::default(),
        }
    }

    fn sent(&self) -> (Sent, bool) {
        self.sent.lock().unwrap().pop().expect("nothing was sent")
    }
}

impl tower_service::Service<http::Request<::tonic::body::Body>> for Scripted {
    type Response = http::Response<ScriptBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<::tonic::body::Body>) -> Self::Future {
        let (script, sent) = (self.script.clone(), Arc::clone(&self.sent));
        Box::pin(async move {
            let (parts, mut body) = request.into_parts();
            let (mut bytes, mut ended_with_data) = (Vec::new(), false);
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                if let Ok(data) = frame?.into_data() {
                    bytes.extend_from_slice(&data);
                    ended_with_data = body.is_end_stream();
                }
            }
            let grpc_method = parts
                .extensions
                .get::<GrpcMethod<'static>>()
                .map(|m| (m.service().to_owned(), m.method().to_owned()));
            let record = Sent {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body: bytes,
                grpc_method,
                x_extension: parts.extensions.get::<u32>().copied(),
            };
            sent.lock().unwrap().push((record, ended_with_data));
            let mut response = http::Response::new(ScriptBody(script.body.into()));
            *response.status_mut() = StatusCode::from_u16(script.status).unwrap();
            *response.headers_mut() = map(&script.headers);
            response.extensions_mut().insert(7u64);
            Ok(response)
        })
    }
}

/// A request with metadata (tonic's reserved names among it), an
/// extension and a timeout.
fn request() -> Request<String> {
    let mut request = Request::new("hello".to_owned());
    let metadata = request.metadata_mut();
    metadata.insert("x-request-id", "42".parse().unwrap());
    metadata.insert("content-type", "text/plain".parse().unwrap());
    metadata.insert("grpc-status", "3".parse().unwrap());
    metadata.insert("grpc-message", "no".parse().unwrap());
    metadata.insert("grpc-message-type", "no".parse().unwrap());
    metadata.insert("te", "gzip".parse().unwrap());
    metadata.insert("user-agent", "mine/1.0".parse().unwrap());
    request.extensions_mut().insert(5u32);
    request.set_timeout(std::time::Duration::from_millis(1500));
    request
}

const PATH: &str = "/echo.Echo/Say";

/// A call's outcome, comparable.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok {
        message: String,
        metadata: HeaderMap,
        extension: Option<u64>,
    },
    Err {
        code: Code,
        message: String,
        details: Vec<u8>,
        metadata: HeaderMap,
    },
}

fn outcome(result: Result<Response<String>, Status>) -> Outcome {
    match result {
        Ok(response) => {
            let (metadata, message, extensions) = response.into_parts();
            Outcome::Ok {
                message,
                metadata: metadata.into_headers(),
                extension: extensions.get::<u64>().copied(),
            }
        }
        Err(status) => Outcome::Err {
            code: status.code(),
            message: status.message().to_owned(),
            details: status.details().to_vec(),
            metadata: status.metadata().clone().into_headers(),
        },
    }
}

/// The same call through tonic and through [`UnaryClient`]:
/// `(tonic's outcome, ours, tonic's request, ours)`.
async fn both(
    script: Script,
    origin: Option<&'static str>,
    max_decoding: Option<usize>,
) -> (Outcome, Outcome, (Sent, bool), (Sent, bool)) {
    let theirs = Scripted::new(script.clone());
    let mut grpc = match origin {
        Some(origin) => {
            ::tonic::client::Grpc::with_origin(theirs.clone(), Uri::from_static(origin))
        }
        None => ::tonic::client::Grpc::new(theirs.clone()),
    };
    let mut ours_client = match origin {
        Some(origin) => UnaryClient::with_origin(Scripted::new(script), Uri::from_static(origin)),
        None => UnaryClient::new(Scripted::new(script)),
    };
    if let Some(limit) = max_decoding {
        grpc = grpc.max_decoding_message_size(limit);
        ours_client = ours_client.max_decoding_message_size(limit);
    }
    let ours = ours_client.transport.clone();

    let mut tonic_request = request();
    tonic_request
        .extensions_mut()
        .insert(GrpcMethod::new("echo.Echo", "Say"));
    grpc.ready().await.unwrap();
    let tonic_result = grpc
        .unary(
            tonic_request,
            PathAndQuery::from_static(PATH),
            ProstCodec::<String, String>::default(),
        )
        .await;
    let our_result = match ours_client.call::<String, String>(
        request(),
        PATH,
        GrpcMethod::new("echo.Echo", "Say"),
    ) {
        Ok(call) => call.await,
        Err(_) => panic!("a plain request was declined"),
    };
    (
        outcome(tonic_result),
        outcome(our_result),
        theirs.sent(),
        ours.sent(),
    )
}

fn ok_trailers() -> Item {
    Item::Trailers(vec![("grpc-status", b"0"), ("x-trailer", b"t")])
}

fn grpc_headers() -> Pairs {
    vec![("content-type", b"application/grpc"), ("x-header", b"h")]
}

fn script(headers: Pairs, body: Vec<Item>) -> Script {
    Script {
        status: 200,
        headers,
        body,
    }
}

/// Every response shape the tests compare on.
fn scripts() -> Vec<(&'static str, Script)> {
    let world = framed(0, &message("world"));
    let (head, tail) = world.split_at(3);
    let mut two = world.clone();
    two.extend_from_slice(&framed(0, &message("again")));
    vec![
        (
            "plain",
            script(
                grpc_headers(),
                vec![Item::Data(world.clone()), ok_trailers()],
            ),
        ),
        (
            "split across chunks",
            script(
                grpc_headers(),
                vec![
                    Item::Data(head.to_vec()),
                    Item::Data(Vec::new()),
                    Item::Data(tail.to_vec()),
                    ok_trailers(),
                ],
            ),
        ),
        (
            "empty message",
            script(
                grpc_headers(),
                vec![Item::Data(framed(0, b"")), ok_trailers()],
            ),
        ),
        (
            "status in trailers",
            script(
                grpc_headers(),
                vec![Item::Trailers(vec![
                    ("grpc-status", b"14"),
                    ("grpc-message", b"down%20for%20now"),
                    ("grpc-status-details-bin", b"AAEC"),
                ])],
            ),
        ),
        (
            "message then a failure status",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world.clone()),
                    Item::Trailers(vec![("grpc-status", b"8")]),
                ],
            ),
        ),
        (
            "trailers-only failure",
            script(
                vec![
                    ("content-type", b"application/grpc"),
                    ("grpc-status", b"7"),
                    ("grpc-message", b"nope"),
                ],
                vec![],
            ),
        ),
        (
            "trailers-only ok",
            script(
                vec![("content-type", b"application/grpc"), ("grpc-status", b"0")],
                vec![],
            ),
        ),
        (
            "HTTP 503",
            Script {
                status: 503,
                headers: vec![("content-type", b"text/plain")],
                body: vec![Item::Data(b"busy".to_vec())],
            },
        ),
        (
            "HTTP 404 with a gRPC body",
            Script {
                status: 404,
                headers: grpc_headers(),
                body: vec![Item::Data(world.clone()), ok_trailers()],
            },
        ),
        (
            "compressed with gzip",
            script(
                vec![
                    ("content-type", b"application/grpc"),
                    ("grpc-encoding", b"gzip"),
                ],
                vec![Item::Data(framed(1, b"zz")), ok_trailers()],
            ),
        ),
        (
            "encoding not UTF-8",
            script(
                vec![("grpc-encoding", b"\xffzip")],
                vec![Item::Data(world.clone()), ok_trailers()],
            ),
        ),
        (
            "identity encoding",
            script(
                vec![("grpc-encoding", b"identity")],
                vec![Item::Data(world.clone()), ok_trailers()],
            ),
        ),
        (
            "compressed flag without an encoding",
            script(
                grpc_headers(),
                vec![Item::Data(framed(1, b"zz")), ok_trailers()],
            ),
        ),
        (
            "two messages",
            script(grpc_headers(), vec![Item::Data(two), ok_trailers()]),
        ),
        (
            "no trailers",
            script(grpc_headers(), vec![Item::Data(world.clone())]),
        ),
        ("nothing at all", script(grpc_headers(), vec![])),
        (
            "trailers without a status",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world.clone()),
                    Item::Trailers(vec![("x-t", b"1")]),
                ],
            ),
        ),
        (
            "status spelled 00",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world.clone()),
                    Item::Trailers(vec![("grpc-status", b"00")]),
                ],
            ),
        ),
        (
            "status not a number",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world.clone()),
                    Item::Trailers(vec![("grpc-status", b"ok")]),
                ],
            ),
        ),
        (
            "truncated message",
            script(
                grpc_headers(),
                vec![Item::Data(world[..world.len() - 1].to_vec()), ok_trailers()],
            ),
        ),
        (
            "not protobuf",
            script(
                grpc_headers(),
                vec![Item::Data(framed(0, &[0xff, 0xff, 0xff])), ok_trailers()],
            ),
        ),
        (
            "error after the message",
            script(
                grpc_headers(),
                vec![Item::Data(world.clone()), Item::Error("connection reset")],
            ),
        ),
        (
            "error before anything",
            script(grpc_headers(), vec![Item::Error("connection reset")]),
        ),
        (
            "data after the trailers",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world.clone()),
                    ok_trailers(),
                    Item::Data(world.clone()),
                ],
            ),
        ),
        (
            "two trailer frames",
            script(
                grpc_headers(),
                vec![
                    Item::Data(world),
                    ok_trailers(),
                    Item::Trailers(vec![("grpc-status", b"13")]),
                ],
            ),
        ),
    ]
}

#[tokio::test]
async fn answers_as_tonic_does_to_every_response() {
    for (name, script) in scripts() {
        for max_decoding in [None, Some(4), Some(1 << 20)] {
            let (theirs, ours, _, _) = both(script.clone(), None, max_decoding).await;
            assert_eq!(ours, theirs, "{name}, decoding limit {max_decoding:?}");
        }
    }
}

#[tokio::test]
async fn a_plain_response_is_read_as_tonic_reads_it() {
    let (_, script) = scripts().swap_remove(0);
    let (theirs, ours, _, _) = both(script, None, None).await;
    let Outcome::Ok {
        message,
        metadata,
        extension,
    } = ours
    else {
        panic!("{ours:?}");
    };
    assert_eq!(message, "world");
    assert_eq!(metadata["x-header"], "h");
    assert_eq!(metadata["x-trailer"], "t");
    assert_eq!(metadata["grpc-status"], "0");
    assert_eq!(extension, Some(7));
    assert!(matches!(theirs, Outcome::Ok { .. }));
}

#[tokio::test]
async fn sends_what_tonic_sends_in_one_frame() {
    for origin in [
        None,
        Some("http://example.com"),
        Some("http://example.com/prefix"),
    ] {
        let (_, script) = scripts().swap_remove(0);
        let (_, _, (theirs, their_end), (ours, our_end)) = both(script, origin, None).await;
        assert_eq!(ours, theirs, "origin {origin:?}");
        assert_eq!(
            (their_end, our_end),
            (false, true),
            "tonic ends with an empty frame"
        );
        assert_eq!(ours.headers["x-request-id"], "42");
        assert_eq!(ours.headers["content-type"], "application/grpc");
        assert_eq!(ours.headers["te"], "trailers");
        assert_eq!(ours.headers["grpc-timeout"], "1500000u");
        assert!(ours.headers.get("grpc-status").is_none());
        // tonic 0.14 keeps a caller's user-agent (its channel adds its own after it).
        assert_eq!(ours.headers["user-agent"], "mine/1.0");
        assert_eq!(ours.body, framed(0, &message("hello")));
        assert_eq!(ours.x_extension, Some(5));
        assert_eq!(ours.grpc_method, Some(("echo.Echo".into(), "Say".into())));
    }
}

#[test]
fn declines_what_tonic_treats_specially() {
    let mut client = UnaryClient::new(Scripted::new(script(grpc_headers(), vec![])));
    let mut cancellable = Request::new("hi".to_owned());
    let _handle = cancellable.cancellation_handle();
    assert!(client
        .call::<String, String>(cancellable, PATH, GrpcMethod::new("echo.Echo", "Say"))
        .is_err());
    let mut limited = client.max_encoding_message_size(4);
    // "hi" is 4 bytes encoded (tag, length, two bytes): within the limit.
    assert!(limited
        .call::<String, String>(Request::new("hi".into()), PATH, GrpcMethod::new("e.E", "S"))
        .is_ok());
    let declined = limited
        .call::<String, String>(
            Request::new("hi!".into()),
            PATH,
            GrpcMethod::new("e.E", "S"),
        )
        .err()
        .unwrap();
    assert_eq!(declined.get_ref(), "hi!");
}
