//! Webhooks: raw headers and body in, a verified [`ApplicantEvent`] and its deduplication key
//! out.
//!
//! The provider posts the usual envelope with `data` encrypted under the application's
//! keys and the HMAC or GCM tag in `x-allpass-signature`. It expects HTTP 200; anything
//! else is retried after 30 s with exponential back-off, 10 attempts, so a delivery can
//! arrive more than once: [`WebhookProcessor`] (the shared pipeline of
//! [`compliance_core::webhook`]) runs your handler once per event.
//!
//! Only `data` is authenticated (by the signature or the GCM tag). The envelope's `time` is
//! not: anyone holding one captured delivery can resend it with any `time`. So the
//! deduplication key is computed from the decrypted payload alone, and `time` orders
//! nothing: to keep applicant state in order, re-fetch the applicant (the API is the source
//! of truth) with [`store::refresh`](crate::store::refresh). The freshness window on `time`
//! (default [`DEFAULT_TOLERANCE`], wide enough for the provider's whole retry schedule)
//! only turns away deliveries whose clock is far off; it is no defence against replays.
//!
//! A webhook without encryption cannot be authenticated and is refused.

use compliance_core::Actionable as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use compliance_core::http::HeaderMap;
use compliance_core::time::Timestamp;
use compliance_core::webhook::{
    Clock, Freshness, FreshnessError, Processor, Rejection, RejectionKind, RequestInfo,
    StoredRequest, SystemClock, Verified, Verifier,
};
use compliance_core::{Error as CoreError, NextStep, json};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::applicant::ApplicantStatus;
use crate::de;
use crate::encryption::{
    Cipher, EncryptionError, EncryptionOptions, EncryptionSettings, SIGNATURE_HEADER,
};
use crate::envelope::{Data, RawEnvelope, open_encrypted};

/// The default freshness window for the envelope's `time`: 12 hours either way.
///
/// The provider retries a refused delivery 10 times with exponential back-off from 30 s
/// (30 s · (2¹⁰ − 1) ≈ 8.5 h in all); if a retry keeps the first attempt's `time`, a
/// narrower window would refuse the provider's own late retries after an outage, and the
/// event would be lost. 12 h covers the schedule with room for queueing and clock skew.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(12 * 3600);

compliance_core::open_enum! {
    /// A webhook or timeline event name.
    pub enum EventType {
        /// Applicant created.
        ApplicantCreated = "applicantCreated",
        /// The person started the flow.
        ApplicantInProgress = "applicantInProgress",
        /// More data is needed.
        ApplicantIncomplete = "applicantIncomplete",
        /// Waiting for a reviewer.
        ApplicantInReview = "applicantInReview",
        /// Rejected.
        ApplicantRejected = "applicantRejected",
        /// Approved.
        ApplicantApproved = "applicantApproved",
        /// Every step done.
        ApplicantCompleted = "applicantCompleted",
        /// Put on hold.
        ApplicantOnHold = "applicantOnHold",
        /// A step passed (`stepName` says which).
        ApplicantStepPassed = "applicantStepPassed",
        /// The document is already used by another applicant.
        ApplicantDuplicateDocument = "applicantDuplicateDocument",
        /// The email is already used by another applicant.
        ApplicantDuplicateEmail = "applicantDuplicateEmail",
        /// The phone is already used by another applicant.
        ApplicantDuplicatePhone = "applicantDuplicatePhone",
        /// The document has expired.
        ExpiredDocument = "expiredDocument",
        /// An additional-document step failed.
        AdditionalDocumentStepError = "additionalDocumentStepError",
        /// A crypto-AML report's status changed.
        CryptoAmlStatusUpdated = "CRYPTO_AML_STATUS_UPDATED",
    }
}

impl EventType {
    /// The applicant status this event announces, for the events that announce one.
    pub fn applicant_status(&self) -> Option<ApplicantStatus> {
        Some(match self {
            Self::ApplicantCreated => ApplicantStatus::Init,
            Self::ApplicantInProgress => ApplicantStatus::InProgress,
            Self::ApplicantIncomplete => ApplicantStatus::Incomplete,
            Self::ApplicantInReview => ApplicantStatus::InReview,
            Self::ApplicantRejected => ApplicantStatus::Rejected,
            Self::ApplicantApproved => ApplicantStatus::Approved,
            Self::ApplicantCompleted => ApplicantStatus::Completed,
            Self::ApplicantOnHold => ApplicantStatus::OnHold,
            _ => return None,
        })
    }
}

