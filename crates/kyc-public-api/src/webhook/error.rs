//! Why a webhook was refused, and what to do about it.

use compliance_core::webhook::FreshnessError;
use compliance_core::{Actionable, Error as CoreError, NextStep};

use crate::encryption::EncryptionError;

/// Why a webhook was refused. Answer with a 4xx (the provider will retry, which is harmless
/// for forgeries and useful after fixing a configuration).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not the provider's envelope.
    #[error("webhook body is not an envelope: {0}")]
    Malformed(#[source] CoreError),
    /// `data` is not encrypted: the webhook cannot be authenticated.
    #[error("webhook `data` is not encrypted; refusing an unauthenticated webhook")]
    NotEncrypted,
    /// Signature missing or wrong, or `data` does not decrypt.
    #[error("webhook failed verification: {0}")]
    Encryption(#[from] EncryptionError),
    /// The envelope has no parseable `time`.
    #[error("webhook envelope has no valid `time`")]
    MissingTime,
    /// `time` is outside the tolerance window: a replay, a very late delivery or a wrong
    /// clock.
    #[error("webhook rejected: {0}")]
    NotFresh(#[from] FreshnessError),
    /// The decrypted payload is not an applicant event.
    #[error("webhook payload cannot be decoded: {0}")]
    Payload(#[source] CoreError),
}

impl Actionable for WebhookError {
    /// What to do about the delivery: [`NextStep::DoNotTrust`] (answer 4xx, do not act on
    /// it), except [`NextStep::FixConfiguration`] for a malformed configured key and
    /// [`NextStep::ReportProviderChange`] for an authentic payload that could not be read.
    fn next_step(&self) -> NextStep {
        match self {
            WebhookError::Encryption(e) => e.next_step(),
            WebhookError::Payload(_) => NextStep::ReportProviderChange,
            _ => NextStep::DoNotTrust,
        }
    }
}
