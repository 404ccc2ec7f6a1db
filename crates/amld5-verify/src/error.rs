//! Errors: BTC Direct's `{"errors": {code: {code, message, solution}}}` error body, typed, and
//! the crate error whose variants say what the caller should do next.

use std::fmt;

use compliance_core::error::bounded_text;
use compliance_core::http::{Response, StatusCode};
use compliance_core::{Actionable, NextStep};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::amld5::AnswerError;

compliance_core::open_enum! {
    /// A BTC Direct error code (`ER801`). Branch on this, not on the HTTP status: the
    /// provider pairs codes with statuses loosely (an expired token is HTTP 400 or 401).
    pub enum ErrorCode {
        /// Invalid locale.
        Er099 = "ER099",
        /// Missing or malformed AMLD5 answers.
        Er100 = "ER100",
        /// Invalid AMLD5 answer provided.
        Er101 = "ER101",
        /// User token not found.
        Er700 = "ER700",
        /// User token expired: the client refreshes the user session and replays once.
        Er701 = "ER701",
        /// User token invalid.
        Er702 = "ER702",
        /// User authentication error (undocumented detail).
        Er703 = "ER703",
        /// User authentication error (undocumented detail).
        Er704 = "ER704",
        /// User authentication error (undocumented detail).
        Er705 = "ER705",
        /// User authentication error (undocumented detail).
        Er706 = "ER706",
        /// User authentication error (undocumented detail).
        Er707 = "ER707",
        /// User authentication error (undocumented detail).
        Er708 = "ER708",
        /// User authentication error (undocumented detail).
        Er709 = "ER709",
        /// Partner token invalid.
        Er800 = "ER800",
        /// Partner token expired: the client refreshes it and replays once.
        Er801 = "ER801",
        /// Partner token not found.
        Er802 = "ER802",
        /// Multiple partner authorization methods used (impossible with this client).
        Er803 = "ER803",
        /// Partner authentication error (undocumented detail).
        Er804 = "ER804",
        /// API key invalid.
        Er805 = "ER805",
        /// API key not found.
        Er806 = "ER806",
        /// General error: contact BTC Direct support.
        Er999 = "ER999",
    }
}

impl ErrorCode {
    /// `ER700`–`ER709`: the user's token or session is the problem.
    pub fn is_user_auth(&self) -> bool {
        in_range(self.as_str(), 700, 709)
    }

    /// `ER800`–`ER809`: the partner's credentials are the problem.
    pub fn is_partner_auth(&self) -> bool {
        in_range(self.as_str(), 800, 809)
    }

    /// `ER099`–`ER199`: the request's input is the problem.
    pub fn is_input(&self) -> bool {
        in_range(self.as_str(), 99, 199)
    }
}

fn in_range(code: &str, low: u16, high: u16) -> bool {
    code.strip_prefix("ER")
        .filter(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u16>().ok())
        .is_some_and(|n| (low..=high).contains(&n))
}

/// One error from the provider's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// The code.
    pub code: ErrorCode,
    /// What went wrong, in the provider's words.
    #[serde(default)]
    pub message: String,
    /// What to do about it, in the provider's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(solution) = &self.solution {
            write!(f, " ({solution})")?;
        }
        Ok(())
    }
}

/// Every error of one response, in the order the provider sent them.
///
/// The error body is a map keyed by code (`{"errors": {"ER100": {...}, "ER101": {...}}}`); a list
/// of error objects is accepted too. An entry without its own `code` takes the map key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiErrors(pub Vec<ApiError>);

impl ApiErrors {
    /// The errors.
    pub fn as_slice(&self) -> &[ApiError] {
        &self.0
    }

    /// Whether one of the errors has `code`.
    pub fn has(&self, code: &ErrorCode) -> bool {
        self.0.iter().any(|e| &e.code == code)
    }

