//! Seeded fault injection and request counters, applied to a provider's API routes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Faults a provider's simulated API injects, drawn from the sandbox's seeded generator so a
/// run is reproducible. Shares are probabilities in `[0, 1]`, checked in this order:
/// dropped connection, 5xx, 429, truncated body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// Added to every API response.
    pub latency: Duration,
    /// Share of requests answered `503 Service Unavailable`.
    pub server_error_rate: f64,
    /// Share of requests answered `429 Too Many Requests` with `Retry-After`.
    pub rate_limit_rate: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Share of responses whose body is cut off half-way (the connection closes early).
    pub truncate_rate: f64,
    /// Share of requests whose connection is dropped before any body byte is sent.
    pub drop_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self::none()
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self {
            latency: Duration::ZERO,
            server_error_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            truncate_rate: 0.0,
            drop_rate: 0.0,
        }
    }

    /// Sets the added latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the share of 503 answers.
    pub fn server_errors(mut self, rate: f64) -> Self {
        self.server_error_rate = rate;
        self
    }

    /// Sets the share of 429 answers and their `Retry-After`.
    pub fn rate_limits(mut self, rate: f64, retry_after_secs: u64) -> Self {
        self.rate_limit_rate = rate;
        self.retry_after_secs = retry_after_secs;
        self
    }

    /// Sets the share of truncated bodies.
    pub fn truncated_bodies(mut self, rate: f64) -> Self {
        self.truncate_rate = rate;
        self
    }

    /// Sets the share of dropped connections.
    pub fn dropped_connections(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
    }
}

/// What a simulated provider received: requests per `METHOD /path`.
#[derive(Debug, Clone, Default)]
pub struct Counters(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counters {
    /// How many requests `method path` received (path without query).
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.lock()
            .get(&format!("{method} {path}"))
            .copied()
            .unwrap_or(0)
    }

    /// Every counter, sorted.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn record(&self, method: &str, path: &str) {
        *self.lock().entry(format!("{method} {path}")).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Shared state of the fault layer.
#[derive(Debug, Clone)]
pub(crate) struct FaultLayer {
    pub(crate) faults: Arc<Mutex<Faults>>,
    pub(crate) rng: Arc<Mutex<fastrand::Rng>>,
    pub(crate) counters: Counters,
}

impl FaultLayer {
    pub(crate) fn new(faults: Faults, seed: u64) -> Self {
        Self {
            faults: Arc::new(Mutex::new(faults)),
            rng: Arc::new(Mutex::new(fastrand::Rng::with_seed(seed))),
            counters: Counters::default(),
        }
    }

    fn draw(&self) -> f64 {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).f64()
    }
}

/// Axum middleware: counts the request, then maybe injects a fault.
pub(crate) async fn inject(
    State(layer): State<FaultLayer>,
    request: Request,
    next: Next,
) -> Response {
    layer
        .counters
        .record(request.method().as_str(), request.uri().path());
    let faults = layer
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.drop_rate > 0.0 && layer.draw() < faults.drop_rate {
        return broken_body(Bytes::new(), 64);
    }
    if faults.server_error_rate > 0.0 && layer.draw() < faults.server_error_rate {
        return (StatusCode::SERVICE_UNAVAILABLE, "sandbox: injected 503").into_response();
    }
    if faults.rate_limit_rate > 0.0 && layer.draw() < faults.rate_limit_rate {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "sandbox: injected 429").into_response();
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(faults.retry_after_secs),
        );
        return r;
    }
    let truncate = faults.truncate_rate > 0.0 && layer.draw() < faults.truncate_rate;
    let response = next.run(request).await;
    if !truncate {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let full = bytes.len().max(2);
    let mut cut = broken_body(bytes.slice(..bytes.len() / 2), full);
    *cut.status_mut() = parts.status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH {
            cut.headers_mut().insert(name, value.clone());
        }
    }
    cut
}

/// A response that promises `declared` bytes, sends `prefix`, then fails, so the server
/// closes the connection mid-body.
fn broken_body(prefix: Bytes, declared: usize) -> Response {
    let stream = futures_stream(prefix);
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(declared as u64));
    response
}

fn futures_stream(
    prefix: Bytes,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    BrokenStream {
        prefix: Some(prefix),
    }
}

struct BrokenStream {
    prefix: Option<Bytes>,
}

impl futures_core::Stream for BrokenStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.prefix.take() {
            Some(p) if !p.is_empty() => std::task::Poll::Ready(Some(Ok(p))),
            _ => std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "sandbox: injected connection drop",
            )))),
        }
    }
}
