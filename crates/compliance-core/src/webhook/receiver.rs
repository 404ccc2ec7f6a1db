//! The HTTP receiver (feature `axum`): raw body in, the table's answer out.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::log::{Admit, LogLimiter};
use super::observe;
use super::outcome::{DEFAULT_RETRY_AFTER, Outcome, ProcessError};
use super::processor::Processor;
use super::verifier::{Rejection, RejectionKind, RequestInfo, Verifier};

/// The default body limit: 256 KiB, far above any provider's documented webhook.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// The default time allowed to receive the whole body: 30 seconds.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A webhook endpoint for axum: a [`Processor`] plus the HTTP settings.
///
/// It authenticates from the headers (and the peer address, when the server is run with
/// `into_make_service_with_connect_info::<SocketAddr>()`) before reading the body, reads
/// the raw body with a size cap and a read timeout, verifies, processes, and answers by the
/// [outcome → status table](super#the-outcome--status-table).
///
/// The processing runs to its end (in the request's task; in a task of its own once the
/// request is dropped): a provider that gives up waiting and closes the
/// connection does not cancel a handler in progress (which could otherwise never finish if
/// it always takes longer than the provider waits); its redelivery is answered 503 until
/// the first attempt is done, then 200. [`cancel_on_disconnect`](Self::cancel_on_disconnect)
/// turns that off; the claim is then released when the connection closes.
pub struct Receiver<V: Verifier> {
    processor: Processor<V>,
    body_limit: usize,
    read_timeout: Duration,
    retry_after: Duration,
    cancel_on_disconnect: bool,
    log: LogLimiter,
}

impl<V: Verifier> std::fmt::Debug for Receiver<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("processor", &self.processor)
            .field("body_limit", &self.body_limit)
            .field("read_timeout", &self.read_timeout)
            .field("retry_after", &self.retry_after)
            .field("cancel_on_disconnect", &self.cancel_on_disconnect)
            .finish_non_exhaustive()
    }
}

impl<V: Verifier> Receiver<V> {
    /// A receiver with the default limits.
    pub fn new(processor: Processor<V>) -> Self {
        Self {
            processor,
            body_limit: DEFAULT_BODY_LIMIT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
            cancel_on_disconnect: false,
            log: LogLimiter::default(),
        }
    }

    /// Bodies longer than `bytes` are refused with 413 without being read further.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// A body not received in full within `timeout` is refused with 408.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The `Retry-After` sent with 503 answers (default 10 s).
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// Whether a closed connection cancels the handler (and releases its claim). Default
    /// `false`: the handler runs to the end.
    pub fn cancel_on_disconnect(mut self, cancel: bool) -> Self {
        self.cancel_on_disconnect = cancel;
        self
    }

    /// The processor.
    pub fn processor(&self) -> &Processor<V> {
        &self.processor
    }

    /// A router answering `POST /`.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new().route("/", self.method_router())
    }

    /// The `POST` handler alone, to mount at a path of your choice:
    /// `Router::new().route("/hooks/provider", receiver.method_router())`.
    pub fn method_router<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        post(receive::<V>).with_state(Arc::new(self))
    }

    /// Answers one request; what the router calls, for use outside axum's routing.
    pub async fn handle(self: &Arc<Self>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        let info = RequestInfo::new(&parts.headers, peer);
        if let Err(rejection) = self.processor.authenticate(&info) {
            return self.refused(&rejection, peer);
        }

        let limit = self.body_limit;
        let declared_too_long = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|len| len > limit as u64);
        if declared_too_long {
            return self.too_large(peer);
        }
        let read = tokio::time::timeout(self.read_timeout, Limited::new(body, limit).collect());
        let bytes = match read.await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.is::<LengthLimitError>() => return self.too_large(peer),
            Ok(Err(e)) => {
                observe::refused(self.processor.metrics(), "unreadable_body");
                self.log_refusal(peer, "unreadable body", &e.to_string());
                return error(StatusCode::BAD_REQUEST, "unreadable_body", Vec::new());
            }
            Err(_) => {
                observe::refused(self.processor.metrics(), "body_read_timeout");
                self.log_refusal(peer, "body read timed out", "");
                return error(StatusCode::REQUEST_TIMEOUT, "body_read_timeout", Vec::new());
            }
        };

        let verified = match self.processor.verifier().verify_delivery(&info, &bytes) {
            Ok(verified) => verified,
            Err(rejection) => return self.refused(&rejection, peer),
        };
        let result = if self.processor.queue().is_some() {
            // Durable intake: one write, answered once it is durable.
            self.processor.enqueue(&info, bytes, verified).await
        } else if self.cancel_on_disconnect {
            self.processor.process_verified(verified).await
        } else {
            let processor = self.processor.clone();
            match ToTheEnd::new(async move { processor.process_verified(verified).await }).await {
                Ok(result) => result,
                Err(panic) => {
                    tracing::error!(panic = %panic, "webhook processing task failed");
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "processing_failed",
                        Vec::new(),
                    );
                }
            }
        };
        match result {
            Ok(outcome) => self.answer(&outcome),
            Err(ProcessError::Rejected(rejection)) => self.refused(&rejection, peer),
            Err(e) => {
                let mut response = error(e.status(), e.code(), Vec::new());
                if e.status() == StatusCode::SERVICE_UNAVAILABLE {
                    self.add_retry_after(&mut response);
                }
                response
            }
        }
    }

    fn answer(&self, outcome: &Outcome) -> Response {
        if let Outcome::InProgress { .. } = outcome {
            let mut response = error(outcome.status(), "in_progress", Vec::new());
            self.add_retry_after(&mut response);
            return response;
        }
        let body = acknowledgement(V::KEY_FIELD, outcome.key(), outcome.as_str());
        json_bytes(outcome.status(), body)
    }

    fn add_retry_after(&self, response: &mut Response) {
        let seconds = self.retry_after.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }

    fn refused(&self, rejection: &V::Error, peer: Option<SocketAddr>) -> Response {
        let kind = rejection.kind();
        observe::refused(self.processor.metrics(), kind.code());
        self.log_refusal(peer, kind.code(), &rejection.to_string());
        let details = match kind {
            RejectionKind::Invalid => rejection.details(),
            _ => Vec::new(),
        };
        error(kind.status(), kind.code(), details)
    }

    fn too_large(&self, peer: Option<SocketAddr>) -> Response {
        observe::refused(self.processor.metrics(), "body_too_large");
        self.log_refusal(peer, "body too large", "");
        let limit = self.body_limit;
        let mut body = serde_json::Map::new();
        body.insert("error".into(), "body_too_large".into());
        body.insert("limit".into(), limit.into());
        json(StatusCode::PAYLOAD_TOO_LARGE, &body.into())
    }

    fn log_refusal(&self, peer: Option<SocketAddr>, what: &str, detail: &str) {
        match self.log.admit(Instant::now()) {
            Admit::Log { suppressed: 0 } => {
                tracing::warn!(peer = ?peer, reason = %what, detail = %detail, "refused a webhook delivery");
            }
            Admit::Log { suppressed } => {
                tracing::warn!(
                    peer = ?peer,
                    reason = %what,
                    detail = %detail,
                    suppressed,
                    "refused a webhook delivery ({suppressed} more refusals were not logged)"
                );
            }
            Admit::Suppress => {}
        }
    }
}

