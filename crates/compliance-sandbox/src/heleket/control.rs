//! `/sandbox/heleket/...`: the Rust control API over HTTP, for tests in other languages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use compliance_core::time::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::{Heleket, HeleketSandboxError, LinkStatus, NewPayment};

impl Heleket {
    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/heleket/payments", post(create))
            .route("/sandbox/heleket/payments/{uuid}/lock", post(lock))
            .route(
                "/sandbox/heleket/payments/{uuid}/status",
                post(move_payment),
            )
            .route("/sandbox/heleket/payments/{uuid}/links", post(add_link))
            .route("/sandbox/heleket/payments/{uuid}/links/{index}", post(link))
            .route("/sandbox/heleket/webhooks", get(webhooks))
            .with_state(self.clone())
    }
}

fn refused(e: HeleketSandboxError) -> Response {
    let status = match e {
        HeleketSandboxError::UnknownPayment(_) | HeleketSandboxError::UnknownLink(..) => {
            StatusCode::NOT_FOUND
        }
        _ => StatusCode::CONFLICT,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

async fn create(State(h): State<Heleket>, Json(new): Json<NewPayment>) -> Response {
    let uuid = h.create_payment(new);
    (StatusCode::CREATED, Json(json!({"uuid": uuid}))).into_response()
}

async fn lock(State(h): State<Heleket>, Path(uuid): Path<String>) -> Response {
    match h.lock_payment(&uuid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e),
    }
}

/// `{"status": "paid"}`: any of Heleket's payment statuses.
#[derive(Deserialize)]
struct PaymentMove {
    status: String,
}

async fn move_payment(
    State(h): State<Heleket>,
    Path(uuid): Path<String>,
    Json(m): Json<PaymentMove>,
) -> Response {
    match h.set_payment_status(&uuid, m.status).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e),
    }
}

async fn add_link(State(h): State<Heleket>, Path(uuid): Path<String>) -> Response {
    match h.add_link(&uuid) {
        Ok(index) => (StatusCode::CREATED, Json(json!({"index": index}))).into_response(),
        Err(e) => refused(e),
    }
}

/// `{"status": "completed"}` moves the link; `{"expired_at": "..."}` moves its expiry.
#[derive(Deserialize)]
struct LinkMove {
    status: Option<LinkStatus>,
    expired_at: Option<Timestamp>,
}

async fn link(
    State(h): State<Heleket>,
    Path((uuid, index)): Path<(String, usize)>,
    Json(m): Json<LinkMove>,
) -> Response {
    if let Some(at) = m.expired_at
        && let Err(e) = h.set_link_expiry(&uuid, index, at)
    {
        return refused(e);
    }
    if let Some(status) = m.status
        && let Err(e) = h.set_link_status(&uuid, index, status).await
    {
        return refused(e);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn webhooks(State(h): State<Heleket>) -> Response {
    Json(h.deliveries()).into_response()
}
