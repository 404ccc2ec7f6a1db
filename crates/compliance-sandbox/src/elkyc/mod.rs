//! elKYC / Allpass: the ten Open API endpoints behind `x-private-app-key`, applicants with
//! seeded ids moving through statuses and flows, schedule-deletion and restore, verification
//! tokens, questionnaires, crypto-AML reports, responses in the application's encryption
//! mode, and encrypted, signed webhooks on every applicant event, retried on the provider's
//! documented schedule (30 s, exponential, 10 retries) until the receiver answers 200.
//!
//! Checks, as elKYC does them: a missing or wrong `x-private-app-key` → 401
//! `{"statusCode":401,"message":"Unauthorized"}` (NestJS); body validation → 400
//! `{"statusCode":400,"message":[...],"error":"Bad Request"}`; business errors (duplicate
//! `externalUserId`, unknown flow, applicant, questionnaire or report) →
//! `{"status":false,"statusCode":..,"error":"..","time":..}`. Successful answers are the
//! envelope `{status, statusCode, data, time}`; `statusCode` in the body is 200 even when
//! the HTTP status is 201, as the provider's examples show.
//!
//! What the documentation leaves open is a setting of [`ElkycConfig`], each with the readings
//! a client may reasonably make: the encryption details ([`ElkycCrypto`]), whether the
//! application takes plain or encrypted request bodies ([`RequestEncryption`]), and the
//! webhook member naming the event ([`EventField`]). The encryption is this crate's own
//! (RustCrypto), written from the documentation, not the client's.
//!
//! Each crypto-AML search creates a new report (a new id, as a billed provider would); the
//! report's content is a pure function of the blockchain and the address or hash, so the
//! same target always gets the same [`risk_score`].
//!
//! Layout (the same in every simulator): this module holds the state and the Rust control
//! API, `api` the provider's HTTP API, `control` the `/sandbox/elkyc/...` routes,
//! [`crypto`] the encryption, `report` the crypto-AML reports, `webhook` what it sends.

mod api;
mod control;
pub mod crypto;
mod report;
pub mod webhook;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

pub use crypto::{
    ElkycCrypto, GcmNonceLength, HmacKeyBytes, MacHash, MacInput, NoncePlacement, Refusal,
    SIGNATURE_HEADER, Sealer, SignatureEncoding,
};
pub use report::risk_score;

use crate::delivery::{Delivery, DeliveryLog, Outbox, RetrySchedule};
use crate::ids::Ids;

/// How the simulated application encrypts responses and webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EncryptionMode {
    /// No encryption: `data` is plain JSON (the docs' examples). Webhooks are sent plain
    /// too, and a receiver that authenticates them rightly refuses them.
    Plain,
    /// AES-256-CBC with an HMAC in `x-allpass-signature` (the default).
    #[default]
    Cbc,
    /// AES-256-GCM with the tag in `x-allpass-signature`.
    Gcm,
}

/// Which request bodies the application accepts *(unconfirmed: the documentation says
/// requests "may be" encrypted; every request example is plain JSON)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RequestEncryption {
    /// Plain JSON only, as every example in the documentation (the default). An encrypted
    /// body is not decrypted: it fails validation like any other wrong body.
    #[default]
    Plain,
    /// Encrypted only (`{"data":"<hex>"}` plus `x-allpass-signature`), as a dashboard
    /// setting could require; a plain body is refused with 400.
    Encrypted,
    /// Either.
    Either,
}

/// The webhook payload member that names the event *(undocumented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum EventField {
    /// `type` (the default).
    #[default]
    Type,
    /// `event`.
    Event,
    /// `eventName` (as the crypto-AML timeline names its events).
    EventName,
    /// `eventType`.
    EventType,
}

impl EventField {
    /// The member's name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventField::Type => "type",
            EventField::Event => "event",
            EventField::EventName => "eventName",
            EventField::EventType => "eventType",
        }
    }
}

/// Settings of the simulated elKYC.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ElkycConfig {
    /// The application's encryption method (default CBC).
    pub encryption: EncryptionMode,
    /// The readings of the unconfirmed encryption details.
    pub crypto: ElkycCrypto,
    /// Which request bodies are accepted (default plain only).
    pub requests: RequestEncryption,
    /// The webhook member naming the event (default `type`).
    pub event_field: EventField,
    /// Where webhooks go from the start (none by default).
    pub webhook_url: Option<String>,
    /// When an unanswered webhook is tried again ([`RetrySchedule::elkyc`]).
    pub webhook_retries: RetrySchedule,
}

