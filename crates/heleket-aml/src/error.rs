//! The crate's error: what Heleket said, in terms of what to do about it.

use std::collections::BTreeMap;

use compliance_core::http::StatusCode;
use compliance_core::{Actionable, NextStep};

use crate::sign::KeyKind;
use crate::webhook::WebhookError;

/// Everything that can go wrong talking to Heleket or reading its webhooks.
/// [`next_step`](Error::next_step) says what to do:
///
/// | variant | [`NextStep`] |
/// |---|---|
/// | [`SignatureRejected`](Error::SignatureRejected), [`Forbidden`](Error::Forbidden) | `FixCredentials` (merchant uuid and the named key) |
/// | [`Validation`](Error::Validation) | `FixRequest`: the fields and rules are listed |
/// | [`Business`](Error::Business) | `FixRequest`: read the message (`Payment not found`...) |
/// | [`Core`](Error::Core) | transport, timeouts, rate limits, 5xx, undecodable responses, local validation: the core's [`next_step`](compliance_core::Error::next_step) |
/// | [`Webhook`](Error::Webhook) | `DoNotTrust` the delivery (see [`WebhookError::next_step`]) |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Heleket did not accept the request's `sign` header (its body was
    /// `{"message":"Invalid Sign."}`, without `state`).
    #[error(
        "Heleket rejected the request signature (HTTP {status}: {message:?}); it was made with \
         the {key}: check that this key belongs to the merchant uuid sent. The signature must be \
         computed over exactly the bytes sent; this client signs the bytes it sends, so a \
         wrong or rotated {key} is the usual cause"
    )]
    SignatureRejected {
        /// The key that signed the request.
        key: KeyKind,
        /// The HTTP status.
        status: StatusCode,
        /// Heleket's message, verbatim.
        message: String,
    },

    /// Heleket refused the credentials without a `state` (`Wrong key`, `You are
    /// forbidden`): the merchant uuid or the key is not valid for this endpoint.
    #[error(
        "Heleket refused the credentials (HTTP {status}: {message:?}) for a request signed with the {key}"
    )]
    Forbidden {
        /// The key that signed the request.
        key: KeyKind,
        /// The HTTP status.
        status: StatusCode,
        /// Heleket's message, verbatim.
        message: String,
    },

    /// The request failed Heleket's validation (HTTP 422): each field maps to the
    /// translation keys of the rules it broke (`validation.required_without`).
    #[error("Heleket rejected the request as invalid (HTTP {status}): {}", fmt_validation(.message, .errors))]
    Validation {
        /// The HTTP status (422).
        status: StatusCode,
        /// Heleket's message, when it sent one.
        message: Option<String>,
        /// Field → rule keys, in field order.
        errors: BTreeMap<String, Vec<String>>,
    },

    /// Heleket answered `state: 1` with a message (`Payment not found`).
    #[error("Heleket refused the request (HTTP {status}): {}", .message.as_deref().unwrap_or("no message"))]
    Business {
        /// The HTTP status (Heleket also uses 200 for these).
        status: StatusCode,
        /// Heleket's message, verbatim.
        message: Option<String>,
    },

    /// Transport failure, timeout, rate limit, server error, undecodable response,
    /// configuration or a request refused locally before any I/O.
    #[error(transparent)]
    Core(#[from] compliance_core::Error),

    /// A webhook failed verification or could not be read.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
}

fn fmt_validation(message: &Option<String>, errors: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    if let Some(m) = message {
        out.push_str(m);
    }
    for (field, rules) in errors {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(field);
        out.push_str(": ");
        out.push_str(&rules.join(", "));
    }
    if out.is_empty() {
        out.push_str("no details");
    }
    out
}

impl Actionable for Error {
    /// What to do about this error.
    fn next_step(&self) -> NextStep {
        match self {
            Error::SignatureRejected { .. } | Error::Forbidden { .. } => NextStep::FixCredentials,
            Error::Validation { .. } | Error::Business { .. } => NextStep::FixRequest,
            Error::Core(e) => e.next_step(),
            Error::Webhook(e) => e.next_step(),
        }
    }

    /// The HTTP status of Heleket's answer, when there was one.
    fn status(&self) -> Option<StatusCode> {
        match self {
            Error::SignatureRejected { status, .. }
            | Error::Forbidden { status, .. }
            | Error::Validation { status, .. }
            | Error::Business { status, .. } => Some(*status),
            Error::Core(e) => e.status(),
            Error::Webhook(_) => None,
        }
    }
}

impl Error {
    /// For a [`Validation`](Error::Validation) error, the rule keys `field` broke.
    pub fn validation_rules(&self, field: &str) -> Option<&[String]> {
        match self {
            Error::Validation { errors, .. } => errors.get(field).map(Vec::as_slice),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use compliance_core::BodySnippet;

    #[test]
    fn next_steps_follow_the_variant_and_the_core() {
        let status = StatusCode::UNAUTHORIZED;
        let message = String::from("Invalid Sign.");
        let key = KeyKind::Payment;
        for (error, step) in [
            (
                Error::SignatureRejected {
                    key,
                    status,
                    message: message.clone(),
                },
                NextStep::FixCredentials,
            ),
            (
                Error::Forbidden {
                    key,
                    status,
                    message,
                },
                NextStep::FixCredentials,
            ),
            (
                Error::Business {
                    status: StatusCode::OK,
                    message: None,
                },
                NextStep::FixRequest,
            ),
            (
                Error::Core(compliance_core::Error::Provider {
                    status: StatusCode::BAD_GATEWAY,
                    body: BodySnippet::new(b""),
                }),
                NextStep::RetryLater,
            ),
            (
                Error::Webhook(WebhookError::MissingSign),
                NextStep::DoNotTrust,
            ),
        ] {
            assert_eq!(error.next_step(), step, "{error:?}");
            assert_eq!(error.is_retryable(), step == NextStep::RetryLater);
        }
    }
}
