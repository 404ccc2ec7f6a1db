//! What elKYC sends: the envelope around every answer and webhook (`data` encrypted in the
//! application's mode, its HMAC or tag in `x-allpass-signature`), and the applicant
//! webhooks, retried on the provider's schedule until the receiver answers 200.
//!
//! Public so that a tool can send the webhook the simulator sends without a running sandbox
//! (the `compliance trigger elkyc ...` command): [`WebhookPayload`] is the payload the
//! provider notes document, [`envelope`] wraps and seals it, and [`APPLICANT_EVENTS`] lists
//! the documented events.

use compliance_core::time::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::crypto::{Refusal, SIGNATURE_HEADER, Sealer};
use super::{Applicant, Elkyc, ElkycDelivery, ElkycWebhookSent, EncryptionMode, EventField};
use crate::delivery::Outgoing;

/// The applicant events the provider documents, in its order. The first eight announce a
/// status ([`ApplicantStatus::event`](super::ApplicantStatus::event)); the simulator sends
/// those on every status change.
pub const APPLICANT_EVENTS: [&str; 14] = [
    "applicantCreated",
    "applicantInProgress",
    "applicantIncomplete",
    "applicantInReview",
    "applicantRejected",
    "applicantApproved",
    "applicantCompleted",
    "applicantOnHold",
    "applicantStepPassed",
    "applicantDuplicateDocument",
    "applicantDuplicateEmail",
    "applicantDuplicatePhone",
    "expiredDocument",
    "additionalDocumentStepError",
];

/// The provider's millisecond UTC times (`2021-08-20T14:52:33.648Z`).
pub(super) fn iso(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// The envelope, members in the documented order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    status: bool,
    status_code: u16,
    data: &'a Value,
    time: String,
}

/// An applicant webhook's payload, as documented: the event, the applicant's `id`,
/// `externalUserId` and `appKey`, `warnings`, and `stepName` for step events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookPayload {
    /// The event (`applicantApproved`; see [`APPLICANT_EVENTS`]).
    pub event: String,
    /// The applicant's id (a uuid).
    pub applicant_id: String,
    /// The application's id for the person.
    pub external_user_id: String,
    /// The application.
    pub app_key: String,
    /// Warnings (sent as `[]` when there are none).
    pub warnings: Vec<String>,
    /// The step, for step events (`applicantStepPassed`, `additionalDocumentStepError`).
    pub step_name: Option<String>,
}

impl WebhookPayload {
    /// `event` about applicant `applicant_id` / `external_user_id` of application `app_key`.
    pub fn new(
        event: impl Into<String>,
        applicant_id: impl Into<String>,
        external_user_id: impl Into<String>,
        app_key: impl Into<String>,
    ) -> Self {
        Self {
            event: event.into(),
            applicant_id: applicant_id.into(),
            external_user_id: external_user_id.into(),
            app_key: app_key.into(),
            warnings: Vec::new(),
            step_name: None,
        }
    }

    /// Sets the step name.
    pub fn step_name(mut self, step: impl Into<String>) -> Self {
        self.step_name = Some(step.into());
        self
    }

    /// The payload as JSON, the event named by `field` *(the member's name is undocumented)*.
    pub fn to_json(&self, field: EventField) -> Value {
        let mut payload = Map::new();
        payload.insert(field.as_str().into(), json!(self.event));
        payload.insert("id".into(), json!(self.applicant_id));
        payload.insert("externalUserId".into(), json!(self.external_user_id));
        payload.insert("appKey".into(), json!(self.app_key));
        payload.insert("warnings".into(), json!(self.warnings));
        if let Some(step) = &self.step_name {
            payload.insert("stepName".into(), json!(step));
        }
        Value::Object(payload)
    }
}

/// The envelope `{status, statusCode, data, time}` around `data`, stamped with `time`:
/// plain when `sealer` is `None` or its mode is plain, otherwise `data` sealed with `iv`
/// ([`Sealer::iv_len`] bytes; fresh random bytes with real keys). Returns the body and,
/// when sealed, the `x-allpass-signature` value.
pub fn envelope(
    data: &Value,
    time: Timestamp,
    sealer: Option<&Sealer<'_>>,
    iv: &[u8],
) -> Result<(Vec<u8>, Option<String>), Refusal> {
    let (data, signature) = match sealer.filter(|s| s.mode != EncryptionMode::Plain) {
        None => (data.clone(), None),
        Some(sealer) => {
            let plaintext = serde_json::to_vec(data).map_err(|_| Refusal::Malformed)?;
            let (hex, signature) = sealer.seal(&plaintext, iv)?;
            (Value::String(hex), Some(signature))
        }
    };
    let body = serde_json::to_vec(&Envelope {
        status: true,
        status_code: 200,
        data: &data,
        time: iso(time),
    })
    .map_err(|_| Refusal::Malformed)?;
    Ok((body, signature))
}

