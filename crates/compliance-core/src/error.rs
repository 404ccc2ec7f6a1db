//! The error taxonomy every provider crate builds on.
//!
//! Each variant answers "what should the caller do?", and [`Error::next_step`] says it as a
//! [`NextStep`]: retry later ([`Error::Transport`], [`Error::Timeout`],
//! [`Error::RateLimited`], a 408 or 5xx [`Error::Provider`]), fix the request (a 4xx
//! [`Error::Provider`], [`Error::InvalidRequest`]), fix the credentials (a 401 or 403), fix the
//! configuration ([`Error::Config`], [`Error::BodyTooLarge`], [`Error::RouteNotFound`]), distrust the data
//! ([`Error::Authenticity`]), or report a provider change ([`Error::Decode`]).
//!
//! Every provider crate's error has the same three helpers, `next_step()`, `is_retryable()`
//! and `status()`, and delegates to these for the failures the core reports. The one
//! status → next-step mapping ([`NextStep::for_status`]) is here too, so a 503 means "retry
//! later" in every crate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

pub use crate::redact::{DEFAULT_BODY_PREFIX, RedactedBody, bounded_text};
use crate::redact::{scrub, shape};

/// A bounded, lossy-UTF-8 prefix of a body kept for diagnostics.
///
/// Errors never carry a whole body: a hostile or broken server cannot make an error value
/// (or a log line built from it) arbitrarily large.
#[derive(Clone, PartialEq, Eq)]
pub struct BodySnippet {
    text: String,
    total_len: usize,
}

impl BodySnippet {
    /// Keeps at most [`DEFAULT_BODY_PREFIX`] bytes of `body`.
    pub fn new(body: &[u8]) -> Self {
        Self::with_limit(body, DEFAULT_BODY_PREFIX)
    }

    /// Keeps at most `limit` bytes of `body` (cut back to a character boundary).
    pub fn with_limit(body: &[u8], limit: usize) -> Self {
        let prefix = &body[..body.len().min(limit)];
        let mut text = String::from_utf8_lossy(prefix).into_owned();
        if prefix.len() < body.len() {
            // A multi-byte character cut in half decodes as U+FFFD; drop it.
            if text.ends_with('\u{FFFD}') {
                text.pop();
            }
        }
        Self {
            text,
            total_len: body.len(),
        }
    }

    /// The kept prefix.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length in bytes of the whole body the snippet was taken from.
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Whether the body was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.text.len() < self.total_len
    }
}

impl fmt::Display for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_len == 0 {
            return f.write_str("<empty body>");
        }
        write!(f, "{}", self.text.escape_debug())?;
        if self.is_truncated() {
            write!(f, "… ({} bytes in all)", self.total_len)?;
        }
        Ok(())
    }
}

impl fmt::Debug for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Longest decoder message (and JSON path) an [`Error::Decode`] keeps.
const MAX_DECODE_MESSAGE: usize = 256;

/// Which time limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection.
    Connect,
    /// One attempt (request sent and response body read).
    Attempt,
    /// The overall deadline across all attempts and back-off sleeps.
    Deadline,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect timeout",
            TimeoutKind::Attempt => "per-attempt timeout",
            TimeoutKind::Deadline => "overall deadline",
        })
    }
}

