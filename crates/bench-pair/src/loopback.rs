//! One HTTP/1 server on the loopback for the rows that make requests: both sides of a row
//! talk to the same server over kept-alive connections, so the network, the server and the
//! bytes answered are the same for both.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use bytes::Bytes;

/// An HTTP/1 server on `127.0.0.1` that answers every request (any method, any path) with
/// one fixed response, after reading the request body. It runs on a thread and runtime of
/// its own until the process ends.
#[derive(Debug, Clone)]
pub struct Loopback {
    url: String,
}

impl Loopback {
    /// Starts a server answering `status` with `body` as `content_type`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or the thread cannot start.
    pub fn start(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let status = StatusCode::from_u16(status).expect("an HTTP status");
        let body: Bytes = body.into();
        let content_type = HeaderValue::from_static(content_type);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let app = Router::new().fallback(move |request: Bytes| {
            let body = body.clone();
            let content_type = content_type.clone();
            async move {
                drop(request);
                (status, [(header::CONTENT_TYPE, content_type)], body)
            }
        });
        std::thread::Builder::new()
            .name("bench-loopback".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a Tokio runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                    axum::serve(listener, app)
                        .await
                        .expect("the loopback server");
                });
            })
            .expect("the server thread");
        Self { url }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }
}