/// Runs the processing in the request's own task, where it is cheapest (no task to spawn,
/// no hop to another worker thread and back), yet to its end: dropped before it finished
/// (the provider hung up), it hands the rest of the processing to a task of its own, so a
/// handler in progress is never cancelled. A panic is caught and answered 500, as a panic
/// in a task of its own would be.
struct ToTheEnd<F: Future<Output: Send + 'static> + Send + 'static>(Option<Pin<Box<F>>>);

impl<F: Future<Output: Send + 'static> + Send + 'static> ToTheEnd<F> {
    fn new(future: F) -> Self {
        Self(Some(Box::pin(future)))
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Future for ToTheEnd<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(future) = self.0.as_mut() else {
            return Poll::Ready(Err("polled after it finished".to_owned()));
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                self.0 = None;
                Poll::Ready(Ok(output))
            }
            Err(panic) => {
                self.0 = None;
                Poll::Ready(Err(panic_message(panic.as_ref())))
            }
        }
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Drop for ToTheEnd<F> {
    fn drop(&mut self) {
        if let Some(future) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            drop(runtime.spawn(future));
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => format!("panicked: {message}"),
        (_, Some(message)) => format!("panicked: {message}"),
        _ => "panicked".to_owned(),
    }
}

async fn receive<V: Verifier>(
    State(receiver): State<Arc<Receiver<V>>>,
    request: Request,
) -> Response {
    receiver.handle(request).await
}

fn error(status: StatusCode, code: &str, details: Vec<(&'static str, String)>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), code.into());
    for (name, value) in details {
        body.insert(name.into(), value.into());
    }
    json(status, &body.into())
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    json_bytes(status, body.to_string().into_bytes())
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body),
    )
        .into_response()
}

/// The 2xx answer, `{"<key field>":"<key>","status":"<status>"}`, written straight out
/// (every delivery gets one): the bytes a `serde_json` map of the two members writes, its
/// members in name order.
fn acknowledgement(key_field: &str, key: &str, status: &str) -> Vec<u8> {
    let mut members = [(key_field, key), ("status", status)];
    members.sort_by_key(|&(name, _)| name);
    let mut out = Vec::with_capacity(32 + key_field.len() + key.len() + status.len());
    out.push(b'{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a `str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut out, name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acknowledgement_is_what_a_json_map_of_its_members_writes() {
        for (field, key, status) in [
            ("key", "heleket:payment:1", "processed"),
            ("notificationId", "ID-1", "duplicate"),
            ("key", "quote\" back\\slash \u{1} é", "queued"),
            ("zz_after_status", "k", "ignored"),
        ] {
            let map = serde_json::json!({ "status": status, field: key });
            assert_eq!(
                String::from_utf8(acknowledgement(field, key, status)).unwrap(),
                map.to_string()
            );
        }
    }

    #[tokio::test]
    async fn processing_dropped_midway_runs_to_its_end() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let processing = ToTheEnd::new(async move {
            let _ = wait.await;
            let _ = tx.send("finished");
        });
        // Polled once (waiting), then dropped as a hung-up connection drops it.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), processing)
                .await
                .is_err()
        );
        go.send(()).unwrap();
        assert_eq!(rx.await.unwrap(), "finished");
    }

    #[tokio::test]
    async fn a_panic_in_processing_is_an_error() {
        let processing = ToTheEnd::new(async { panic!("boom") });
        assert_eq!(processing.await.unwrap_err(), "panicked: boom");
    }
}