/// An opaque transport failure (DNS, TCP, TLS, HTTP framing).
///
/// The HTTP library's own error type stays out of the public API; its message and source
/// chain are kept. Cheap to clone (the source is shared).
#[derive(Clone)]
pub struct TransportError {
    message: String,
    connect: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// Wraps any error as a transport failure. `connect` says whether it happened before
    /// anything was sent (so the request certainly did not reach the provider).
    pub fn new(
        message: impl Into<String>,
        connect: bool,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            connect,
            source: source.map(Arc::from),
        }
    }

    /// Whether the failure happened while connecting, before the request was sent.
    pub fn is_connect(&self) -> bool {
        self.connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("message", &self.message)
            .field("connect", &self.connect)
            .finish()
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The error every provider crate wraps. Cheap to clone, so one failed credential renewal
/// can be handed to every call that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be delivered or the response not read. Retry later.
    #[error("transport failure: {0}")]
    Transport(#[source] TransportError),

    /// A time limit ran out. For a request that is not safe to repeat, whether the provider
    /// acted on it is unknown: look the resource up before sending it again.
    #[error("{kind} after {after:?}")]
    Timeout {
        /// Which limit ran out.
        kind: TimeoutKind,
        /// The limit that was exceeded.
        after: Duration,
    },

    /// The provider asked us to slow down (HTTP 429). Retry after `retry_after` if given.
    #[error("rate limited by the provider{}", fmt_retry_after(.retry_after))]
    RateLimited {
        /// The provider's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// The start of the response body.
        body: BodySnippet,
    },

    /// The provider answered with an unsuccessful status whose body the provider crate could
    /// not map to a more specific error. 4xx: fix the request; 5xx: retry later.
    #[error("provider answered HTTP {status}: {body}")]
    Provider {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the response body.
        body: BodySnippet,
    },

    /// The host answered 404 to a path of ours with a body that is not the provider's own
    /// error: nothing answers at that address, so the base URL (or a proxy in front of it)
    /// is wrong. Fix the configuration. (A provider's own "not found" for a resource stays
    /// the provider crate's error, or [`Error::Provider`].)
    #[error(
        "nothing answers at {url} (HTTP 404, not the provider's own error): check the base URL; body: {body}"
    )]
    RouteNotFound {
        /// The URL requested, without its query.
        url: String,
        /// The start of the response body.
        body: BodySnippet,
    },

    /// The response (or webhook) did not have the shape we expect: the provider changed its
    /// API or sent something broken. `path` names the JSON location that failed.
    ///
    /// Decoded bodies carry tokens, questionnaire links and personal data, so this error
    /// keeps no value from them: `body` is the body's [shape](RedactedBody) and the
    /// message has the body's values cut out. Build it with [`Error::decode`].
    #[error("could not decode {what} at `{path}`: {message}; body shape: {body}")]
    Decode {
        /// What was being decoded ("response", "webhook", a type name...).
        what: &'static str,
        /// JSON path of the failing value (`.` for the root).
        path: String,
        /// The decoder's message, without the body's values.
        message: String,
        /// The body's shape: its structure and member names, every value replaced.
        body: RedactedBody,
    },

    /// The response body exceeded the configured cap and was not read further.
    #[error(
        "response body exceeds the {limit}-byte limit; raise `max_response_bytes` if this is expected"
    )]
    BodyTooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },

    /// The client is misconfigured (bad base URL, malformed key...). Fix the configuration.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A request was rejected locally before any I/O. Fix the request.
    #[error("invalid request: {field}: {reason}")]
    InvalidRequest {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },

    /// A signature, MAC or other authenticity check failed. Do not trust the payload.
    #[error("authenticity check failed: {0}")]
    Authenticity(String),
}

/// What the caller should do about an error: the answer every error of every crate in this
/// workspace gives through its [`Actionable::next_step`].
///
/// ```
/// use compliance_core::{Actionable as _, Error, NextStep};
///
/// let e = Error::invalid_request("order_id", "must not be empty");
/// assert_eq!(e.next_step(), NextStep::FixRequest);
/// assert!(!e.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NextStep {
    /// Try again later (after the provider's `Retry-After`, if it sent one). For a request
    /// that is not safe to repeat, look the resource up first: it may have been acted on.
    RetryLater,
    /// Fix the request: a field, an id, an answer, a locale.
    FixRequest,
    /// Fix the credentials (a key, a password, a merchant id): the provider refused them.
    FixCredentials,
    /// Ask the end user to log in again: their session cannot be renewed.
    LogInUserAgain,
    /// Fix the client's configuration (base URL, key format, size limits).
    FixConfiguration,
    /// Do not act on the data: it failed an authenticity check (answer a webhook with 4xx;
    /// for a response, check the keys).
    DoNotTrust,
    /// Contact the provider's support: sending the same request again will not help.
    ContactProvider,
    /// The provider sent something this crate cannot read: report it (the provider changed
    /// its API, or is broken).
    ReportProviderChange,
}

