//! A peer that misbehaves on purpose: an HTTP/2 server built on `h2`, not
//! on tonic, answering every request with whatever its script says
//! (headers, a body, trailers, a reset, a GOAWAY, silence), so that the
//! client stack meets what tonic would never send.
#![allow(clippy::unwrap_used, dead_code)] // test-only

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::task::JoinHandle;

/// What the peer does with a request.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A response: its HTTP status and headers; `body` as one DATA frame
    /// (a gRPC message, say) unless `None`; then `trailers`, or the end of
    /// the stream without them (`None`); with neither body nor trailers,
    /// the headers end the stream (gRPC's trailers-only form).
    Respond {
        status: u16,
        headers: Vec<(String, Vec<u8>)>,
        body: Option<Bytes>,
        trailers: Option<Vec<(String, Vec<u8>)>>,
    },
    /// Headers and body, then nothing more, ever.
    NoTrailers {
        headers: Vec<(String, Vec<u8>)>,
        body: Bytes,
    },
    /// Headers, then the first `cut` bytes of `body`, then a reset.
    CutBody { body: Bytes, cut: usize },
    /// RST_STREAM with this reason.
    Reset(h2::Reason),
    /// GOAWAY on the connection, mid-call.
    GoAway,
}

/// The encoded gRPC frame of a `UserResponse { name }`.
pub(crate) fn message(name: &str) -> Bytes {
    let mut proto = vec![0x0a, name.len() as u8];
    proto.extend_from_slice(name.as_bytes());
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(proto.len() as u32).to_be_bytes());
    frame.extend_from_slice(&proto);
    Bytes::from(frame)
}

/// `(name, value)` pairs as header entries.
pub(crate) fn pairs(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), v.to_vec()))
        .collect()
}

fn header_map(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        // Anything h2 can carry; what it cannot is skipped.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// The scripted peer on 127.0.0.1, stopped when dropped. Each request gets
/// the next reply of the script; past its end, the last one again.
pub(crate) struct Hostile {
    pub(crate) addr: SocketAddr,
    script: Arc<Mutex<Vec<Reply>>>,
    pub(crate) requests: Arc<Mutex<Vec<HeaderMap>>>,
    task: JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    pub(crate) async fn start(script: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(script));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (script.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (script, requests) = (s.clone(), r.clone());
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(socket).await else {
                        return;
                    };
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        let reply = {
                            let mut script = script.lock().unwrap();
                            if script.len() > 1 {
                                script.remove(0)
                            } else {
                                script[0].clone()
                            }
                        };
                        requests.lock().unwrap().push(request.headers().clone());
                        if matches!(reply, Reply::GoAway) {
                            connection.abrupt_shutdown(h2::Reason::NO_ERROR);
                            // Drive the connection so that the GOAWAY goes out.
                            let _ = tokio::time::timeout(
                                Duration::from_millis(200),
                                std::future::poll_fn(|cx| connection.poll_closed(cx)),
                            )
                            .await;
                            return;
                        }
                        tokio::spawn(answer(request, respond, reply));
                    }
                });
            }
        });
        Self {
            addr,
            script,
            requests,
            task,
        }
    }

    /// Replaces the script.
    pub(crate) fn script(&self, script: Vec<Reply>) {
        *self.script.lock().unwrap() = script;
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn answer(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    reply: Reply,
) {
    // Read the request to its end first, as a gRPC server does.
    let mut body = request.into_body();
    while let Some(Ok(data)) = body.data().await {
        let _ = body.flow_control().release_capacity(data.len());
    }
    let ok_headers = || {
        let mut response = http::Response::new(());
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/grpc"));
        response
    };
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
            trailers,
        } => {
            let mut response = http::Response::new(());
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            *response.headers_mut() = header_map(&headers);
            let ends = body.is_none() && trailers.is_none();
            let Ok(mut stream) = respond.send_response(response, ends) else {
                return;
            };
            if let Some(body) = body {
                let _ = stream.send_data(body, trailers.is_none());
            }
            if let Some(trailers) = trailers {
                let _ = stream.send_trailers(header_map(&trailers));
            }
            // Keep the stream until the client has read it all.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Reply::NoTrailers { headers, body } => {
            let mut response = ok_headers();
            response.headers_mut().extend(header_map(&headers));
            let Ok(mut stream) = respond.send_response(response, false) else {
                return;
            };
            let _ = stream.send_data(body, false);
            std::future::pending::<()>().await;
        }
        Reply::CutBody { body, cut } => {
            let Ok(mut stream) = respond.send_response(ok_headers(), false) else {
                return;
            };
            let _ = stream.send_data(body.slice(..cut.min(body.len())), false);
            tokio::time::sleep(Duration::from_millis(20)).await;
            stream.send_reset(h2::Reason::INTERNAL_ERROR);
        }
        Reply::Reset(reason) => respond.send_reset(reason),
        Reply::GoAway => {}
    }
}
