//! The crate's error: what went wrong, and what the caller should do about it.

use std::fmt;

use compliance_core::error::bounded_text;
use compliance_core::http::StatusCode;
use compliance_core::{Actionable, BodySnippet, NextStep};
use serde::Deserialize;
use serde_json::Value;

use crate::encryption::EncryptionError;

/// Everything a [`KycClient`](crate::KycClient) call can fail with.
/// [`next_step`](Error::next_step) says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, timeout, rate limiting, decoding, configuration or a request rejected
    /// locally ([`compliance_core::Error::InvalidRequest`] names the field).
    #[error(transparent)]
    Core(#[from] compliance_core::Error),
    /// The provider answered with an error (HTTP 4xx/5xx, or `status: false`).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The response's `data` is encrypted and this client has no keys.
    #[error(
        "response is encrypted: configure the application's keys (KycClientBuilder::encryption)"
    )]
    EncryptedResponse,
    /// The response's signature did not verify or its `data` did not decrypt. Do not trust
    /// it; check the configured keys and
    /// [`EncryptionOptions`](crate::encryption::EncryptionOptions).
    #[error("response failed verification: {0}")]
    Encryption(#[from] EncryptionError),
    /// A write (creating an applicant, a token, a screening...) was answered with success,
    /// but the answer failed verification or did not decrypt: the write may have been done.
    /// Do not trust the answer; check the keys, and look the resource up (an applicant by
    /// your external user id) before sending the write again.
    #[error(
        "the write may have been done: the provider answered success, but its response \
         failed verification ({0}); look the resource up before sending it again"
    )]
    EncryptionAfterWrite(EncryptionError),
}

impl Actionable for Error {
    /// What to do about this error: the core's answer for [`Core`](Error::Core), the HTTP
    /// status's for [`Api`](Error::Api), [`NextStep::FixConfiguration`] for an encrypted
    /// response without keys, and the encryption error's (usually
    /// [`NextStep::DoNotTrust`]) for [`Encryption`](Error::Encryption).
    fn next_step(&self) -> NextStep {
        match self {
            Error::Core(e) => e.next_step(),
            Error::Api(e) => e.next_step(),
            Error::EncryptedResponse => NextStep::FixConfiguration,
            Error::Encryption(e) | Error::EncryptionAfterWrite(e) => e.next_step(),
        }
    }

    /// The HTTP status of the provider's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Core(e) => e.status(),
            Error::Api(e) => Some(e.status),
            _ => None,
        }
    }
}

/// An error answer from the provider.
///
/// Errors are undocumented; both shapes seen in the wild are read: `{status: false, error}`
/// (error a string or an object) and NestJS's `{statusCode, message, error}` (message a
/// string or a list). The body's start is always kept. Every text is bounded (at most
/// [`MAX_MESSAGES`] messages of [`MAX_TEXT`] bytes), whatever the provider sends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `statusCode` in the body, if any.
    pub status_code: Option<i64>,
    /// The message(s), joined with `; `.
    pub message: Option<String>,
    /// The `error` field: a string, or compact JSON when the provider sent an object.
    pub error: Option<String>,
    /// The start of the body.
    pub body: BodySnippet,
}

impl ApiError {
    /// Reads an error body leniently; never fails.
    pub fn from_body(status: StatusCode, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape {
            #[serde(default)]
            status_code: Option<Value>,
            #[serde(default)]
            message: Option<Value>,
            #[serde(default)]
            error: Option<Value>,
        }
        let shape = serde_json::from_slice::<Shape>(body).ok();
        let (status_code, message, error) = match shape {
            Some(s) => (
                s.status_code.as_ref().and_then(Value::as_i64),
                s.message.as_ref().and_then(text),
                s.error.as_ref().and_then(text),
            ),
            None => (None, None, None),
        };
        Self {
            status,
            status_code,
            message,
            error,
            body: BodySnippet::new(body),
        }
    }