impl NextStep {
    /// The next step for an unsuccessful HTTP status whose body says nothing more: 408,
    /// 429 and 5xx retry later, 401 and 403 fix the credentials, other 4xx fix the request,
    /// 3xx (never followed) fix the configuration, anything else report a provider change.
    pub fn for_status(status: StatusCode) -> Self {
        if is_retryable_status(status) {
            NextStep::RetryLater
        } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            NextStep::FixCredentials
        } else if status.is_client_error() {
            NextStep::FixRequest
        } else if status.is_redirection() {
            NextStep::FixConfiguration
        } else {
            NextStep::ReportProviderChange
        }
    }

    /// Whether this step is "try again later".
    pub fn is_retry(self) -> bool {
        self == NextStep::RetryLater
    }
}

impl fmt::Display for NextStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NextStep::RetryLater => "retry later",
            NextStep::FixRequest => "fix the request",
            NextStep::FixCredentials => "fix the credentials",
            NextStep::LogInUserAgain => "ask the user to log in again",
            NextStep::FixConfiguration => "fix the configuration",
            NextStep::DoNotTrust => "do not trust the data",
            NextStep::ContactProvider => "contact the provider",
            NextStep::ReportProviderChange => "report a provider change",
        })
    }
}

fn fmt_retry_after(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {}s)", d.as_secs_f64()),
        None => String::new(),
    }
}

/// What every error of the workspace says about itself, whichever crate it comes from: what
/// to do about it, whether trying again later may help, and the provider's HTTP status when
/// there was an answer. Each crate's `Error` (and the webhook and encryption errors)
/// implements it; code that handles several providers (an [`AmlError`](crate::AmlError), the
/// `compliance` command) reads any of them the same way, without knowing its type.
///
/// Every provider crate re-exports it at its root: `use heleket_aml::Actionable as _;`
/// brings the methods into scope.
pub trait Actionable: std::error::Error + Send + Sync + 'static {
    /// What to do about this error.
    fn next_step(&self) -> NextStep;

    /// Whether sending the same request (or delivery) again later may succeed: the
    /// [next step](Self::next_step) is [`NextStep::RetryLater`].
    fn is_retryable(&self) -> bool {
        self.next_step().is_retry()
    }

    /// The HTTP status of the provider's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        None
    }
}

impl Actionable for Error {
    /// What to do about this error.
    fn next_step(&self) -> NextStep {
        match self {
            Error::Transport(_) | Error::Timeout { .. } | Error::RateLimited { .. } => {
                NextStep::RetryLater
            }
            Error::Provider { status, .. } => NextStep::for_status(*status),
            Error::RouteNotFound { .. } => NextStep::FixConfiguration,
            Error::Decode { .. } => NextStep::ReportProviderChange,
            Error::BodyTooLarge { .. } | Error::Config(_) => NextStep::FixConfiguration,
            Error::InvalidRequest { .. } => NextStep::FixRequest,
            Error::Authenticity(_) => NextStep::DoNotTrust,
        }
    }

    /// Whether sending the same request again later may succeed: the
    /// [next step](Self::next_step) is [`NextStep::RetryLater`].
    ///
    /// True for transport failures, timeouts, rate limiting, 408 and 5xx. For a request that
    /// is not safe to repeat, a retryable error still leaves its outcome unknown.
    fn is_retryable(&self) -> bool {
        self.next_step().is_retry()
    }

    /// The HTTP status of the provider's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        match self {
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Provider { status, .. } => Some(*status),
            Error::RouteNotFound { .. } => Some(StatusCode::NOT_FOUND),
            _ => None,
        }
    }
}

impl Error {
    /// Builds an [`Error::Decode`] for `body`: the message is cut to a bounded length with
    /// every value of `body` removed from it, and only the body's shape is kept.
    pub fn decode(
        what: &'static str,
        path: impl Into<String>,
        message: impl fmt::Display,
        body: &[u8],
    ) -> Self {
        let (body, values) = shape(body, DEFAULT_BODY_PREFIX);
        let message = bounded_text(&scrub(&message.to_string(), &values), MAX_DECODE_MESSAGE);
        Error::Decode {
            what,
            path: bounded_text(&path.into(), MAX_DECODE_MESSAGE),
            message,
            body,
        }
    }

