//! Webhooks: raw headers and body in, a verified, fresh, deduplicated [`ApplicantEvent`] out.
//!
//! The provider posts the usual envelope with `data` encrypted under the application's
//! keys and the HMAC or GCM tag in `x-allpass-signature`. It expects HTTP 200; anything
//! else is retried after 30 s with exponential back-off, 10 attempts, so a delivery can
//! arrive more than once and handlers must be idempotent: [`WebhookReceiver::handle`]
//! deduplicates through a [`compliance_core::Inbox`].
//!
//! A webhook without encryption cannot be authenticated and is refused.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use compliance_core::http::HeaderMap;
use compliance_core::inbox::{Claim, Inbox, InboxError};
use compliance_core::time::Timestamp;
use compliance_core::webhook::{Clock, Freshness, FreshnessError, SystemClock};
use compliance_core::{Error as CoreError, json};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::applicant::ApplicantStatus;
use crate::crypto::{Cipher, CryptoError, CryptoOptions, EncryptionSettings, SIGNATURE_HEADER};
use crate::de;
use crate::envelope::{Data, RawEnvelope, open_encrypted};

/// The default freshness window for the envelope's `time`: 5 minutes either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

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
        deserialize_with = "de::id"
    )]
    pub applicant_id: Option<String>,
    /// Your id for the person.
    #[serde(default, deserialize_with = "de::id")]
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
    #[serde(default, deserialize_with = "de::id")]
    pub aml_id: Option<String>,
}

/// A verified, fresh webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The envelope's `time`.
    pub time: Timestamp,
    /// The payload.
    pub event: ApplicantEvent,
    /// The deduplication key: `elkyc:` and the SHA-256 of `time` and the decrypted payload,
    /// so a redelivery of the same webhook has the same key.
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
    Crypto(#[from] CryptoError),
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
    /// The inbox failed.
    #[error(transparent)]
    Inbox(#[from] InboxError),
}

/// What [`WebhookReceiver::handle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// The handler ran and succeeded; answer 200.
    Processed,
    /// Already processed before; answer 200 without doing anything.
    Duplicate,
    /// Another worker is processing this delivery right now; answer 409 so the provider
    /// retries later.
    InProgress,
}

impl Handled {
    /// The HTTP status to answer the provider with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Processed | Self::Duplicate => 200,
            Self::InProgress => 409,
        }
    }
}

/// Why [`WebhookReceiver::handle`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError<E> {
    /// The webhook was refused (or the inbox failed); nothing was processed.
    #[error(transparent)]
    Rejected(#[from] WebhookError),
    /// The handler failed; the delivery was released so the provider's retry is processed.
    /// Answer 500.
    #[error("webhook handler failed: {0}")]
    Handler(E),
}

/// Builds a [`WebhookReceiver`].
pub struct WebhookReceiverBuilder {
    settings: EncryptionSettings,
    options: CryptoOptions,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiverBuilder")
            .field("settings", &self.settings)
            .field("options", &self.options)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookReceiverBuilder {
    /// The unconfirmed encryption details (defaults per the provider notes).
    pub fn crypto_options(mut self, options: CryptoOptions) -> Self {
        self.options = options;
        self
    }

    /// How far `time` may be from now, either way (default [`DEFAULT_TOLERANCE`]).
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
    pub fn build(self) -> Result<WebhookReceiver, CryptoError> {
        Ok(WebhookReceiver {
            cipher: Cipher::with_options(&self.settings, self.options)?,
            freshness: Freshness::new(self.tolerance),
            clock: self.clock,
        })
    }
}

/// Verifies, decrypts and deduplicates webhooks. Cheap to clone; build once.
#[derive(Clone)]
pub struct WebhookReceiver {
    cipher: Cipher,
    freshness: Freshness,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("cipher", &self.cipher)
            .field("tolerance", &self.freshness.tolerance())
            .field("clock", &self.clock)
            .finish()
    }
}

impl WebhookReceiver {
    /// Starts building a receiver for an application with these keys.
    pub fn builder(settings: EncryptionSettings) -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            settings,
            options: CryptoOptions::default(),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
        }
    }

    /// Verifies the signature, decrypts, checks `time` against the window and parses the
    /// event. Does not deduplicate (see [`handle`](Self::handle)).
    ///
    /// `body` is read whole: cap request bodies before calling (an applicant event is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let envelope: RawEnvelope =
            json::decode("webhook", body).map_err(WebhookError::Malformed)?;
        let data = match envelope.data().map_err(WebhookError::Malformed)? {
            Data::Encrypted(data) => data,
            Data::Plain(_) | Data::Missing => return Err(WebhookError::NotEncrypted),
        };
        let signature = headers
            .get(SIGNATURE_HEADER)
            .map(|v| {
                v.to_str().map_err(|_| CryptoError::MalformedSignature {
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
        self.freshness.check(time, self.clock.as_ref())?;
        let event: ApplicantEvent =
            json::decode("webhook `data`", &plaintext).map_err(WebhookError::Payload)?;
        let mut hasher = Sha256::new();
        hasher.update(time.to_string().as_bytes());
        hasher.update([0u8]);
        hasher.update(&plaintext);
        let dedup_key = format!("elkyc:{}", hex::encode(hasher.finalize()));
        Ok(WebhookEvent {
            time,
            event,
            dedup_key,
        })
    }

    /// Verifies the webhook, then runs `handler` exactly once per delivery: a duplicate is
    /// acknowledged without running it, a failed handler releases the claim so the
    /// provider's retry runs it again.
    ///
    /// ```no_run
    /// # async fn demo(receiver: kyc_public_api::WebhookReceiver,
    /// #   headers: kyc_public_api::HeaderMap, body: Vec<u8>) {
    /// use compliance_core::MemoryInbox;
    /// let inbox = MemoryInbox::new();
    /// let outcome = receiver
    ///     .handle(&headers, &body, &inbox, async |webhook| {
    ///         println!("{:?} for {:?}", webhook.event.event, webhook.event.external_user_id);
    ///         Ok::<(), std::io::Error>(())
    ///     })
    ///     .await;
    /// let status = match outcome {
    ///     Ok(handled) => handled.http_status(),
    ///     Err(kyc_public_api::webhook::HandleError::Rejected(_)) => 400,
    ///     Err(_) => 500,
    /// };
    /// # let _ = status; }
    /// ```
    pub async fn handle<I, F, E>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        inbox: &I,
        handler: F,
    ) -> Result<Handled, HandleError<E>>
    where
        I: Inbox + ?Sized,
        F: AsyncFnOnce(WebhookEvent) -> Result<(), E>,
    {
        let webhook = self.verify(headers, body)?;
        let key = webhook.dedup_key.clone();
        let token = match inbox.claim(&key).await.map_err(WebhookError::from)? {
            Claim::Acquired(token) => token,
            Claim::AlreadyDone => return Ok(Handled::Duplicate),
            Claim::InProgress => return Ok(Handled::InProgress),
            _ => return Ok(Handled::InProgress),
        };
        match handler(webhook).await {
            Ok(()) => {
                inbox
                    .complete(&key, &token)
                    .await
                    .map_err(WebhookError::from)?;
                Ok(Handled::Processed)
            }
            Err(e) => {
                // The handler's error is what matters; a failed release only delays the
                // retry until the lease runs out.
                let _ = inbox.release(&key, &token).await;
                Err(HandleError::Handler(e))
            }
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
