//! Reading Heleket's answers: `{"state":0,"result":...}` on success, `{"state":1,...}` for
//! business and validation errors, and a bare `{"message":...}` when the signature or the
//! credentials are refused. (Nothing here is sealed or signed: the answer is plain JSON whose
//! `state` says which of the shapes it is.)

use std::collections::BTreeMap;

use compliance_core::error::bounded_text;
use compliance_core::http::{Response, StatusCode};
use compliance_core::json;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::sign::KeyKind;

/// What the `result` of an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// An object (`[]` is refused with a clear message: PHP's empty array).
    Object(&'static str),
    /// An array or anything else `T` accepts.
    Any,
}

/// Just enough of any Heleket body to tell which shape it is.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default)]
    state: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Success<T> {
    #[serde(rename = "state")]
    _state: u8,
    result: T,
}

/// Reads a response to a request signed with `key`.
pub(crate) fn read<T: DeserializeOwned>(
    response: &Response,
    key: KeyKind,
    expect: Expect,
) -> Result<T, Error> {
    let status = response.status();
    let body = response.body();
    if let Some(rate_limited) = response.rate_limit_error() {
        return Err(rate_limited.into());
    }
    // Heleket's 5xx bodies are its web server's, never its JSON answer.
    if status.is_server_error() {
        return Err(response.to_error().into());
    }
    let probe = match serde_json::from_slice::<Probe<'_>>(body) {
        Ok(p) => p,
        Err(_) if status.is_success() => {
            // Not one of Heleket's answer shapes: let the decoder name where it broke.
            return Err(json::decode::<Success<T>>("response", body)
                .err()
                .unwrap_or_else(|| response.to_error())
                .into());
        }
        Err(_) => return Err(response.to_error().into()),
    };
    let message = probe.message.as_ref().map(text);

    match probe.state.as_ref().map(|s| s.as_i64()) {
        None => {
            if let (false, Some(message)) = (status.is_success(), message) {
                if is_sign_message(&message) {
                    return Err(Error::SignatureRejected {
                        key,
                        status,
                        message,
                    });
                }
                if is_credentials_message(&message)
                    || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                {
                    return Err(Error::Forbidden {
                        key,
                        status,
                        message,
                    });
                }
            }
            if status.is_success() {
                // A 2xx without `state`: name the missing field.
                return Err(json::decode::<Success<T>>("response", body)
                    .err()
                    .unwrap_or_else(|| response.to_error())
                    .into());
            }
            Err(response.to_error().into())
        }
        Some(Some(0)) if status.is_success() => {
            if let (Expect::Object(what), Some(raw)) = (expect, probe.result)
                && raw.get().trim_start().starts_with('[')
            {
                return Err(compliance_core::Error::decode(
                    "response",
                    "result",
                    format!(
                        "expected {what}, got an array (`[]` is how Heleket's PHP encodes an \
                         empty result)"
                    ),
                    body,
                )
                .into());
            }
            let success: Success<T> = json::decode("response", body)?;
            Ok(success.result)
        }
        Some(Some(0)) => Err(response.to_error().into()),
        Some(None) if status.is_success() => Err(json::decode::<Success<T>>("response", body)
            .err()
            .unwrap_or_else(|| response.to_error())
            .into()),
        Some(None) => Err(response.to_error().into()),
        Some(Some(_)) => {
            if status == StatusCode::UNPROCESSABLE_ENTITY || probe.errors.is_some() {
                return Err(Error::Validation {
                    status,
                    message,
                    errors: probe.errors.map(rules).unwrap_or_default(),
                });
            }
            Err(Error::Business { status, message })
        }
    }
}

/// Longest message kept from Heleket.
const MAX_MESSAGE: usize = 512;
/// Longest field name or rule kept.
const MAX_RULE: usize = 128;
/// Most fields, and most rules per field, kept from a validation error.
const MAX_RULES: usize = 32;

fn text(v: &Value) -> String {
    bounded_text(
        &match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        MAX_MESSAGE,
    )
}

fn rule(v: &Value) -> String {
    match v {
        Value::String(s) => bounded_text(s, MAX_RULE),
        other => bounded_text(&other.to_string(), MAX_RULE),
    }
}