    /// Builds an [`Error::InvalidRequest`].
    pub fn invalid_request(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field,
            reason: reason.into(),
        }
    }
}

/// Whether an HTTP status is worth retrying: 408, 429 and every 5xx.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_says_so() {
        let body = "x".repeat(5000);
        let s = BodySnippet::new(body.as_bytes());
        assert_eq!(s.as_str().len(), DEFAULT_BODY_PREFIX);
        assert!(s.is_truncated());
        assert!(s.to_string().ends_with("(5000 bytes in all)"));
    }

    #[test]
    fn snippet_cuts_at_char_boundary() {
        let s = BodySnippet::with_limit("aé".as_bytes(), 2);
        assert_eq!(s.as_str(), "a");
        assert!(s.is_truncated());
    }

    #[test]
    fn decode_errors_keep_the_shape_and_no_value() {
        let body = br#"{"token":"pt-SECRET-1","refreshToken":123456789,"ok":true,"n":null}"#;
        let err = Error::decode(
            "response",
            "refreshToken",
            "invalid type: integer `123456789`, expected a string at line 1 column 45",
            body,
        );
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("SECRET") && !text.contains("123456789"),
            "{text}"
        );
        assert!(
            text.contains(r#"body shape: {"token":"…","refreshToken":#,"ok":true,"n":null}"#),
            "{text}"
        );
        assert!(
            text.contains("invalid type: integer `…`, expected a string"),
            "{text}"
        );
        let err = Error::decode("x", ".", "m", &[b'"'; 5000]);
        let Error::Decode { body, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(body.is_truncated() && body.as_str().len() <= DEFAULT_BODY_PREFIX + 8);
    }

    #[test]
    fn bounded_text_cuts_at_a_character_boundary() {
        assert_eq!(bounded_text("abc", 3), "abc");
        assert_eq!(bounded_text("aé", 2), "a…");
        assert_eq!(bounded_text(&"x".repeat(10), 4), "xxxx…");
    }

    #[test]
    fn retryability_follows_status() {
        let p = |s: u16| Error::Provider {
            status: StatusCode::from_u16(s).unwrap(),
            body: BodySnippet::new(b""),
        };
        assert!(p(503).is_retryable());
        assert!(p(408).is_retryable());
        assert!(!p(400).is_retryable());
        assert_eq!(p(404).status(), Some(StatusCode::NOT_FOUND));
        assert!(!Error::Config("x".into()).is_retryable());
    }

    #[test]
    fn next_steps() {
        let p = |s: u16| {
            Error::Provider {
                status: StatusCode::from_u16(s).unwrap(),
                body: BodySnippet::new(b""),
            }
            .next_step()
        };
        assert_eq!(p(503), NextStep::RetryLater);
        assert_eq!(p(429), NextStep::RetryLater);
        assert_eq!(p(408), NextStep::RetryLater);
        assert_eq!(p(401), NextStep::FixCredentials);
        assert_eq!(p(403), NextStep::FixCredentials);
        assert_eq!(p(404), NextStep::FixRequest);
        assert_eq!(p(302), NextStep::FixConfiguration);
        assert_eq!(p(200), NextStep::ReportProviderChange);
        let timeout = Error::Timeout {
            kind: TimeoutKind::Deadline,
            after: Duration::from_secs(1),
        };
        assert_eq!(timeout.next_step(), NextStep::RetryLater);
        assert!(timeout.is_retryable());
        assert_eq!(
            Error::decode("x", ".", "m", b"{}").next_step(),
            NextStep::ReportProviderChange
        );
        assert_eq!(
            Error::BodyTooLarge { limit: 1 }.next_step(),
            NextStep::FixConfiguration
        );
        assert_eq!(
            Error::Authenticity("x".into()).next_step(),
            NextStep::DoNotTrust
        );
        assert!(!Error::Authenticity("x".into()).is_retryable());
        assert_eq!(NextStep::RetryLater.to_string(), "retry later");
    }
}