impl Default for ElkycConfig {
    fn default() -> Self {
        Self {
            encryption: EncryptionMode::default(),
            crypto: ElkycCrypto::default(),
            requests: RequestEncryption::default(),
            event_field: EventField::default(),
            webhook_url: None,
            webhook_retries: RetrySchedule::elkyc(),
        }
    }
}

impl ElkycConfig {
    /// Sets the encryption mode.
    pub fn encryption(mut self, mode: EncryptionMode) -> Self {
        self.encryption = mode;
        self
    }

    /// Sets the readings of the encryption details.
    pub fn crypto(mut self, crypto: ElkycCrypto) -> Self {
        self.crypto = crypto;
        self
    }

    /// Sets which request bodies are accepted.
    pub fn requests(mut self, requests: RequestEncryption) -> Self {
        self.requests = requests;
        self
    }

    /// Sets the webhook member naming the event.
    pub fn event_field(mut self, field: EventField) -> Self {
        self.event_field = field;
        self
    }

    /// Sets the webhook URL.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sets the webhook retry schedule.
    pub fn webhook_retries(mut self, schedule: RetrySchedule) -> Self {
        self.webhook_retries = schedule;
        self
    }
}

/// A verification flow of the simulated application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElkycFlow {
    /// Numeric id (sent as a string to `moveToFlow`).
    pub id: u64,
    /// Name (what `flowName` refers to).
    pub name: String,
    /// Steps.
    pub services: Vec<String>,
}

/// What a client needs to talk to the simulated elKYC. The keys are sandbox keys, but
/// `Debug` still redacts them.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElkycCredentials {
    /// The application's private key, sent as `x-private-app-key`.
    pub api_key: String,
    /// The application's key, as in `applications.appKey` and webhooks' `appKey`.
    pub app_key: String,
    /// The organisation's `clientKey`.
    pub client_key: String,
    /// The encryption mode in force.
    pub encryption: EncryptionMode,
    /// The readings of the encryption details in force.
    pub crypto: ElkycCrypto,
    /// Which request bodies are accepted.
    pub requests: RequestEncryption,
    /// The secret ("crypto") key: 32 bytes, hex.
    pub secret_key: String,
    /// The HMAC key (CBC): 32 bytes, hex.
    pub hmac_key: String,
    /// The application's flows.
    pub flows: Vec<ElkycFlow>,
    /// Ids of the questionnaires `GET /api/public/questionnaire/{id}` serves.
    pub questionnaire_ids: Vec<String>,
}

impl fmt::Debug for ElkycCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElkycCredentials")
            .field("api_key", &"[redacted]")
            .field("app_key", &self.app_key)
            .field("client_key", &self.client_key)
            .field("encryption", &self.encryption)
            .field("crypto", &self.crypto)
            .field("requests", &self.requests)
            .field("secret_key", &"[redacted]")
            .field("hmac_key", &"[redacted]")
            .field("flows", &self.flows)
            .field("questionnaire_ids", &self.questionnaire_ids)
            .finish()
    }
}

/// An applicant's status, as the dashboard names them (`SCREAMING_SNAKE_CASE` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ApplicantStatus {
    /// Created.
    Init,
    /// The person started.
    InProgress,
    /// More data needed.
    Incomplete,
    /// Waiting for a reviewer.
    InReview,
    /// Rejected (final).
    Rejected,
    /// Approved (final).
    Approved,
    /// Every step done.
    Completed,
    /// On hold.
    OnHold,
}

impl ApplicantStatus {
    /// Every status.
    pub const ALL: [ApplicantStatus; 8] = [
        Self::Init,
        Self::InProgress,
        Self::Incomplete,
        Self::InReview,
        Self::Rejected,
        Self::Approved,
        Self::Completed,
        Self::OnHold,
    ];

    /// The wire value (`IN_REVIEW`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::InProgress => "IN_PROGRESS",
            Self::Incomplete => "INCOMPLETE",
            Self::InReview => "IN_REVIEW",
            Self::Rejected => "REJECTED",
            Self::Approved => "APPROVED",
            Self::Completed => "COMPLETED",
            Self::OnHold => "ON_HOLD",
        }
    }

    /// The webhook event announcing this status (`applicantInReview`).
    pub fn event(self) -> &'static str {
        match self {
            Self::Init => "applicantCreated",
            Self::InProgress => "applicantInProgress",
            Self::Incomplete => "applicantIncomplete",
            Self::InReview => "applicantInReview",
            Self::Rejected => "applicantRejected",
            Self::Approved => "applicantApproved",
            Self::Completed => "applicantCompleted",
            Self::OnHold => "applicantOnHold",
        }
    }

    fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected)
    }
}

