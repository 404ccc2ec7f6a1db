//! `/sandbox/elkyc/...`: the Rust control API over HTTP, for tests in other languages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApplicantStatus, Elkyc, ElkycCrypto, ElkycSandboxError, EncryptionMode, RequestEncryption,
};

impl Elkyc {
    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/elkyc/credentials", get(control_credentials))
            .route("/sandbox/elkyc/encryption", put(control_encryption))
            .route("/sandbox/elkyc/webhook-url", put(control_webhook_url))
            .route("/sandbox/elkyc/applicants", get(control_applicants))
            .route(
                "/sandbox/elkyc/applicants/{id}/status",
                post(control_status),
            )
            .route("/sandbox/elkyc/webhooks", get(control_webhooks))
            .with_state(self.clone())
    }
}

async fn control_credentials(State(s): State<Elkyc>) -> Response {
    Json(s.credentials()).into_response()
}

/// Any of `{"mode": "gcm", "crypto": {...}, "requests": "either"}`.
#[derive(Deserialize)]
struct ModeBody {
    mode: Option<EncryptionMode>,
    crypto: Option<ElkycCrypto>,
    requests: Option<RequestEncryption>,
}

async fn control_encryption(State(s): State<Elkyc>, Json(body): Json<ModeBody>) -> Response {
    if let Some(mode) = body.mode {
        s.set_encryption(mode);
    }
    if let Some(crypto) = body.crypto {
        s.set_crypto(crypto);
    }
    if let Some(requests) = body.requests {
        s.set_requests(requests);
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct UrlBody {
    url: Option<String>,
}

async fn control_webhook_url(State(s): State<Elkyc>, Json(body): Json<UrlBody>) -> Response {
    match body.url {
        Some(url) => s.set_webhook_url(url),
        None => s.clear_webhook_url(),
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn control_applicants(State(s): State<Elkyc>) -> Response {
    Json(s.applicants()).into_response()
}

async fn control_webhooks(State(s): State<Elkyc>) -> Response {
    Json(s.deliveries()).into_response()
}

#[derive(Deserialize)]
struct StatusBody {
    status: ApplicantStatus,
}

async fn control_status(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Response {
    match s.set_status(&id, body.status).await {
        Ok(delivery) => Json(delivery).into_response(),
        Err(e @ ElkycSandboxError::UnknownApplicant(_)) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}