/// The decrypted webhook payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApplicantEvent {
    /// What happened. The field's name is undocumented: `type`, `event`, `eventName` and
    /// `eventType` are all read *(unconfirmed)*.
    #[serde(
        default,
        rename = "type",
        alias = "event",
        alias = "eventName",
        alias = "eventType"
    )]
    pub event: Option<EventType>,
    /// The applicant's id (a uuid; `id` on the wire).
    #[serde(
        default,
        rename = "id",
        alias = "applicantId",
        deserialize_with = "compliance_core::de::optional_id"
    )]
    pub applicant_id: Option<String>,
    /// Your id for the person.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub external_user_id: Option<String>,
    /// The application.
    #[serde(default)]
    pub app_key: Option<String>,
    /// Warnings.
    #[serde(default, deserialize_with = "de::strings")]
    pub warnings: Vec<String>,
    /// The step, for step events.
    #[serde(default)]
    pub step_name: Option<String>,
    /// The crypto-AML report, for `CRYPTO_AML_STATUS_UPDATED` *(unconfirmed field name)*.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub aml_id: Option<String>,
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The envelope's `time`, as sent. **Not authenticated**: it passed the freshness
    /// window, but a replayed delivery can carry any `time`. Never order or deduplicate by
    /// it.
    pub envelope_time: Timestamp,
    /// The payload (authenticated).
    pub event: ApplicantEvent,
    /// The deduplication key: `elkyc:` and the SHA-256 of the decrypted payload, so every
    /// redelivery and replay of the event has the same key whatever its `time`. (The
    /// payload carries no event id.)
    pub dedup_key: String,
}

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

impl WebhookError {
    /// What to do about the delivery: [`NextStep::DoNotTrust`] (answer 4xx, do not act on
    /// it), except [`NextStep::FixConfiguration`] for a malformed configured key and
    /// [`NextStep::ReportProviderChange`] for an authentic payload that could not be read.
    pub fn next_step(&self) -> NextStep {
        match self {
            WebhookError::Encryption(e) => e.next_step(),
            WebhookError::Payload(_) => NextStep::ReportProviderChange,
            _ => NextStep::DoNotTrust,
        }
    }
}

/// Builds a [`WebhookVerifier`].
pub struct WebhookVerifierBuilder {
    settings: EncryptionSettings,
    options: EncryptionOptions,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifierBuilder")
            .field("settings", &self.settings)
            .field("options", &self.options)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifierBuilder {
    /// The unconfirmed encryption details (defaults per the provider notes).
    pub fn encryption_options(mut self, options: EncryptionOptions) -> Self {
        self.options = options;
        self
    }

    /// How far the envelope's `time` may be from now, either way (default
    /// [`DEFAULT_TOLERANCE`]). Keep it wider than the provider's retry schedule.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock (default the system clock; tests use
    /// [`ManualClock`](compliance_core::webhook::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the keys and builds the receiver.
    pub fn build(self) -> Result<WebhookVerifier, EncryptionError> {
        Ok(WebhookVerifier {
            cipher: Cipher::with_options(&self.settings, self.options)?,
            freshness: Freshness::new(self.tolerance),
            clock: self.clock,
        })
    }
}

/// Verifies and decrypts webhooks, and names their deduplication key. Cheap to clone;
/// build once. It is the [`Verifier`] of [`WebhookProcessor`].
#[derive(Clone)]
pub struct WebhookVerifier {
    cipher: Cipher,
    freshness: Freshness,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("cipher", &self.cipher)
            .field("tolerance", &self.freshness.tolerance())
            .field("clock", &self.clock)
            .finish()
    }
}

impl WebhookVerifier {
    /// Starts building a receiver for an application with these keys.
    pub fn builder(settings: EncryptionSettings) -> WebhookVerifierBuilder {
        WebhookVerifierBuilder {
            settings,
            options: EncryptionOptions::default(),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
        }
    }

