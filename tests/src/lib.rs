//! Shared helpers for the cross-crate end-to-end tests in `tests/`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;

use compliance_sandbox::{ElkycCredentials, EncryptionMode};
use kyc_public_api::EncryptionSettings;

/// Serves `router` on a loopback port and returns its base URL. The server lives until the
/// test's runtime ends.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

/// What a [`recorder`] received: each delivery's headers and raw body, in order.
pub type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook endpoint that keeps every delivery and answers 503 to the first `fail_first`
/// of them, 200 afterwards (a receiver that was down for a while). Returns its URL.
pub async fn recorder(fail_first: usize) -> (String, Received) {
    async fn take(
        State((seen, fail_first)): State<(Received, usize)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.push((headers, body));
        if seen.len() <= fail_first {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }
    let seen = Received::default();
    let app = axum::Router::new()
        .route("/hook", post(take))
        .with_state((seen.clone(), fail_first));
    (format!("{}/hook", serve(app).await), seen)
}

/// The client crate's encryption settings for the simulated elKYC application's keys, in
/// its current mode; `None` when it runs unencrypted.
pub fn elkyc_settings(creds: &ElkycCredentials) -> Option<EncryptionSettings> {
    match creds.encryption {
        EncryptionMode::Cbc => Some(EncryptionSettings::cbc(
            creds.secret_key.clone(),
            creds.hmac_key.clone(),
        )),
        EncryptionMode::Gcm => Some(EncryptionSettings::gcm(creds.secret_key.clone())),
        _ => None,
    }
}

/// One request and its answer, as a [`Tap`] saw them.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The request headers (names lowercase).
    pub request_headers: Vec<(String, String)>,
    /// The request body.
    pub request_body: Vec<u8>,
    /// The answer's status.
    pub status: u16,
    /// The answer's headers (names lowercase).
    pub response_headers: Vec<(String, String)>,
    /// The answer's body.
    pub response_body: Vec<u8>,
}

#[derive(Clone)]
struct TapState {
    upstream: String,
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

/// A reverse proxy in front of one API that keeps every exchange: what a client sent and
/// received, byte for byte (to learn which secrets were in play).
pub struct Tap {
    /// Give this to the client as its base URL.
    pub url: String,
    seen: Arc<Mutex<Vec<Exchange>>>,
}

impl Tap {
    /// Starts a tap forwarding to `upstream` (a base URL).
    pub async fn start(upstream: String) -> Self {
        let seen: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let state = TapState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            seen: seen.clone(),
        };
        let url = serve(axum::Router::new().fallback(forward).with_state(state)).await;
        Self { url, seen }
    }

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn forward(State(tap): State<TapState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = tap
        .client
        .request(parts.method.clone(), format!("{}{path}", tap.upstream))
        .body(body.clone());
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            out = out.header(name, value);
        }
    }
    let Ok(answer) = out.send().await else {
        return Response::builder()
            .status(502)
            .body(Body::empty())
            .unwrap_or_default();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let answer_body = answer.bytes().await.unwrap_or_default();
    tap.seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Exchange {
            method: parts.method.to_string(),
            path,
            request_headers: pairs(&parts.headers),
            request_body: body.to_vec(),
            status: status.as_u16(),
            response_headers: pairs(&headers),
            response_body: answer_body.to_vec(),
        });
    let mut reply = Response::new(Body::from(answer_body));
    *reply.status_mut() = status;
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            reply.headers_mut().append(name, value.clone());
        }
    }
    reply
}

/// What the simulated Heleket delivered so far: each webhook's status and the answer to its
/// latest attempt.
pub fn heleket_sent(heleket: &compliance_sandbox::Heleket) -> Vec<(String, Option<u16>)> {
    heleket
        .deliveries()
        .into_iter()
        .map(|d| (d.sent.status.clone(), d.last_status()))
        .collect()
}
