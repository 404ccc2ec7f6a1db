//! The crate's error: what went wrong with a delivery, and what to do about it.

use compliance_core::error::bounded_text;
use compliance_core::{Actionable, BodySnippet, NextStep};

use crate::auth::AuthError;

/// How many bytes of a decoder message or JSON path an error keeps. Decoder messages quote
/// the offending value, which a hostile body can make arbitrarily long.
const MAX_DETAIL: usize = 256;

/// Why a delivery was refused, or the configuration is wrong.
///
/// [`Unauthenticated`](Error::Unauthenticated) and [`Parse`](Error::Parse) are the
/// sender's problem (401 and 400; Tuum retries, and operators can replay the notification
/// once fixed). What goes wrong after a delivery is accepted (the handler, the inbox) is a
/// [`ProcessError`](crate::ProcessError), answered 5xx so Tuum redelivers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The delivery failed the configured authenticity check. Do not trust the payload.
    #[error("delivery failed authentication: {0}")]
    Unauthenticated(#[from] AuthError),

    /// The body is not a Tuum AML event of the expected shape. `path` names the JSON location
    /// that failed (`data.amount.amount`, `.` for the whole body).
    #[error("not a valid Tuum AML event: `{path}`: {message}; body starts: {body}")]
    Parse {
        /// JSON path of the failing value.
        path: String,
        /// What is wrong with it (bounded in length).
        message: String,
        /// A bounded prefix of the body.
        body: BodySnippet,
    },

    /// The processor or an authenticator is misconfigured. Fix the configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl From<compliance_core::Error> for Error {
    /// A processor that fails to build (no handler): a configuration error.
    fn from(error: compliance_core::Error) -> Self {
        match error {
            compliance_core::Error::Config(message) => Error::Config(message),
            other => Error::Config(other.to_string()),
        }
    }
}

impl Actionable for Error {
    /// What to do about it: [`NextStep::DoNotTrust`] an unauthenticated delivery,
    /// [`NextStep::ReportProviderChange`] for an authentic body that is not a Tuum event
    /// of the expected shape, [`NextStep::FixConfiguration`] for a configuration error.
    fn next_step(&self) -> NextStep {
        match self {
            Error::Unauthenticated(_) => NextStep::DoNotTrust,
            Error::Parse { .. } => NextStep::ReportProviderChange,
            Error::Config(_) => NextStep::FixConfiguration,
        }
    }
}

impl Error {
    /// Builds a [`Error::Parse`] with bounded details.
    pub(crate) fn parse(path: &str, message: &str, body: &[u8]) -> Self {
        Error::Parse {
            path: bounded_text(path, MAX_DETAIL),
            message: bounded_text(message, MAX_DETAIL),
            body: BodySnippet::new(body),
        }
    }

    /// Re-roots a decode error of `data` (decoded on its own) into the whole body.
    pub(crate) fn from_decode(
        err: compliance_core::Error,
        prefix: Option<&str>,
        body: &[u8],
    ) -> Self {
        match err {
            compliance_core::Error::Decode { path, message, .. } => {
                // `?` is serde_path_to_error's "no location": a failure of the value itself.
                let path = match (prefix, path.as_str()) {
                    (Some(prefix), "." | "" | "?") => prefix.to_owned(),
                    (Some(prefix), path) => format!("{prefix}.{path}"),
                    (None, "" | "?") => ".".to_owned(),
                    (None, _) => path,
                };
                Error::parse(&path, &message, body)
            }
            other => Error::parse(".", &other.to_string(), body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_bounded() {
        let long = "x".repeat(10_000);
        let err = Error::parse(&long, &long, long.as_bytes());
        assert!(err.to_string().len() < 2_000, "{}", err.to_string().len());
        assert_eq!(err.next_step(), NextStep::ReportProviderChange);
        assert!(!err.is_retryable());
        let Error::Parse { message, .. } = err else {
            panic!("not a parse error")
        };
        assert!(message.ends_with('…'));
    }

    #[test]
    fn data_paths_are_re_rooted() {
        let core = compliance_core::Error::decode("x", "amount.amount", "bad", b"");
        let Error::Parse { path, .. } = Error::from_decode(core, Some("data"), b"{}") else {
            panic!("not a parse error")
        };
        assert_eq!(path, "data.amount.amount");
    }
}
