//! Receiving Tuum's deliveries over HTTP with axum (feature `axum`).
//!
//! | answer | when | Tuum then |
//! |---|---|---|
//! | 200 | processed, duplicate, or unknown type acknowledged | stops |
//! | 400 | the body is not a valid event (JSON `{"error","path","message"}`) | retries; replay once fixed |
//! | 401 | authentication failed (checked before the body is read) | retries; fix the configuration |
//! | 413 | the body is over the limit | retries; raise the limit |
//! | 500 | the handler or the inbox failed | retries: the redelivery is processed |
//! | 503 | the same notification is being processed by another request right now | retries later |
//!
//! Why 503 and not 200 for a concurrent duplicate: the first attempt may still fail. If the
//! duplicate were acknowledged and the first attempt then failed, its answer might never
//! reach Tuum (Tuum timed out on it, which is often why the duplicate exists), and the event
//! would be lost. 503 with `Retry-After` costs one more delivery, which is then a
//! duplicate (200) or, if the first attempt failed, processed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::auth::RequestInfo;
use crate::error::Error;
use crate::processor::{EventProcessor, Outcome};

/// The default body limit: 256 KiB, about a hundred times Tuum's largest documented event.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Seconds a concurrent duplicate is asked to wait (`Retry-After` on 503).
const RETRY_AFTER_SECONDS: &str = "10";

/// An axum router answering `POST /` with the [`EventProcessor`] and the default body limit.
///
/// Mount it where Tuum delivers: `Router::new().nest("/tuum/aml-events", router(processor))`,
/// or use [`Receiver`] for a method router and a different limit.
pub fn router<S: Clone + Send + Sync + 'static>(processor: EventProcessor) -> Router<S> {
    Receiver::new(processor).router()
}

/// The HTTP receiver: an [`EventProcessor`] plus the HTTP settings.
///
/// The peer address reaches the [authenticator](crate::auth::Authenticator) when the server
/// is run with `into_make_service_with_connect_info::<SocketAddr>()`; without it the peer is
/// unknown (and an [`IpAllowList`](crate::auth::IpAllowList) refuses every delivery).
#[derive(Debug, Clone)]
pub struct Receiver {
    processor: EventProcessor,
    body_limit: usize,
}

impl Receiver {
    /// A receiver with the default body limit.
    pub fn new(processor: EventProcessor) -> Self {
        Self {
            processor,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Bodies longer than `bytes` are refused with 413 without being read further.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// A router answering `POST /`.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new().route("/", self.method_router())
    }

    /// The `POST` handler alone, to mount at a path of your choice:
    /// `Router::new().route("/hooks/tuum", receiver.method_router())`.
    pub fn method_router<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        post(receive).with_state(Arc::new(self))
    }
}

async fn receive(State(receiver): State<Arc<Receiver>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let info = RequestInfo::new(&parts.headers, peer);
    if let Err(e) = receiver.processor.authenticate(&info) {
        tracing::warn!(peer = ?peer, error = %e, "refused a Tuum delivery");
        return error_response(StatusCode::UNAUTHORIZED, "unauthenticated", None);
    }

    let limit = receiver.body_limit;
    let declared_too_long = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64);
    if declared_too_long {
        return too_large(limit);
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return too_large(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a Tuum delivery's body");
            return error_response(StatusCode::BAD_REQUEST, "unreadable_body", None);
        }
    };

    match receiver.processor.process_authenticated(&bytes).await {
        Ok(outcome) => outcome_response(&outcome),
        Err(Error::Parse { path, message, .. }) => {
            tracing::warn!(path = %path, message = %message, "refused an invalid Tuum AML event");
            let detail =
                serde_json::json!({ "error": "invalid_event", "path": path, "message": message });
            json_response(StatusCode::BAD_REQUEST, &detail)
        }
        Err(Error::Unauthenticated(_)) => {
            error_response(StatusCode::UNAUTHORIZED, "unauthenticated", None)
        }
        // Handler, inbox and anything newer: ours, transient; details are logged, not sent.
        Err(_) => error_response(StatusCode::INTERNAL_SERVER_ERROR, "processing_failed", None),
    }
}

fn outcome_response(outcome: &Outcome) -> Response {
    let status = match outcome {
        Outcome::Processed { .. } => "processed",
        Outcome::Duplicate { .. } => "duplicate",
        Outcome::Ignored { .. } => "ignored",
        Outcome::InProgress { .. } => {
            let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, "in_progress", None);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
            return response;
        }
    };
    let body = serde_json::json!({ "status": status, "notificationId": outcome.notification_id() });
    json_response(StatusCode::OK, &body)
}

fn too_large(limit: usize) -> Response {
    error_response(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", Some(limit))
}

fn error_response(status: StatusCode, error: &str, limit: Option<usize>) -> Response {
    let body = match limit {
        Some(limit) => serde_json::json!({ "error": error, "limit": limit }),
        None => serde_json::json!({ "error": error }),
    };
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body.to_string()),
    )
        .into_response()
}