impl Elkyc {
    /// The envelope around `data`, sealed in the application's mode: the body and, when
    /// encrypted, the `x-allpass-signature` value.
    pub(super) fn seal(
        &self,
        data: &Value,
        time: Timestamp,
    ) -> Result<(Vec<u8>, Option<String>), Refusal> {
        let creds = self.credentials();
        let sealer = Sealer {
            mode: creds.encryption,
            crypto: creds.crypto,
            secret_key: &creds.secret_key,
            hmac_key: &creds.hmac_key,
        };
        let iv = match creds.encryption {
            EncryptionMode::Plain => Vec::new(),
            _ => self.ids.bytes_vec(sealer.iv_len()),
        };
        envelope(data, time, Some(&sealer), &iv)
    }

    /// Sends the webhook announcing `a`'s status; returns it after the first attempt.
    pub(super) async fn send_webhook(&self, a: &Applicant) -> ElkycDelivery {
        let (url, app_key, field, time, encrypted) = {
            let mut inner = self.lock();
            // Webhooks carry millisecond times: two events in one millisecond get distinct
            // times, as a provider stamping each event would give them.
            let mut time = Timestamp::now();
            if let Some(last) = inner.last_webhook_time {
                let next = last
                    .saturating_add(SignedDuration::from_millis(1))
                    .unwrap_or(last);
                if time < next {
                    time = next;
                }
            }
            inner.last_webhook_time = Some(time);
            (
                inner.webhook_url.clone(),
                inner.creds.app_key.clone(),
                inner.event_field,
                time,
                inner.creds.encryption != EncryptionMode::Plain,
            )
        };
        let event = a.status.event();
        let payload =
            WebhookPayload::new(event, &a.id, &a.external_user_id, app_key).to_json(field);
        let sent = ElkycWebhookSent {
            event: event.to_owned(),
            applicant_id: a.id.clone(),
            external_user_id: a.external_user_id.clone(),
            status: a.status,
            time,
            encrypted,
        };
        let out = match url {
            Some(url) => self.seal(&payload, time).ok().map(|(body, signature)| {
                let headers = signature
                    .map(|s| vec![(SIGNATURE_HEADER.to_owned(), s)])
                    .unwrap_or_default();
                Outgoing { url, body, headers }
            }),
            None => None,
        };
        self.deliveries
            .send(&self.outbox, sent, out, &self.retries)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elkyc::ElkycCrypto;

    #[test]
    fn payloads_and_envelopes_as_documented() {
        let payload = WebhookPayload::new("applicantStepPassed", "a-1", "user-1", "app-1")
            .step_name("DOCUMENT_CAPTURE")
            .to_json(EventField::Type);
        assert_eq!(
            payload,
            json!({"type": "applicantStepPassed", "id": "a-1", "externalUserId": "user-1",
                   "appKey": "app-1", "warnings": [], "stepName": "DOCUMENT_CAPTURE"})
        );
        let named = WebhookPayload::new("applicantApproved", "a-1", "u", "k")
            .to_json(EventField::EventName);
        assert_eq!(named["eventName"], "applicantApproved");
        assert!(named.get("type").is_none() && named.get("stepName").is_none());
        let time: Timestamp = "2025-01-02T03:04:05.678Z".parse().unwrap();
        let (plain, none) = envelope(&payload, time, None, &[]).unwrap();
        assert_eq!(none, None);
        assert!(
            String::from_utf8(plain)
                .unwrap()
                .ends_with(r#""time":"2025-01-02T03:04:05.678Z"}"#)
        );

        let key = "11".repeat(32);
        let sealer = Sealer {
            mode: EncryptionMode::Gcm,
            crypto: ElkycCrypto::default(),
            secret_key: &key,
            hmac_key: "",
        };
        let (body, signature) = envelope(&payload, time, Some(&sealer), &[9; 12]).unwrap();
        let sent: Value = serde_json::from_slice(&body).unwrap();
        let opened = sealer
            .open(sent["data"].as_str().unwrap(), &signature.unwrap())
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&opened).unwrap(), payload);
        assert_eq!(
            envelope(&payload, time, Some(&sealer), &[9; 5]),
            Err(Refusal::Malformed)
        );
    }
}
