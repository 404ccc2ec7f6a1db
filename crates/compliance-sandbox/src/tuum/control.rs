//! `/sandbox/tuum/...`: subscribe, send and replay over HTTP.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{DeliveryOptions, Tuum, TuumEvent};

impl Tuum {
    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/tuum/subscriptions", post(subscribe))
            .route("/sandbox/tuum/events", post(send))
            .route("/sandbox/tuum/events/{id}/replay", post(replay))
            .route("/sandbox/tuum/webhooks", get(webhooks))
            .with_state(self.clone())
    }
}

#[derive(Deserialize)]
struct Subscribe {
    url: String,
}

async fn subscribe(State(t): State<Tuum>, Json(s): Json<Subscribe>) -> StatusCode {
    t.subscribe(s.url);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct SendRequest {
    #[serde(flatten)]
    event: TuumEvent,
    #[serde(default)]
    duplicate: bool,
}

async fn send(State(t): State<Tuum>, Json(r): Json<SendRequest>) -> Response {
    match t
        .send(
            r.event,
            DeliveryOptions {
                duplicate: r.duplicate,
            },
        )
        .await
    {
        Ok(reports) => Json(reports).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

async fn replay(State(t): State<Tuum>, Path(id): Path<String>) -> Response {
    match t.replay(&id).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

async fn webhooks(State(t): State<Tuum>) -> Response {
    Json(t.deliveries()).into_response()
}