    /// The codes, in order.
    pub fn codes(&self) -> impl Iterator<Item = &ErrorCode> {
        self.0.iter().map(|e| &e.code)
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decodes the provider's error from a response body: its error body
    /// `{"errors": {...}}`, or the `{"code": 401, "message": "..."}` its token guard answers
    /// (kept as one error whose code is that number). `None` when the body is neither.
    /// Bounded: at most [`MAX_ERRORS`] errors, texts cut to [`MAX_TEXT`] bytes.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct ErrorBody {
            errors: ApiErrors,
        }
        #[derive(Deserialize)]
        struct Guard {
            code: serde_json::Value,
            message: String,
        }
        if let Ok(error_body) = serde_json::from_slice::<ErrorBody>(body) {
            return Some(error_body.errors).filter(|e| !e.is_empty());
        }
        let guard = serde_json::from_slice::<Guard>(body).ok()?;
        let code = match guard.code {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(ApiErrors(vec![ApiError {
            code: ErrorCode::from(bounded_text(&code, 32)),
            message: bounded_text(&guard.message, MAX_TEXT),
            solution: None,
        }]))
    }
}

impl fmt::Display for ApiErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    code: Option<ErrorCode>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    solution: Option<String>,
}

/// Most errors kept from one answer.
pub const MAX_ERRORS: usize = 32;
/// Longest message or solution kept.
pub const MAX_TEXT: usize = 512;

impl Entry {
    fn into_error(self, key: Option<String>) -> Option<ApiError> {
        let code = self
            .code
            .or_else(|| key.map(|k| ErrorCode::from(bounded_text(&k, 32))))?;
        Some(ApiError {
            code,
            message: bounded_text(&self.message.unwrap_or_default(), MAX_TEXT),
            solution: self
                .solution
                .filter(|s| !s.is_empty())
                .map(|s| bounded_text(&s, MAX_TEXT)),
        })
    }
}

