//! `/sandbox/btcdirect/...`: the Rust control API over HTTP, for tests in other languages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{AccountStatus, BtcDirect};

impl BtcDirect {
    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/btcdirect/tokens/expire", post(expire))
            .route(
                "/sandbox/btcdirect/users/{identifier}/account-status",
                post(account_status),
            )
            .with_state(self.clone())
    }
}

/// `{"which": "all" | "partner" | "user"}` (default `all`).
#[derive(Deserialize)]
struct Expire {
    #[serde(default)]
    which: Option<String>,
}

async fn expire(State(s): State<BtcDirect>, Json(body): Json<Expire>) -> Response {
    match body.which.as_deref().unwrap_or("all") {
        "all" => s.expire_all_tokens(),
        "partner" => s.expire_partner_tokens(),
        "user" => s.expire_user_tokens(),
        other => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("`which` is all, partner or user, not `{other}`")})),
            )
                .into_response();
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct StatusBody {
    status: AccountStatus,
}

async fn account_status(
    State(s): State<BtcDirect>,
    Path(identifier): Path<String>,
    Json(body): Json<StatusBody>,
) -> Response {
    match s.set_account_status(&identifier, body.status) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
    }
}