impl fmt::Display for ApplicantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApplicantStatus {
    type Err = ElkycSandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| ElkycSandboxError::InvalidTransition(format!("no status `{s}`")))
    }
}

/// An applicant as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxApplicant {
    /// The provider's id (a seeded uuid).
    pub id: String,
    /// The caller's id.
    pub external_user_id: String,
    /// Current status.
    pub status: ApplicantStatus,
    /// Current flow's id.
    pub flow_id: u64,
    /// Current flow's name.
    pub flow_name: String,
    /// When it will be deleted, if scheduled.
    pub scheduled_deletion_date: Option<Timestamp>,
    /// Creation.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// What one webhook of the simulated elKYC was about (the facts of an [`ElkycDelivery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElkycWebhookSent {
    /// The event (`applicantCreated`, `applicantApproved`...).
    pub event: String,
    /// The applicant's id.
    pub applicant_id: String,
    /// The applicant's external id.
    pub external_user_id: String,
    /// The status the event announces.
    pub status: ApplicantStatus,
    /// The envelope's `time`.
    pub time: Timestamp,
    /// Whether `data` was encrypted and signed.
    pub encrypted: bool,
}

/// One webhook the simulated elKYC sent, with every attempt so far (none when no webhook
/// URL is set).
pub type ElkycDelivery = Delivery<ElkycWebhookSent>;

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElkycSandboxError {
    /// No applicant with that id or external id.
    #[error("no applicant `{0}`")]
    UnknownApplicant(String),
    /// A move the provider does not make (out of a final status, back to `INIT`, to the
    /// same status).
    #[error("{0}")]
    InvalidTransition(String),
}

#[derive(Debug, Clone)]
struct Applicant {
    id: String,
    external_user_id: String,
    status: ApplicantStatus,
    flow_id: u64,
    phone: Option<String>,
    email: Option<String>,
    lang: Option<String>,
    review_id: String,
    review_version: u32,
    created_at: Timestamp,
    updated_at: Timestamp,
    scheduled_deletion: Option<Timestamp>,
}