impl<'de> Deserialize<'de> for ApiErrors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ApiErrors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of error codes to errors, or a list of errors")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ApiErrors, A::Error> {
                let mut out = Vec::new();
                while let Some((key, entry)) = map.next_entry::<String, Entry>()? {
                    if out.len() < MAX_ERRORS {
                        out.extend(entry.into_error(Some(key)));
                    }
                }
                Ok(ApiErrors(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ApiErrors, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element::<Entry>()? {
                    match entry.into_error(None) {
                        Some(e) if out.len() < MAX_ERRORS => out.push(e),
                        Some(_) => {}
                        None => return Err(de::Error::missing_field("code")),
                    }
                }
                Ok(ApiErrors(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Everything that can go wrong talking to BTC Direct. Cheap to clone: a failed token renewal
/// reaches every call that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The AMLD5 answers were rejected locally, before any request. Fix the answers.
    #[error("invalid AMLD5 answers: {0}")]
    InvalidAnswers(#[from] AnswerError),

    /// BTC Direct rejected the request's input (`ER099`, `ER100`, `ER101`, unknown codes on a
    /// 4xx). Fix the request.
    #[error("BTC Direct rejected the request (HTTP {status}): {errors}")]
    Rejected {
        /// The HTTP status.
        status: StatusCode,
        /// The provider's errors.
        errors: ApiErrors,
    },

    /// The user's session is not valid and could not be refreshed (`ER700`–`ER709`). Ask the
    /// user to log in again (or link a `User-Identifier` again).
    #[error("the user must log in again (HTTP {status}): {errors}")]
    UserAuth {
        /// The HTTP status.
        status: StatusCode,
        /// The provider's errors.
        errors: ApiErrors,
    },

    /// `POST /api/v1/user/login` was answered 401: BTC Direct refused the user's email and
    /// password (a wrong password or an unknown email). Not a partner-credential problem, and
    /// never replayed: ask the user to check them and log in again.
    #[error(
        "BTC Direct refused the user's login (HTTP {status}): check the user's email and password: {errors}"
    )]
    LoginRefused {
        /// The HTTP status.
        status: StatusCode,
        /// The provider's errors (often none: the answer is `{"code":401,"message":…}`).
        errors: ApiErrors,
    },

    /// The partner credentials were refused (`ER800`–`ER806`, including a failed
    /// `/api/v1/authenticate`). Fix the configuration.
    #[error("BTC Direct refused the partner credentials (HTTP {status}): {errors}")]
    PartnerAuth {
        /// The HTTP status.
        status: StatusCode,
        /// The provider's errors.
        errors: ApiErrors,
    },

    /// BTC Direct failed: `ER999` ("a general error has occurred; contact our support
    /// team": not retryable, [`NextStep::ContactProvider`]), or a 5xx with other codes
    /// (retry later).
    #[error("BTC Direct failed (HTTP {status}): {errors}")]
    ProviderFailure {
        /// The HTTP status.
        status: StatusCode,
        /// The provider's errors.
        errors: ApiErrors,
    },

    /// Transport, timeout, rate limiting, an unreadable response or a configuration problem:
    /// see [`compliance_core::Error`].
    #[error(transparent)]
    Core(#[from] compliance_core::Error),
}

impl Actionable for Error {
    /// What to do about this error: the variant's step, the core's for
    /// [`Core`](Error::Core).
    fn next_step(&self) -> NextStep {
        match self {
            Error::InvalidAnswers(_) | Error::Rejected { .. } => NextStep::FixRequest,
            Error::UserAuth { .. } | Error::LoginRefused { .. } => NextStep::LogInUserAgain,
            Error::PartnerAuth { .. } => NextStep::FixCredentials,
            Error::ProviderFailure { errors, .. } if errors.has(&ErrorCode::Er999) => {
                NextStep::ContactProvider
            }
            Error::ProviderFailure { .. } => NextStep::RetryLater,
            Error::Core(e) => e.next_step(),
        }
    }

    /// The HTTP status of BTC Direct's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Rejected { status, .. }
            | Error::UserAuth { status, .. }
            | Error::LoginRefused { status, .. }
            | Error::PartnerAuth { status, .. }
            | Error::ProviderFailure { status, .. } => Some(*status),
            Error::Core(e) => e.status(),
            Error::InvalidAnswers(_) => None,
        }
    }
}

impl Error {
    /// The provider's errors, when it sent its error body.
    pub fn api_errors(&self) -> &[ApiError] {
        match self {
            Error::Rejected { errors, .. }
            | Error::UserAuth { errors, .. }
            | Error::LoginRefused { errors, .. }
            | Error::PartnerAuth { errors, .. }
            | Error::ProviderFailure { errors, .. } => errors.as_slice(),
            _ => &[],
        }
    }

    /// Whether the provider reported `code`.
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.api_errors().iter().any(|e| &e.code == code)
    }

    /// Maps an unsuccessful response: the provider's error body when there is one (classified
    /// by code, partner problems first), the core's generic error otherwise. 429 is always
    /// [`compliance_core::Error::RateLimited`].
    pub(crate) fn from_response(response: &Response) -> Self {
        if let Some(rate_limited) = response.rate_limit_error() {
            return Error::Core(rate_limited);
        }
        let status = response.status();
        let Some(errors) = ApiErrors::from_body(response.body()) else {
            return Error::Core(response.to_error());
        };
        Self::from_api_errors(status, errors)
    }

    pub(crate) fn from_api_errors(status: StatusCode, errors: ApiErrors) -> Self {
        let any = |f: fn(&ErrorCode) -> bool| errors.codes().any(f);
        if any(ErrorCode::is_partner_auth) {
            Error::PartnerAuth { status, errors }
        } else if any(ErrorCode::is_user_auth) {
            Error::UserAuth { status, errors }
        } else if any(ErrorCode::is_input) {
            Error::Rejected { status, errors }
        } else if errors.has(&ErrorCode::Er999) || status.is_server_error() {
            Error::ProviderFailure { status, errors }
        } else {
            Error::Rejected { status, errors }
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use compliance_core::http::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response::new(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            body.as_bytes().to_vec().into(),
        )
    }

    fn one(code: &str) -> String {
        format!(r#"{{"errors":{{"{code}":{{"code":"{code}","message":"m","solution":"s"}}}}}}"#)
    }

    #[test]
    fn codes_map_to_next_steps() {
        for (code, step) in [
            ("ER099", NextStep::FixRequest),
            ("ER100", NextStep::FixRequest),
            ("ER101", NextStep::FixRequest),
            ("ER701", NextStep::LogInUserAgain),
            ("ER709", NextStep::LogInUserAgain),
            ("ER800", NextStep::FixCredentials),
            ("ER803", NextStep::FixCredentials),
            ("ER805", NextStep::FixCredentials),
            ("ER806", NextStep::FixCredentials),
            ("ER999", NextStep::ContactProvider),
            ("ER123", NextStep::FixRequest),
            ("XX1", NextStep::FixRequest),
        ] {
            let e = Error::from_response(&response(400, &one(code)));
            assert_eq!(e.next_step(), step, "{code}: {e:?}");
            assert!(e.has_code(&ErrorCode::from(code)), "{code}");
        }
    }

    #[test]
    fn multi_code_bodies_keep_order_and_the_most_urgent_wins() {
        let body = r#"{"errors":{"ER101":{"code":"ER101","message":"a","solution":"x"},
            "ER100":{"code":"ER100","message":"b","solution":"y"},
            "ER801":{"code":"ER801","message":"c","solution":"z"}}}"#;
        let e = Error::from_response(&response(400, body));
        let codes: Vec<_> = e.api_errors().iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["ER101", "ER100", "ER801"]);
        assert!(matches!(e, Error::PartnerAuth { .. }));
        assert_eq!(e.api_errors()[1].solution.as_deref(), Some("y"));
    }

    #[test]
    fn unknown_codes_lists_and_missing_fields_parse() {
        let e = ApiErrors::from_body(br#"{"errors":{"ER555":{"message":"new"}}}"#).unwrap();
        assert_eq!(e.0[0].code, ErrorCode::Unknown("ER555".into()));
        assert_eq!(e.0[0].solution, None);
        let e = ApiErrors::from_body(br#"{"errors":[{"code":"ER100","message":"m"}]}"#).unwrap();
        assert_eq!(e.0[0].code, ErrorCode::Er100);
        assert!(ApiErrors::from_body(b"<html>").is_none());
        assert!(ApiErrors::from_body(br#"{"errors":{}}"#).is_none());
    }

    #[test]
    fn other_bodies_fall_back_to_the_core() {
        assert!(matches!(
            Error::from_response(&response(429, &one("ER999"))),
            Error::Core(compliance_core::Error::RateLimited { .. })
        ));
        let e = Error::from_response(&response(502, "bad gateway"));
        assert!(e.is_retryable());
        assert!(matches!(
            e,
            Error::Core(compliance_core::Error::Provider { .. })
        ));
        let e = Error::from_response(&response(500, r#"{"errors":{"ER555":{"message":"m"}}}"#));
        assert!(matches!(e, Error::ProviderFailure { .. }));
        assert!(e.is_retryable());
        assert_eq!(e.next_step(), NextStep::RetryLater);
        let e = Error::from_response(&response(500, &one("ER999")));
        assert!(matches!(e, Error::ProviderFailure { .. }));
        assert!(!e.is_retryable(), "ER999 says: contact support");
        assert_eq!(e.next_step(), NextStep::ContactProvider);
    }

    #[test]
    fn the_token_guards_answer_keeps_its_message_and_everything_is_bounded() {
        let e = ApiErrors::from_body(br#"{"code":401,"message":"Invalid credentials."}"#).unwrap();
        assert_eq!(e.0[0].code.as_str(), "401");
        assert_eq!(e.to_string(), "401: Invalid credentials.");
        let long = "m".repeat(100_000);
        let many: Vec<String> = (0..1000)
            .map(|i| format!(r#""ER{i:03}":{{"message":"{long}","solution":"{long}"}}"#))
            .collect();
        let body = format!(r#"{{"errors":{{{}}}}}"#, many.join(","));
        let e = Error::from_response(&response(400, &body));
        assert_eq!(e.api_errors().len(), MAX_ERRORS);
        assert!(e.to_string().len() < 64 * 1024, "{}", e.to_string().len());
    }

    #[test]
    fn code_ranges() {
        assert!(ErrorCode::Er701.is_user_auth());
        assert!(!ErrorCode::Er701.is_partner_auth());
        assert!(ErrorCode::Unknown("ER807".into()).is_partner_auth());
        assert!(!ErrorCode::Unknown("ER8000".into()).is_partner_auth());
        assert!(ErrorCode::Er099.is_input());
        assert!(!ErrorCode::Er999.is_input());
    }
}