    /// Verifies the signature, decrypts, checks `time` against the window and parses the
    /// event. Does not deduplicate (a [`WebhookProcessor`] does).
    ///
    /// `body` is read whole: cap request bodies before calling (an applicant event is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        self.open(headers, body, Some(&self.freshness))
    }

    /// [`verify`](Self::verify), checking `time` against `freshness` only when given (the
    /// durable worker's re-verification of a stored delivery skips it).
    fn open(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        freshness: Option<&Freshness>,
    ) -> Result<WebhookEvent, WebhookError> {
        let envelope: RawEnvelope =
            json::decode("webhook", body).map_err(WebhookError::Malformed)?;
        let data = match envelope.data().map_err(WebhookError::Malformed)? {
            Data::Encrypted(data) => data,
            Data::Plain(_) | Data::Missing => return Err(WebhookError::NotEncrypted),
        };
        let signature = headers
            .get(SIGNATURE_HEADER)
            .map(|v| {
                v.to_str().map_err(|_| EncryptionError::MalformedSignature {
                    expected: "visible ASCII".into(),
                })
            })
            .transpose()?;
        let plaintext = open_encrypted(&self.cipher, &data, signature)?;
        let time = envelope
            .time
            .as_ref()
            .and_then(|t| t.parsed())
            .copied()
            .ok_or(WebhookError::MissingTime)?;
        if let Some(freshness) = freshness {
            freshness.check(time, self.clock.as_ref())?;
        }
        let event: ApplicantEvent =
            json::decode("webhook `data`", &plaintext).map_err(WebhookError::Payload)?;
        let dedup_key = format!("elkyc:{}", const_hex::encode(Sha256::digest(&plaintext)));
        Ok(WebhookEvent {
            envelope_time: time,
            event,
            dedup_key,
        })
    }
}

/// Turns the provider's retried deliveries into exactly-once calls of your handler: a
/// [`compliance_core::webhook::Processor`] with elKYC's [`WebhookVerifier`].
pub type WebhookProcessor = Processor<WebhookVerifier>;

/// The HTTP receiver for elKYC's webhooks (feature `axum`): mount its
/// [`method_router`](compliance_core::webhook::Receiver::method_router) at the
/// application's webhook URL.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub type WebhookReceiver = compliance_core::webhook::Receiver<WebhookVerifier>;

impl Verifier for WebhookVerifier {
    type Event = WebhookEvent;
    type Error = WebhookError;

    /// A delivery without `x-allpass-signature` is refused before its body is read.
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), WebhookError> {
        if request.headers().contains_key(SIGNATURE_HEADER) {
            Ok(())
        } else {
            Err(WebhookError::Encryption(EncryptionError::MissingSignature))
        }
    }

    fn verify_delivery(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<WebhookEvent>, WebhookError> {
        let webhook = self.verify(request.headers(), body)?;
        Ok(Verified::event(webhook.dedup_key.clone(), webhook))
    }

    /// The signature header: durable intake stores it beside the envelope (still
    /// encrypted, as received), so the worker can verify and decrypt it again.
    const KEPT_HEADERS: &'static [&'static str] = &[SIGNATURE_HEADER];

    /// Signature and decryption again, without the freshness window: intake checked it,
    /// and a delivery replayed from dead days later must still process.
    fn reverify(&self, stored: &StoredRequest) -> Result<Verified<WebhookEvent>, WebhookError> {
        let webhook = self.open(&stored.header_map(), stored.body(), None)?;
        Ok(Verified::event(webhook.dedup_key.clone(), webhook))
    }
}

impl Rejection for WebhookError {
    fn kind(&self) -> RejectionKind {
        match self {
            WebhookError::NotEncrypted | WebhookError::Encryption(_) => {
                RejectionKind::Unauthenticated
            }
            _ => RejectionKind::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_event_maps_to_a_status() {
        assert_eq!(
            EventType::ApplicantApproved.applicant_status(),
            Some(ApplicantStatus::Approved)
        );
        assert_eq!(EventType::ApplicantStepPassed.applicant_status(), None);
        assert_eq!(
            EventType::from("applicantArchived").applicant_status(),
            None
        );
        let mapped = EventType::KNOWN
            .iter()
            .filter(|e| EventType::from(**e).applicant_status().is_some())
            .count();
        assert_eq!(mapped, 8);
    }

    #[test]
    fn event_field_aliases_and_unknown_events_parse() {
        for field in ["type", "event", "eventName", "eventType"] {
            let e: ApplicantEvent = serde_json::from_str(&format!(
                r#"{{"{field}":"applicantOnHold","id":"u-1","warnings":null}}"#
            ))
            .unwrap();
            assert_eq!(e.event, Some(EventType::ApplicantOnHold), "{field}");
            assert_eq!(e.applicant_id.as_deref(), Some("u-1"));
        }
        let e: ApplicantEvent =
            serde_json::from_str(r#"{"type":"applicantTeleported","extra":1}"#).unwrap();
        assert_eq!(
            e.event,
            Some(EventType::Unknown("applicantTeleported".into()))
        );
    }
}
