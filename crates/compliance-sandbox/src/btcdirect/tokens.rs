//! BTC Direct's tokens: issuing (JWT-shaped, with `exp`), rotating refresh tokens, checking
//! the partner credential and the user context, and the `{"errors": {...}}` error body.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::{BtcDirect, ExpiredUserToken, Inner, Subject, Token};

impl BtcDirect {
    /// A new token and refresh token for `subject`.
    pub(super) fn issue(&self, inner: &mut Inner, subject: Subject) -> (String, String) {
        let ttl = match subject {
            Subject::Partner => inner.config.partner_token_ttl,
            Subject::User(_) => inner.config.user_token_ttl,
        };
        let expires = SystemTime::now() + ttl;
        let exp = expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let sub = match &subject {
            Subject::Partner => "partner".to_owned(),
            Subject::User(id) => id.clone(),
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(json!({"exp": exp, "sub": sub}).to_string());
        let token = format!(
            "{header}.{claims}.{}",
            URL_SAFE_NO_PAD.encode(self.ids.hex(16))
        );
        let refresh_token = self.ids.hex(32);
        inner.tokens.insert(
            token.clone(),
            Token {
                subject: subject.clone(),
                expires,
            },
        );
        inner.refresh.insert(refresh_token.clone(), subject);
        (token, refresh_token)
    }

    /// Checks exactly one partner method.
    pub(super) fn partner(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let inner = self.lock();
        match (bearer, key) {
            (Some(_), Some(_)) => Err("ER803"),
            (None, None) => Err("ER802"),
            (None, Some(k)) if k == inner.creds.api_key => Ok(()),
            (None, Some("")) => Err("ER806"),
            (None, Some(_)) => Err("ER805"),
            (Some(b), None) => {
                let Some(token) = b.strip_prefix("Bearer ") else {
                    return Err("ER800");
                };
                match inner.tokens.get(token) {
                    Some(t) if t.subject == Subject::Partner && t.expires > SystemTime::now() => {
                        Ok(())
                    }
                    Some(t) if t.subject == Subject::Partner => Err("ER801"),
                    _ => Err("ER800"),
                }
            }
        }
    }

    /// Checks the user context and returns the user's identifier.
    pub(super) fn user(&self, headers: &HeaderMap) -> Result<String, &'static str> {
        let inner = self.lock();
        if let Some(v) = headers
            .get("user-authorization")
            .and_then(|v| v.to_str().ok())
        {
            let token = v.strip_prefix("Bearer ").unwrap_or(v);
            return match inner.tokens.get(token) {
                Some(Token {
                    subject: Subject::User(id),
                    expires,
                }) if *expires > SystemTime::now() => Ok(id.clone()),
                Some(Token {
                    subject: Subject::User(_),
                    ..
                }) => Err(match inner.config.expired_user_token {
                    ExpiredUserToken::Er701 => "ER701",
                    ExpiredUserToken::Er801 => "ER801",
                }),
                _ => Err("ER702"),
            };
        }
        if let Some(id) = headers.get("user-identifier").and_then(|v| v.to_str().ok()) {
            return inner
                .users
                .iter()
                .find(|u| u.identifier == id || u.linked.iter().any(|l| l == id))
                .map(|u| u.identifier.clone())
                .ok_or("ER700");
        }
        Err("ER700")
    }
}

/// The provider's error body for one code, with its documented message and solution.
pub(super) fn error(code: &str) -> Response {
    let (status, message, solution) = match code {
        "ER099" => (400, "Invalid locale.", "Provide a supported locale."),
        "ER100" => (
            400,
            "Missing or malformed AMLD5 answers.",
            "Provide well-formed AMLD5 answers with correct keys.",
        ),
        "ER101" => (
            400,
            "Invalid AMLD5 answer provided.",
            "Provide valid, supported answers for all questions.",
        ),
        "ER700" => (
            401,
            "User not found.",
            "Provide a valid user token or identifier.",
        ),
        "ER701" => (
            401,
            "User authorization token has expired.",
            "Refresh the user token.",
        ),
        "ER702" => (
            401,
            "User authorization token is invalid.",
            "Log the user in again.",
        ),
        "ER800" => (
            401,
            "Authorization token is invalid.",
            "Provide a valid authorization token.",
        ),
        "ER801" => (
            400,
            "Authorization token has expired.",
            "Request a new authorization token.",
        ),
        "ER802" => (
            401,
            "Authorization token not found.",
            "Provide an authorization token.",
        ),
        "ER803" => (
            400,
            "Multiple authorization methods used.",
            "Use exactly one authorization method.",
        ),
        "ER805" => (401, "API key is invalid.", "Provide a valid API key."),
        "ER806" => (401, "API key not found.", "Provide an API key."),
        _ => (
            500,
            "A general error has occurred. Please contact our support team.",
            "Contact our support team.",
        ),
    };
    let body = json!({"errors": {code: {"code": code, "message": message, "solution": solution}}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
        .into_response()
}

/// Wrong partner or user credentials (the authenticate and login endpoints document no
/// code for it).
pub(super) fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 401, "message": "Invalid credentials."})),
    )
        .into_response()
}
