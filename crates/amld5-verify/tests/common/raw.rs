//! A scripted HTTP/1.1 server on the test's own runtime (so paused tokio time applies to it),
//! able to do what mockito cannot: hang, answer slowly, close the connection without an
//! answer, or stop half-way through a body until the test lets it finish.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawRequest {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Reply {
    /// Answer `status` with `body` after `delay` (tokio time).
    After(Duration, u16, String),
    /// Read the request and never answer.
    Hang,
    /// Close the connection without answering (a lost response).
    Close,
    /// Send the status, the headers and the first `split` bytes of `body`, notify
    /// `answered`, and send the rest only once `release` is notified.
    Partial {
        status: u16,
        body: String,
        split: usize,
        answered: Arc<Notify>,
        release: Arc<Notify>,
    },
}

impl Reply {
    /// Answer at once.
    pub fn now(status: u16, body: impl Into<String>) -> Self {
        Reply::After(Duration::ZERO, status, body.into())
    }
}

type Handler = Arc<dyn Fn(&RawRequest) -> Reply + Send + Sync>;

/// A running scripted server.
#[derive(Clone)]
pub struct RawServer {
    pub url: String,
    seen: Arc<Mutex<Vec<RawRequest>>>,
}

impl RawServer {
    /// Every request read so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests went to `path` (query included).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }
}

/// Starts a server answering every request with `handler`.
pub async fn raw_server(
    handler: impl Fn(&RawRequest) -> Reply + Send + Sync + 'static,
) -> RawServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<RawRequest>>> = Arc::default();
    let handler: Handler = Arc::new(handler);
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (handler, log) = (handler.clone(), log.clone());
            tokio::spawn(serve(sock, handler, log));
        }
    });
    RawServer { url, seen }
}

fn serve(
    mut sock: TcpStream,
    handler: Handler,
    log: Arc<Mutex<Vec<RawRequest>>>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    // One request per connection (`connection: close`): a kept-alive connection makes paused
    // tokio time advance while the next request is in flight.
    Box::pin(async move {
        let Some(request) = read_request(&mut sock).await else {
            return;
        };
        log.lock().unwrap().push(request.clone());
        match handler(&request) {
            Reply::After(delay, status, body) => {
                tokio::time::sleep(delay).await;
                let _ = write_head(&mut sock, status, body.len()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
            Reply::Hang => std::future::pending::<()>().await,
            Reply::Close => {}
            Reply::Partial {
                status,
                body,
                split,
                answered,
                release,
            } => {
                let _ = write_head(&mut sock, status, body.len()).await;
                let _ = sock.write_all(&body.as_bytes()[..split]).await;
                let _ = sock.flush().await;
                answered.notify_one();
                release.notified().await;
                let _ = sock.write_all(&body.as_bytes()[split..]).await;
            }
        }
    })
}

async fn write_head(sock: &mut TcpStream, status: u16, len: usize) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await
}

async fn read_request(sock: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
    Some(RawRequest {
        method,
        path,
        headers,
        body,
    })
}