    /// What to do about it, by the HTTP status ([`NextStep::for_status`]): 408 and 5xx
    /// retry later, 401 and 403 fix the credentials, other 4xx fix the request. (The body
    /// shapes are undocumented; nothing in them is more reliable than the status.)
    pub fn next_step(&self) -> NextStep {
        NextStep::for_status(self.status)
    }

    /// Whether a later retry may succeed (408 or 5xx).
    pub fn is_retryable(&self) -> bool {
        self.next_step().is_retry()
    }

    /// Whether this is a 404 for a route that does not exist rather than elKYC's own "not
    /// found" for a resource: a body in neither of elKYC's shapes (another server answered),
    /// or NestJS's `Cannot GET /path` (elKYC's server, but no such route). Either way the
    /// base URL is wrong; the client reports it as
    /// [`compliance_core::Error::RouteNotFound`].
    pub fn is_missing_route(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
            && match &self.message {
                None => self.status_code.is_none() && self.error.is_none(),
                Some(message) => message.starts_with("Cannot "),
            }
    }

    /// Whether the API key was refused (401 or 403): fix the credentials.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
    }
}

/// Longest text kept from one message or error field.
pub const MAX_TEXT: usize = 512;
/// Most messages kept from a list.
pub const MAX_MESSAGES: usize = 8;

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(bounded_text(s, MAX_TEXT)),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(one).take(MAX_MESSAGES).collect();
            let more = items.len().saturating_sub(MAX_MESSAGES);
            let mut joined = parts.join("; ");
            if more > 0 && !parts.is_empty() {
                joined.push_str(&format!("; … ({more} more)"));
            }
            (!parts.is_empty()).then_some(joined)
        }
        other => one(other),
    }
}

/// One message: a string, an object's `message`, or compact JSON; bounded.
fn one(v: &Value) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Object(map) => match map.get("message").and_then(Value::as_str) {
            Some(m) => m.to_owned(),
            None => v.to_string(),
        },
        other => other.to_string(),
    };
    Some(bounded_text(&s, MAX_TEXT))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "elKYC answered HTTP {}", self.status.as_u16())?;
        match (&self.message, &self.error) {
            (Some(m), Some(e)) if m != e => write!(f, ": {m} ({e})"),
            (Some(m), _) => write!(f, ": {m}"),
            (None, Some(e)) => write!(f, ": {e}"),
            (None, None) => write!(f, "; body: {}", self.body),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_are_read() {
        let e = ApiError::from_body(
            StatusCode::BAD_REQUEST,
            br#"{"statusCode":400,"message":["flowName must be a string","ttl too big"],"error":"Bad Request"}"#,
        );
        assert_eq!(e.status_code, Some(400));
        assert_eq!(
            e.message.as_deref(),
            Some("flowName must be a string; ttl too big")
        );
        assert_eq!(
            e.to_string(),
            "elKYC answered HTTP 400: flowName must be a string; ttl too big (Bad Request)"
        );

        let e = ApiError::from_body(
            StatusCode::NOT_FOUND,
            br#"{"status":false,"error":{"code":"NOT_FOUND","message":"Applicant not found"}}"#,
        );
        assert_eq!(e.error.as_deref(), Some("Applicant not found"));
        let e = ApiError::from_body(StatusCode::OK, br#"{"status":false,"error":{"code":7}}"#);
        assert_eq!(e.error.as_deref(), Some(r#"{"code":7}"#));
    }

    #[test]
    fn anything_else_keeps_a_bounded_body() {
        let body = format!("<html>{}</html>", "x".repeat(10_000));
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, body.as_bytes());
        assert!(e.is_retryable());
        assert!(e.body.is_truncated());
        assert!(e.to_string().len() < 1_200);
        assert!(
            e.to_string()
                .starts_with("elKYC answered HTTP 502; body: <html>")
        );
    }
}