/// `{"field":["rule", ...]}`; a lone string or any other value is kept as one rule. Bounded:
/// at most [`MAX_RULES`] fields of [`MAX_RULES`] rules, each cut to [`MAX_RULE`] bytes.
fn rules(errors: Value) -> BTreeMap<String, Vec<String>> {
    match errors {
        Value::Object(map) => map
            .into_iter()
            .take(MAX_RULES)
            .map(|(field, v)| {
                let list = match v {
                    Value::Array(items) => items.iter().take(MAX_RULES).map(rule).collect(),
                    other => vec![rule(&other)],
                };
                (bounded_text(&field, MAX_RULE), list)
            })
            .collect(),
        Value::Array(items) if items.is_empty() => BTreeMap::new(),
        other => BTreeMap::from([(String::new(), vec![rule(&other)])]),
    }
}

fn is_sign_message(message: &str) -> bool {
    let m = message.trim().trim_end_matches('.').to_ascii_lowercase();
    m == "invalid sign" || m == "invalid signature"
}

fn is_credentials_message(message: &str) -> bool {
    let m = message.trim().trim_end_matches('.').to_ascii_lowercase();
    m == "wrong key" || m == "you are forbidden"
}

#[cfg(test)]
mod tests {
    use super::*;
    use compliance_core::Actionable as _;
    use compliance_core::http::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response::new(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            body.to_owned().into_bytes().into(),
        )
    }

    fn read_any(status: u16, body: &str) -> Result<Value, Error> {
        read(&response(status, body), KeyKind::Payment, Expect::Any)
    }

    #[test]
    fn success_returns_the_result() {
        assert_eq!(
            read_any(200, r#"{"state":0,"result":[]}"#).unwrap(),
            Value::Array(vec![])
        );
    }

    #[test]
    fn invalid_sign_names_the_key() {
        let err = read(
            &response(401, r#"{"message":"Invalid Sign."}"#),
            KeyKind::Payout,
            Expect::Any,
        )
        .map(|_: Value| ())
        .unwrap_err();
        assert!(matches!(
            err,
            Error::SignatureRejected {
                key: KeyKind::Payout,
                ..
            }
        ));
        let text = err.to_string();
        assert!(text.contains("payout key"), "{text}");
        assert!(text.contains("exactly the bytes sent"), "{text}");
    }

    #[test]
    fn other_credential_messages_are_forbidden() {
        for (status, body) in [
            (401, r#"{"message":"Wrong key"}"#),
            (403, r#"{"message":"You are forbidden"}"#),
            (403, r#"{"message":"Something new"}"#),
        ] {
            assert!(
                matches!(read_any(status, body), Err(Error::Forbidden { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn state_one_is_business_or_validation() {
        let err = read_any(200, r#"{"state":1,"message":"Payment not found"}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Business { message: Some(m), .. } if m == "Payment not found")
        );
        let err = read_any(
            422,
            r#"{"state":1,"errors":{"uuid":["validation.required_without"],"order_id":"x"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.validation_rules("uuid"),
            Some(&["validation.required_without".to_owned()][..])
        );
        assert_eq!(
            err.validation_rules("order_id"),
            Some(&["x".to_owned()][..])
        );
        let err = read_any(422, r#"{"state":1}"#).unwrap_err();
        assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    }

    #[test]
    fn server_errors_and_rate_limits_are_core_errors() {
        let err = read_any(503, r#"{"state":1,"message":"down"}"#).unwrap_err();
        assert!(err.is_retryable());
        let err = read_any(429, "slow down").unwrap_err();
        assert!(matches!(
            err,
            Error::Core(compliance_core::Error::RateLimited { .. })
        ));
        let err = read_any(400, "<html>").unwrap_err();
        assert!(matches!(
            err,
            Error::Core(compliance_core::Error::Provider { .. })
        ));
    }

    #[test]
    fn broken_success_bodies_are_decode_errors() {
        for body in ["<html>", r#"{"result":[]}"#, r#"{"state":"0","result":[]}"#] {
            let err = read_any(200, body).unwrap_err();
            assert!(
                matches!(err, Error::Core(compliance_core::Error::Decode { .. })),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn empty_array_where_an_object_belongs_says_so() {
        let err = read::<Value>(
            &response(200, r#"{"state":0,"result":[]}"#),
            KeyKind::Payment,
            Expect::Object("a payment"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("expected a payment"), "{text}");
        assert!(text.contains("`result`"), "{text}");
    }
}
