//! Why a webhook was refused, and what a signature mismatch most likely means.

use std::fmt;

use compliance_core::{Actionable, NextStep};

use super::WebhookKind;
use crate::sign::KeyKind;

/// Why a webhook signature did not match, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MismatchCause {
    /// The body verifies once `/` is escaped as `\/` again: something parsed and re-encoded
    /// the body before it reached the verifier.
    ReSerialised,
    /// The body verifies with the other key: the keys are swapped, or the wrong one was
    /// configured.
    WrongKey {
        /// The key webhooks of this type are checked with.
        expected: KeyKind,
        /// The key the body verifies with.
        verifies_with: KeyKind,
    },
    /// The configured key starts or ends with whitespace (a newline left from the file it
    /// was read from?): a key is used exactly as given, so it never matches. Remove the
    /// whitespace (the workspace's one rule for secrets,
    /// [`compliance_core::secret::SecretProblem`]).
    KeyHasWhitespace {
        /// The key webhooks of this type are checked with.
        expected: KeyKind,
    },
    /// None of the known mistakes explains it: the body was altered or signed by someone
    /// else (or re-encoded in a way that cannot be undone: keys reordered, nulls dropped).
    Unexplained,
}

impl fmt::Display for MismatchCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MismatchCause::ReSerialised => f.write_str(
                "the body was re-serialised before verification (it verifies once `/` is \
                 escaped as `\\/` again); pass the raw request bytes",
            ),
            MismatchCause::WrongKey {
                expected,
                verifies_with,
            } => write!(
                f,
                "wrong key for this webhook type: it is checked with the {expected} but \
                 verifies with the {verifies_with}; are the two keys swapped?"
            ),
            MismatchCause::KeyHasWhitespace { expected } => write!(
                f,
                "the configured {expected} starts or ends with whitespace (a newline from the \
                 file it was read from?): a key is used exactly as given; remove it"
            ),
            MismatchCause::Unexplained => f.write_str(
                "the body was altered, or signed with a key this verifier does not hold; if a \
                 framework parsed the body, pass the raw request bytes instead",
            ),
        }
    }
}

/// Why a webhook was rejected. Answer such a delivery with a 4xx and do not act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not a well-formed JSON object.
    #[error("webhook body is not a well-formed JSON object: {0}")]
    Malformed(String),
    /// The body has no top-level `sign` member.
    #[error("webhook body has no `sign` member")]
    MissingSign,
    /// The `sign` member is empty or not a string.
    #[error("webhook `sign` is empty or not a string")]
    EmptySign,
    /// The body has no `type`, so the key cannot be chosen.
    #[error("webhook body has no `type`")]
    MissingType,
    /// The `type` is not one this crate knows the key for.
    #[error("unknown webhook type `{0}` (expected payment, wallet or payout)")]
    UnknownType(String),
    /// The webhook needs a key the verifier was built without.
    #[error("a {kind} webhook is signed with the {key}, which the verifier was built without")]
    MissingKey {
        /// The webhook's type.
        kind: WebhookKind,
        /// The missing key.
        key: KeyKind,
    },
    /// The signature does not match.
    #[error("{kind} webhook signature mismatch: {cause}")]
    Mismatch {
        /// The webhook's type.
        kind: WebhookKind,
        /// The likely cause.
        cause: MismatchCause,
    },
    /// The signature is valid but the content does not have the expected shape.
    #[error("verified webhook could not be read: {0}")]
    Decode(#[source] compliance_core::Error),
}

impl Actionable for WebhookError {
    /// What to do about the delivery: [`NextStep::DoNotTrust`] for anything that failed
    /// verification (answer 4xx, do not act on it), [`NextStep::FixConfiguration`] when the
    /// verifier lacks the key the webhook needs, [`NextStep::ReportProviderChange`] when a
    /// verified body could not be read.
    fn next_step(&self) -> NextStep {
        match self {
            WebhookError::MissingKey { .. } => NextStep::FixConfiguration,
            WebhookError::Decode(_) => NextStep::ReportProviderChange,
            _ => NextStep::DoNotTrust,
        }
    }
}