#[derive(Debug)]
struct Inner {
    creds: ElkycCredentials,
    event_field: EventField,
    webhook_url: Option<String>,
    applicants: Vec<Applicant>,
    reports: HashMap<String, report::Report>,
    questionnaires: Vec<(String, &'static str)>,
    /// The `time` of the last webhook: the next one is at least a millisecond later.
    last_webhook_time: Option<Timestamp>,
}

/// The simulated elKYC / Allpass; cheap to clone.
#[derive(Debug, Clone)]
pub struct Elkyc {
    inner: Arc<Mutex<Inner>>,
    ids: Ids,
    seed: u64,
    retries: Arc<RetrySchedule>,
    outbox: Outbox,
    deliveries: DeliveryLog<ElkycWebhookSent>,
}

fn flows() -> Vec<ElkycFlow> {
    let services = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect();
    vec![
        ElkycFlow {
            id: 1,
            name: "basic-kyc".into(),
            services: services(&["DOCUMENT_CAPTURE", "PASSIVE_LIVENESS", "FACE_MATCH"]),
        },
        ElkycFlow {
            id: 2,
            name: "enhanced-kyc".into(),
            services: services(&[
                "DOCUMENT_CAPTURE",
                "PASSIVE_LIVENESS",
                "FACE_MATCH",
                "QUESTIONNAIRE",
            ]),
        },
    ]
}

impl Elkyc {
    pub(crate) fn new(config: ElkycConfig, seed: u64, outbox: Outbox) -> Self {
        let ids = Ids::new(seed ^ 0xe14c_0000);
        let questionnaires = ["sof", "pep"]
            .iter()
            .map(|kind| (ids.uuid(), *kind))
            .collect::<Vec<_>>();
        let creds = ElkycCredentials {
            api_key: format!("pk_sandbox_{}", ids.hex(16)),
            app_key: ids.uuid(),
            client_key: ids.hex(8),
            encryption: config.encryption,
            crypto: config.crypto,
            requests: config.requests,
            secret_key: ids.hex(32),
            hmac_key: ids.hex(32),
            flows: flows(),
            questionnaire_ids: questionnaires.iter().map(|(id, _)| id.clone()).collect(),
        };
        Self {
            inner: Arc::new(Mutex::new(Inner {
                creds,
                event_field: config.event_field,
                webhook_url: config.webhook_url,
                applicants: Vec::new(),
                reports: HashMap::new(),
                questionnaires,
                last_webhook_time: None,
            })),
            ids,
            seed,
            retries: Arc::new(config.webhook_retries),
            outbox,
            deliveries: DeliveryLog::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keys, settings, flows and questionnaires of the simulated application.
    pub fn credentials(&self) -> ElkycCredentials {
        self.lock().creds.clone()
    }

    /// Switches the encryption mode of responses and webhooks (the keys stay the same).
    pub fn set_encryption(&self, mode: EncryptionMode) {
        self.lock().creds.encryption = mode;
    }

    /// Switches the readings of the encryption details.
    pub fn set_crypto(&self, crypto: ElkycCrypto) {
        self.lock().creds.crypto = crypto;
    }

    /// Switches which request bodies are accepted.
    pub fn set_requests(&self, requests: RequestEncryption) {
        self.lock().creds.requests = requests;
    }

    /// Sets where webhooks go.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.lock().webhook_url = Some(url.into());
    }

    /// Stops sending webhooks.
    pub fn clear_webhook_url(&self) {
        self.lock().webhook_url = None;
    }

    /// Every applicant, in creation order.
    pub fn applicants(&self) -> Vec<SandboxApplicant> {
        let inner = self.lock();
        inner
            .applicants
            .iter()
            .map(|a| snapshot(&inner.creds, a))
            .collect()
    }

    /// Every webhook sent so far, in order, with its attempts.
    pub fn deliveries(&self) -> Vec<ElkycDelivery> {
        self.deliveries.all()
    }

    /// Waits until every webhook being retried is delivered or out of attempts. With the
    /// real clock that is the provider's whole schedule (hours); tests give the sandbox an
    /// [`InstantSleeper`](crate::InstantSleeper).
    pub async fn settle_webhooks(&self) {
        self.outbox.settle().await;
    }

    /// Moves an applicant (by id or external id) to `status`, as a reviewer or the person
    /// would, and sends the matching webhook (`applicantInProgress`, `applicantApproved`...).
    /// Returns the delivery after its first attempt.
    pub async fn set_status(
        &self,
        applicant: &str,
        status: ApplicantStatus,
    ) -> Result<ElkycDelivery, ElkycSandboxError> {
        if status == ApplicantStatus::Init {
            return Err(ElkycSandboxError::InvalidTransition(
                "an applicant cannot be moved back to `INIT`".into(),
            ));
        }
        let current = {
            let mut inner = self.lock();
            let index = inner
                .applicants
                .iter()
                .position(|a| a.id == applicant)
                .or_else(|| {
                    inner
                        .applicants
                        .iter()
                        .position(|a| a.external_user_id == applicant)
                })
                .ok_or_else(|| ElkycSandboxError::UnknownApplicant(applicant.to_owned()))?;
            let a = &mut inner.applicants[index];
            if a.status.is_final() {
                return Err(ElkycSandboxError::InvalidTransition(format!(
                    "applicant `{applicant}` is already {} (final)",
                    a.status
                )));
            }
            if a.status == status {
                return Err(ElkycSandboxError::InvalidTransition(format!(
                    "applicant `{applicant}` is already {status}"
                )));
            }
            a.status = status;
            a.updated_at = Timestamp::now();
            a.review_version += 1;
            a.clone()
        };
        Ok(self.send_webhook(&current).await)
    }
}

fn snapshot(creds: &ElkycCredentials, a: &Applicant) -> SandboxApplicant {
    SandboxApplicant {
        id: a.id.clone(),
        external_user_id: a.external_user_id.clone(),
        status: a.status,
        flow_id: a.flow_id,
        flow_name: creds
            .flows
            .iter()
            .find(|f| f.id == a.flow_id)
            .map(|f| f.name.clone())
            .unwrap_or_default(),
        scheduled_deletion_date: a.scheduled_deletion,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_keys() {
        let outbox = Outbox::new(std::sync::Arc::new(crate::InstantSleeper));
        let creds = Elkyc::new(ElkycConfig::default(), 9, outbox).credentials();
        let debug = format!("{creds:?}");
        assert!(!debug.contains(&creds.api_key), "{debug}");
        assert!(!debug.contains(&creds.secret_key), "{debug}");
        assert!(!debug.contains(&creds.hmac_key), "{debug}");
        assert_eq!(creds.secret_key.len(), 64);
    }

    #[test]
    fn statuses_round_trip_and_name_their_events() {
        for status in ApplicantStatus::ALL {
            assert_eq!(status.as_str().parse::<ApplicantStatus>().unwrap(), status);
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
            assert!(status.event().starts_with("applicant"));
        }
    }
}
