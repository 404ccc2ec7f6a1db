//! What a verified elKYC webhook is: the event names, the decrypted applicant event, and the
//! verified delivery with its deduplication key.

use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::applicant::ApplicantStatus;
use crate::de;

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
