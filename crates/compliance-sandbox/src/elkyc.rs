//! elKYC / Allpass: the ten Open API endpoints behind `x-private-app-key`, applicants with
//! seeded ids moving through statuses and flows, schedule-deletion and restore, verification
//! tokens, questionnaires, deterministic crypto-AML reports, responses in the application's
//! encryption mode, and encrypted, signed webhooks on every applicant event.
//!
//! Checks, as elKYC does them: a missing or wrong `x-private-app-key` → 401
//! `{"statusCode":401,"message":"Unauthorized"}` (NestJS); body validation → 400
//! `{"statusCode":400,"message":[...],"error":"Bad Request"}`; business errors (duplicate
//! `externalUserId`, unknown flow, applicant, questionnaire or report) →
//! `{"status":false,"statusCode":..,"error":"..","time":..}`. Successful answers are the
//! envelope `{status, statusCode, data, time}`; `statusCode` in the body is 200 even when
//! the HTTP status is 201, as the provider's examples show.
//!
//! Encryption ([`EncryptionMode`]) goes through [`kyc_public_api::crypto::Cipher`] and
//! [`kyc_public_api::envelope::Envelope`], with their default options: in CBC and GCM modes
//! every response's `data` is the encrypted hex string and its HMAC or tag is sent in
//! `x-allpass-signature`. Requests may come plain or encrypted (`{"data":"<hex>"}` plus
//! `x-allpass-signature`); an encrypted one that fails verification is refused with 401
//! `{"statusCode":401,"message":"Invalid signature","error":"Unauthorized"}`.
//!
//! Webhooks go to the URL set with [`Elkyc::set_webhook_url`] on applicant creation and
//! on every status change ([`Elkyc::set_status`]): the same envelope, `data` encrypted, with
//! `type`, `id`, `externalUserId`, `appKey` and `warnings`, exactly what
//! `kyc_public_api::WebhookVerifier` accepts. They are delivered once (the real provider
//! retries non-200 answers over hours; the sandbox records the answer instead). In
//! [`EncryptionMode::Plain`] they are sent plain, which a `WebhookVerifier` rightly refuses.
//!
//! Crypto-AML reports are a pure function of the blockchain and the address or hash: the
//! same search gives the same report id (for a given seed) and the same [`risk_score`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use compliance_core::http::HttpClient;
use compliance_core::time::{SignedDuration, Timestamp};
use kyc_public_api::crypto::{Cipher, EncryptionSettings, SIGNATURE_HEADER};
use kyc_public_api::envelope::Envelope;
use kyc_public_api::{ApplicantStatus, EventType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ids::{self, Ids};

/// The API key header elKYC checks.
const API_KEY_HEADER: &str = "x-private-app-key";
/// The largest token lifetime the provider accepts, in seconds.
const MAX_TTL: u64 = 3_153_600_000;
/// Token lifetime when the request names none *(the provider does not document it)*.
const DEFAULT_TTL: u64 = 1800;
/// How long after scheduling an applicant is deleted.
const RETENTION_DAYS: i64 = 30;
/// Blockchains the simulated search accepts (the provider's full list is unpublished).
const BLOCKCHAINS: &[&str] = &[
    "BTC", "ETH", "LTC", "BCH", "TRX", "BSC", "MATIC", "SOL", "TON", "DOGE",
];

/// How the simulated application encrypts responses and webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EncryptionMode {
    /// No encryption: `data` is plain JSON (the docs' examples). Webhooks are sent plain
    /// too, and a `kyc_public_api::WebhookVerifier` refuses them.
    Plain,
    /// AES-256-CBC, HMAC-SHA256 in `x-allpass-signature` (the default).
    #[default]
    Cbc,
    /// AES-256-GCM, tag in `x-allpass-signature`.
    Gcm,
}

/// Settings of the simulated elKYC.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ElkycConfig {
    /// The application's encryption mode (default CBC).
    pub encryption: EncryptionMode,
    /// Where webhooks go from the start (none by default).
    pub webhook_url: Option<String>,
}

impl ElkycConfig {
    /// Sets the encryption mode.
    pub fn encryption(mut self, mode: EncryptionMode) -> Self {
        self.encryption = mode;
        self
    }

    /// Sets the webhook URL.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
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
    /// The secret ("crypto") key: 32 bytes, hex.
    pub secret_key: String,
    /// The HMAC key (CBC): 32 bytes, hex.
    pub hmac_key: String,
    /// The application's flows.
    pub flows: Vec<ElkycFlow>,
    /// Ids of the questionnaires `GET /api/public/questionnaire/{id}` serves.
    pub questionnaire_ids: Vec<String>,
}

impl ElkycCredentials {
    /// The settings for `KycClientBuilder::encryption` and `WebhookVerifier::builder` in
    /// the current mode; `None` in [`EncryptionMode::Plain`].
    pub fn encryption_settings(&self) -> Option<EncryptionSettings> {
        match self.encryption {
            EncryptionMode::Plain => None,
            EncryptionMode::Cbc => Some(self.cbc()),
            EncryptionMode::Gcm => Some(self.gcm()),
        }
    }

    /// CBC settings with these keys, whatever the mode.
    pub fn cbc(&self) -> EncryptionSettings {
        EncryptionSettings::cbc(self.secret_key.clone(), self.hmac_key.clone())
    }

    /// GCM settings with this secret key, whatever the mode.
    pub fn gcm(&self) -> EncryptionSettings {
        EncryptionSettings::gcm(self.secret_key.clone())
    }
}

impl fmt::Debug for ElkycCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElkycCredentials")
            .field("api_key", &"[redacted]")
            .field("app_key", &self.app_key)
            .field("client_key", &self.client_key)
            .field("encryption", &self.encryption)
            .field("secret_key", &"[redacted]")
            .field("hmac_key", &"[redacted]")
            .field("flows", &self.flows)
            .field("questionnaire_ids", &self.questionnaire_ids)
            .finish()
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

/// One webhook the simulator sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The event (`applicantCreated`, `applicantApproved`...).
    pub event: EventType,
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
    /// The receiver's HTTP status; `None` when no webhook URL is set or nothing answered.
    pub response_status: Option<u16>,
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ElkycSandboxError {
    /// No applicant with that id or external id.
    #[error("no applicant `{0}`")]
    UnknownApplicant(String),
    /// A move the provider does not make (out of a final status, back to `INIT`, to the
    /// same status, or to a status it has no event for).
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

#[derive(Debug, Clone)]
struct Report {
    kind: &'static str,
    blockchain: String,
    target: String,
    created_at: Timestamp,
}

#[derive(Debug)]
struct Inner {
    creds: ElkycCredentials,
    webhook_url: Option<String>,
    applicants: Vec<Applicant>,
    reports: HashMap<String, Report>,
    questionnaires: Vec<(String, &'static str)>,
    deliveries: Vec<WebhookDelivery>,
    /// The `time` of the last webhook: the next one is at least a millisecond later.
    last_webhook_time: Option<Timestamp>,
}

/// The simulated elKYC / Allpass; cheap to clone.
#[derive(Debug, Clone)]
pub struct Elkyc {
    inner: Arc<Mutex<Inner>>,
    ids: Ids,
    seed: u64,
    client: HttpClient,
}

type Reply = Result<Response, Response>;

fn iso(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// NestJS's error shape.
fn nest(status: StatusCode, message: Value, error: Option<&str>) -> Response {
    let mut body = Map::new();
    body.insert("statusCode".into(), json!(status.as_u16()));
    body.insert("message".into(), message);
    if let Some(error) = error {
        body.insert("error".into(), json!(error));
    }
    (status, Json(Value::Object(body))).into_response()
}

fn bad_request(messages: Vec<String>) -> Response {
    nest(
        StatusCode::BAD_REQUEST,
        json!(messages),
        Some("Bad Request"),
    )
}

fn unauthorized() -> Response {
    nest(StatusCode::UNAUTHORIZED, json!("Unauthorized"), None)
}

/// The provider's own error shape: `{status: false, statusCode, error, time}`.
fn failure(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({
            "status": false,
            "statusCode": status.as_u16(),
            "error": error,
            "time": iso(Timestamp::now()),
        })),
    )
        .into_response()
}

fn fnv1a(seed: u64, parts: &[&str]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    for part in parts {
        for b in part.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0xff).wrapping_mul(PRIME);
    }
    h
}

/// A uuid-shaped id that is a pure function of the seed and `parts`.
fn stable_uuid(seed: u64, parts: &[&str]) -> String {
    let a = fnv1a(seed, parts);
    let b = fnv1a(a, parts);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    ids::uuid_from(bytes)
}

/// The normalised search target: a transaction hash without `0x`, lowercased; an address
/// as given.
fn normalise(kind: &str, target: &str) -> String {
    if kind == "TRANSACTION" {
        target
            .strip_prefix("0x")
            .unwrap_or(target)
            .to_ascii_lowercase()
    } else {
        target.to_owned()
    }
}

/// The risk score (0–100) the simulator gives a wallet address or transaction hash on a
/// blockchain: a pure function of the two (independent of the seed), so some addresses are
/// low risk (0–30), some medium, some high (70–100). A transaction hash is scored without
/// its `0x` prefix and case-insensitively.
pub fn risk_score(blockchain: &str, address_or_hash: &str) -> u8 {
    let kind = if is_tx_hash(address_or_hash) {
        "TRANSACTION"
    } else {
        "WALLET"
    };
    score_of(blockchain, &normalise(kind, address_or_hash))
}

fn score_of(blockchain: &str, normalised: &str) -> u8 {
    // `% 101` keeps the value in 0..=100, so the cast cannot truncate.
    (fnv1a(0, &[blockchain, normalised]) % 101) as u8
}

fn is_tx_hash(s: &str) -> bool {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

fn status_event(status: &ApplicantStatus) -> Option<EventType> {
    Some(match status {
        ApplicantStatus::Init => EventType::ApplicantCreated,
        ApplicantStatus::InProgress => EventType::ApplicantInProgress,
        ApplicantStatus::Incomplete => EventType::ApplicantIncomplete,
        ApplicantStatus::InReview => EventType::ApplicantInReview,
        ApplicantStatus::Rejected => EventType::ApplicantRejected,
        ApplicantStatus::Approved => EventType::ApplicantApproved,
        ApplicantStatus::Completed => EventType::ApplicantCompleted,
        ApplicantStatus::OnHold => EventType::ApplicantOnHold,
        _ => return None,
    })
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

fn questionnaire_content(kind: &str) -> (&'static str, &'static str, Value) {
    if kind == "sof" {
        (
            "Source of funds",
            "Where the money the person deposits comes from.",
            json!({"questions": [
                {"id": "occupation", "type": "text", "label": "Occupation", "required": true},
                {"id": "source_of_funds", "type": "select", "label": "Main source of funds",
                 "required": true,
                 "options": ["Salary", "Savings", "Investments", "Inheritance", "Other"]},
                {"id": "monthly_volume", "type": "select", "label": "Expected monthly volume",
                 "required": true,
                 "options": ["< 1,000 EUR", "1,000 - 10,000 EUR", "> 10,000 EUR"]}
            ]}),
        )
    } else {
        (
            "PEP declaration",
            "Whether the person is a politically exposed person.",
            json!({"questions": [
                {"id": "is_pep", "type": "boolean",
                 "label": "Are you a politically exposed person?", "required": true},
                {"id": "pep_details", "type": "text", "label": "Position and country",
                 "required": false}
            ]}),
        )
    }
}

impl Elkyc {
    pub(crate) fn new(config: ElkycConfig, seed: u64) -> Self {
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
            secret_key: ids.hex(32),
            hmac_key: ids.hex(32),
            flows: flows(),
            questionnaire_ids: questionnaires.iter().map(|(id, _)| id.clone()).collect(),
        };
        Self {
            inner: Arc::new(Mutex::new(Inner {
                creds,
                webhook_url: config.webhook_url,
                applicants: Vec::new(),
                reports: HashMap::new(),
                questionnaires,
                deliveries: Vec::new(),
                last_webhook_time: None,
            })),
            ids,
            seed,
            client: HttpClient::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keys, mode, flows and questionnaires of the simulated application.
    pub fn credentials(&self) -> ElkycCredentials {
        self.lock().creds.clone()
    }

    /// Switches the encryption mode of responses and webhooks (the keys stay the same).
    pub fn set_encryption(&self, mode: EncryptionMode) {
        self.lock().creds.encryption = mode;
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

    /// Every webhook sent so far, in order.
    pub fn webhooks_sent(&self) -> Vec<WebhookDelivery> {
        self.lock().deliveries.clone()
    }

    /// Moves an applicant (by id or external id) to `status`, as a reviewer or the person
    /// would, and sends the matching webhook (`applicantInProgress`, `applicantApproved`...).
    /// Returns what was sent and how the receiver answered.
    pub async fn set_status(
        &self,
        applicant: &str,
        status: ApplicantStatus,
    ) -> Result<WebhookDelivery, ElkycSandboxError> {
        let event = status_event(&status)
            .filter(|e| *e != EventType::ApplicantCreated)
            .ok_or_else(|| {
                ElkycSandboxError::InvalidTransition(format!(
                    "an applicant cannot be moved to `{status}`"
                ))
            })?;
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
            if matches!(
                a.status,
                ApplicantStatus::Approved | ApplicantStatus::Rejected
            ) {
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
        Ok(self.send_webhook(&current, event).await)
    }

    async fn send_webhook(&self, a: &Applicant, event: EventType) -> WebhookDelivery {
        let (url, creds, time) = {
            let mut inner = self.lock();
            // Webhooks carry millisecond times and receivers order by them: two events in one
            // millisecond must not share a time, or the second would look like old news.
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
            (inner.webhook_url.clone(), inner.creds.clone(), time)
        };
        let payload = json!({
            "type": event.as_str(),
            "id": a.id,
            "externalUserId": a.external_user_id,
            "appKey": creds.app_key,
            "warnings": [],
        });
        let encrypted = creds.encryption != EncryptionMode::Plain;
        let response_status = match url {
            Some(url) => match seal(&creds, 200, payload, time) {
                Ok((body, signature)) => self.post(&url, body, signature).await,
                Err(_) => None,
            },
            None => None,
        };
        let delivery = WebhookDelivery {
            event,
            applicant_id: a.id.clone(),
            external_user_id: a.external_user_id.clone(),
            status: a.status.clone(),
            time,
            encrypted,
            response_status,
        };
        self.lock().deliveries.push(delivery.clone());
        delivery
    }

    async fn post(&self, url: &str, body: Vec<u8>, signature: Option<String>) -> Option<u16> {
        let header = signature.as_deref().map(|sig| (SIGNATURE_HEADER, sig));
        crate::outbound::post_json(&self.client, url, body, header).await
    }

    /// The request body as JSON, decrypted and verified if it came encrypted.
    fn decode(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, Box<Response>> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            Box::new(nest(
                StatusCode::BAD_REQUEST,
                json!(format!("Unexpected token in JSON: {e}")),
                Some("Bad Request"),
            ))
        })?;
        let encrypted = match &value {
            Value::Object(m) if m.len() == 1 => m.get("data").and_then(Value::as_str),
            _ => None,
        };
        let Some(data) = encrypted else {
            return Ok(value);
        };
        let creds = self.credentials();
        let cipher = match creds.encryption_settings() {
            Some(settings) => Cipher::new(&settings).map_err(|_| {
                Box::new(failure(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Encryption keys are invalid",
                ))
            })?,
            None => {
                return Err(Box::new(failure(
                    StatusCode::BAD_REQUEST,
                    "Encryption is not enabled for this application",
                )));
            }
        };
        let invalid = || {
            Box::new(nest(
                StatusCode::UNAUTHORIZED,
                json!("Invalid signature"),
                Some("Unauthorized"),
            ))
        };
        let signature = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(invalid)?;
        let plain = cipher.decrypt(data, signature).map_err(|_| invalid())?;
        serde_json::from_slice(&plain).map_err(|_| {
            Box::new(bad_request(vec![
                "decrypted data must be a JSON object".into(),
            ]))
        })
    }

    /// A success: the envelope, encrypted in the current mode.
    fn respond(&self, status: StatusCode, data: Value) -> Response {
        let creds = self.credentials();
        match seal(&creds, 200, data, Timestamp::now()) {
            Ok((body, signature)) => {
                let mut response = (status, body).into_response();
                let headers = response.headers_mut();
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                if let Some(value) = signature.and_then(|s| HeaderValue::from_str(&s).ok()) {
                    headers.insert(SIGNATURE_HEADER, value);
                }
                response
            }
            Err(_) => failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Response could not be encrypted",
            ),
        }
    }

    /// Finds an applicant by id, then by external id.
    fn find(&self, key: &str) -> Result<Applicant, Box<Response>> {
        let inner = self.lock();
        inner
            .applicants
            .iter()
            .find(|a| a.id == key)
            .or_else(|| inner.applicants.iter().find(|a| a.external_user_id == key))
            .cloned()
            .ok_or_else(|| Box::new(failure(StatusCode::NOT_FOUND, "Applicant not found")))
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Applicant)) -> Option<Applicant> {
        let mut inner = self.lock();
        let a = inner.applicants.iter_mut().find(|a| a.id == id)?;
        f(a);
        Some(a.clone())
    }

    fn applicant_json(&self, a: &Applicant) -> Value {
        let creds = self.credentials();
        let flow = creds.flows.iter().find(|f| f.id == a.flow_id);
        json!({
            "id": a.id,
            "externalUserId": a.external_user_id,
            "status": a.status,
            "updatedAt": iso(a.updated_at),
            "createdAt": iso(a.created_at),
            "scheduledDeletionDate": a.scheduled_deletion.map(iso),
            "phone": a.phone,
            "email": a.email,
            "lang": a.lang,
            "dateOfBirth": null,
            "ip": null,
            "country": null,
            "region": null,
            "timezone": null,
            "city": null,
            "image": null,
            "fullName": null,
            "fullNameSetByUser": false,
            "clientKey": creds.client_key,
            "flowId": a.flow_id,
            "review": {
                "id": a.review_id,
                "version": a.review_version,
                "status": a.status,
                "createdAt": iso(a.created_at),
                "updatedAt": iso(a.updated_at),
                "comment": null,
                "warnings": null,
                "details": null,
                "reviewerId": null,
                "reviewerFullName": null,
                "statusSetById": null,
                "statusSetByName": null,
            },
            "servicesData": [],
            "applications": {"appKey": creds.app_key},
            "flow": flow.map(|f| json!({
                "name": f.name,
                "id": f.id,
                "type": "ON_DEMAND",
                "autoApprove": false,
                "uniqueFaceMatch": true,
                "services": f.services,
            })),
            "amlMonitoring": null,
            "device": null,
        })
    }

    fn report_json(&self, id: &str, r: &Report) -> Value {
        let creds = self.credentials();
        let score = score_of(&r.blockchain, &r.target);
        let h = fnv1a(self.seed, &[&r.blockchain, &r.target]);
        let categories = [
            ("exchange", 10u8),
            ("payment processor", 20),
            ("miner", 5),
            ("gambling", 60),
            ("mixer", 90),
            ("darknet market", 100),
        ];
        // The counterparties' risk follows the report's: high scores come from risky ones.
        let pick = |offset: u64| {
            let band = usize::from(score) * categories.len() / 101;
            let i = (band + (offset as usize % 2)).min(categories.len() - 1);
            categories[i]
        };
        let symbol = r.blockchain.as_str();
        let amount = format!("{}.{:08}", h % 50, (h >> 8) % 100_000_000);
        let flow = |forward: bool, offset: u64| {
            let (kind, kind_score) = pick(offset);
            json!({
                "hash": format!("{:016x}{:016x}", h.rotate_left(offset as u32), h ^ offset),
                "forward": forward,
                "owner": format!("{kind} #{}", (h >> offset) % 1000),
                "score": kind_score,
                "type": kind,
                "depth": 1 + offset % 3,
                "amount": (h >> (offset + 3)) % 10_000,
                "address": format!("{}{:x}", r.blockchain.to_ascii_lowercase(), h ^ (offset << 7)),
                "share": 50,
                "transactionCount": 1 + (h >> offset) % 40,
                "unidentified": false,
                "unknown": false,
                "amountCur": (h >> (offset + 5)) % 5_000,
                "cluster": (h >> (offset + 11)) % 100_000,
                "directStamp": 1_700_000_000 + (h >> 20) % 10_000_000,
                "timestamp": 1_700_000_000 + (h >> 24) % 10_000_000,
                "listType": if kind_score >= 70 { "BLACK" } else { "WHITE" },
                "amountDec": (h >> (offset + 2)) % 1_000,
                "directTx": format!("{:016x}", h.rotate_right(offset as u32)),
            })
        };
        let (main_kind, main_kind_score) = pick(0);
        let created = iso(r.created_at);
        let is_wallet = r.kind == "WALLET";
        json!({
            "type": r.kind,
            "id": id,
            "clientKey": creds.client_key,
            "applicantId": null,
            "blockchain": r.blockchain,
            "reviewStatus": "UNKNOWN",
            "address": if is_wallet { Some(&r.target) } else { None },
            "txHash": if is_wallet { None } else { Some(&r.target) },
            "score": score,
            "amount": amount,
            "uof": [flow(true, 1), flow(true, 2)],
            "sof": [flow(false, 3)],
            "addressInfo": {
                "address": if is_wallet { Some(&r.target) } else { None },
                "owner": format!("{main_kind} #{}", h % 1000),
                "description": format!("Simulated {main_kind} counterparty"),
                "type": {
                    "id": format!("{:x}", h % 0xffff),
                    "name": main_kind,
                    "score": main_kind_score,
                },
                "txCount": 10 + h % 990,
                "txReceivedCount": 5 + h % 500,
                "txSentCount": 5 + (h >> 9) % 490,
                "tags": [],
                "balance": {
                    "amount": amount,
                    "price": 1 + (h >> 13) % 60_000,
                    "priceTimestamp": 1_700_000_000 + (h >> 17) % 10_000_000,
                    "symbol": symbol,
                },
                "firstSeen": 1_500_000_000 + (h >> 3) % 100_000_000,
                "lastSeen": 1_700_000_000 + (h >> 5) % 10_000_000,
                "parentCount": (h >> 7) % 10,
                "parentNativeCount": (h >> 11) % 10,
                "addressType": if is_wallet { "wallet" } else { "transaction" },
                "conflict": false,
                "totalETHTxs": 0,
                "totalInternalTxs": 0,
                "totalTokensTxs": 0,
                "assets": [{
                    "supported": true,
                    "name": r.blockchain,
                    "symbol": symbol,
                    "icon": null,
                }],
            },
            "entities": [{
                "id": format!("{:x}", (h >> 4) % 0xffff),
                "score": main_kind_score,
                "scoreType": if main_kind_score >= 70 { "high" } else if main_kind_score > 30 { "medium" } else { "low" },
                "name": main_kind,
                "scoreTypeId": format!("{:x}", (h >> 6) % 0xff),
            }],
            "isMonitoring": false,
            "lastUpdateDate": created,
            "outdated": false,
            "createdAt": created,
            "timelines": [{
                "id": stable_uuid(self.seed, &[id, "timeline"]),
                "requestUniqueId": stable_uuid(self.seed, &[id, "request"]),
                "eventName": "CRYPTO_AML_STATUS_UPDATED",
                "applicantId": null,
                "appKey": creds.app_key,
                "data": {"reviewStatus": "UNKNOWN", "score": score},
                "amlId": id,
                "userId": null,
                "device": {},
                "geo": {},
                "createdAt": created,
                "updatedAt": created,
            }],
            "comments": [],
            "updatedAt": created,
        })
    }

    pub(crate) fn api(&self) -> Router {
        Router::new()
            .route("/api/public/applicant", post(create))
            .route("/api/public/applicant/{id}", get(get_applicant))
            .route("/api/public/applicant/{id}/status", get(status))
            .route("/api/public/applicant/{id}/moveToFlow", post(move_to_flow))
            .route(
                "/api/public/applicant/{id}/schedule-deletion",
                post(schedule_deletion),
            )
            .route("/api/public/applicant/{id}/restore", post(restore))
            .route("/api/public/applicant/{id}/token", post(token))
            .route("/api/public/questionnaire/{id}", get(questionnaire))
            .route("/api/public/crypto-aml/search", post(search))
            .route("/api/public/crypto-aml/{id}/details", get(details))
            .route_layer(middleware::from_fn_with_state(self.clone(), require_key))
            .fallback(not_found)
            .with_state(self.clone())
    }

    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/elkyc/credentials", get(control_credentials))
            .route("/sandbox/elkyc/encryption", put(control_encryption))
            .route("/sandbox/elkyc/webhook-url", put(control_webhook_url))
            .route("/sandbox/elkyc/applicants", get(control_applicants))
            .route(
                "/sandbox/elkyc/applicants/{id}/status",
                post(control_status),
            )
            .route("/sandbox/elkyc/webhooks", get(control_webhooks))
            .with_state(self.clone())
    }
}

fn snapshot(creds: &ElkycCredentials, a: &Applicant) -> SandboxApplicant {
    SandboxApplicant {
        id: a.id.clone(),
        external_user_id: a.external_user_id.clone(),
        status: a.status.clone(),
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

/// The envelope around `data`, sealed in the credentials' mode: the body and, when
/// encrypted, the `x-allpass-signature` value.
fn seal(
    creds: &ElkycCredentials,
    status_code: u16,
    data: Value,
    time: Timestamp,
) -> Result<(Vec<u8>, Option<String>), kyc_public_api::Error> {
    let envelope = Envelope::new(status_code, data);
    match creds.encryption_settings() {
        None => Ok((envelope.to_plain(time)?, None)),
        Some(settings) => {
            let cipher = Cipher::new(&settings)?;
            let (body, signature) = envelope.seal(&cipher, time)?;
            Ok((body, Some(signature)))
        }
    }
}

async fn require_key(State(s): State<Elkyc>, request: Request, next: Next) -> Response {
    let expected = s.credentials().api_key;
    let given = request
        .headers()
        .get(API_KEY_HEADER)
        .map(HeaderValue::as_bytes);
    if given != Some(expected.as_bytes()) {
        return unauthorized();
    }
    next.run(request).await
}

async fn not_found(request: Request) -> Response {
    nest(
        StatusCode::NOT_FOUND,
        json!(format!(
            "Cannot {} {}",
            request.method(),
            request.uri().path()
        )),
        Some("Not Found"),
    )
}

/// Validation messages for an optional string field.
fn optional_string(body: &Value, field: &str, errors: &mut Vec<String>) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(format!("{field} must be a string"));
            None
        }
    }
}

/// Validation messages for a required, non-empty string field.
fn required_string(body: &Value, field: &str, errors: &mut Vec<String>) -> Option<String> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(format!("{field} should not be empty"));
            None
        }
        None | Some(Value::Null) => {
            errors.push(format!("{field} should not be empty"));
            errors.push(format!("{field} must be a string"));
            None
        }
        Some(_) => {
            errors.push(format!("{field} must be a string"));
            None
        }
    }
}

fn body_object(body: &Value) -> Result<(), Box<Response>> {
    if body.is_object() {
        Ok(())
    } else {
        Err(Box::new(bad_request(vec![
            "request body must be a JSON object".into(),
        ])))
    }
}

async fn create(State(s): State<Elkyc>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let external = required_string(&body, "externalUserId", &mut errors);
    let flow_name = required_string(&body, "flowName", &mut errors);
    let phone = optional_string(&body, "phone", &mut errors);
    let email = optional_string(&body, "email", &mut errors);
    let lang = optional_string(&body, "lang", &mut errors);
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        errors.push("email must be an email".into());
    }
    if body
        .get("suppliedInfo")
        .is_some_and(|v| !v.is_null() && !v.is_object())
    {
        errors.push("suppliedInfo must be an object".into());
    }
    let (Some(external), Some(flow_name)) = (external, flow_name) else {
        return Err(bad_request(errors));
    };
    if !errors.is_empty() {
        return Err(bad_request(errors));
    }
    let created = {
        let review_id = s.ids.uuid();
        let id = s.ids.uuid();
        let mut inner = s.lock();
        let Some(flow_id) = inner
            .creds
            .flows
            .iter()
            .find(|f| f.name == flow_name)
            .map(|f| f.id)
        else {
            return Err(failure(StatusCode::NOT_FOUND, "Flow not found"));
        };
        if inner
            .applicants
            .iter()
            .any(|a| a.external_user_id == external)
        {
            return Err(failure(
                StatusCode::CONFLICT,
                "Applicant with this externalUserId already exists",
            ));
        }
        let now = Timestamp::now();
        let a = Applicant {
            id,
            external_user_id: external,
            status: ApplicantStatus::Init,
            flow_id,
            phone,
            email,
            lang,
            review_id,
            review_version: 1,
            created_at: now,
            updated_at: now,
            scheduled_deletion: None,
        };
        inner.applicants.push(a.clone());
        a
    };
    s.send_webhook(&created, EventType::ApplicantCreated).await;
    Ok(s.respond(StatusCode::CREATED, s.applicant_json(&created)))
}

async fn get_applicant(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    Ok(s.respond(StatusCode::OK, s.applicant_json(&a)))
}

async fn status(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id, "status": a.status})))
}

async fn move_to_flow(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let Some(flow_id) = required_string(&body, "flowId", &mut errors) else {
        return Err(bad_request(errors));
    };
    let flow = s
        .credentials()
        .flows
        .iter()
        .find(|f| f.id.to_string() == flow_id.trim())
        .map(|f| f.id)
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?;
    let a = s
        .update(&a.id, |a| {
            if a.flow_id != flow {
                a.flow_id = flow;
                a.updated_at = Timestamp::now();
            }
        })
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id, "status": a.status})))
}

async fn schedule_deletion(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let a = s
        .update(&a.id, |a| {
            if a.scheduled_deletion.is_none() {
                let now = Timestamp::now();
                a.scheduled_deletion = Some(
                    now.checked_add(SignedDuration::from_hours(24 * RETENTION_DAYS))
                        .unwrap_or(now),
                );
            }
        })
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(
        StatusCode::OK,
        json!({"id": a.id, "scheduledDeletionDate": a.scheduled_deletion.map(iso)}),
    ))
}

async fn restore(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    if a.scheduled_deletion.is_none() {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "Applicant is not scheduled for deletion",
        ));
    }
    let a = s
        .update(&a.id, |a| a.scheduled_deletion = None)
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id})))
}

async fn token(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let locale = optional_string(&body, "locale", &mut errors);
    if let Some(locale) = &locale {
        let ok = !locale.is_empty()
            && locale
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            errors.push("locale must be a valid locale".into());
        }
    }
    let flow_name = optional_string(&body, "flowName", &mut errors);
    let ttl = match body.get("ttl") {
        None | Some(Value::Null) => Some(DEFAULT_TTL),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(t) if t > MAX_TTL => {
                errors.push(format!("ttl must not be greater than {MAX_TTL}"));
                None
            }
            Some(t) if t >= 1 => Some(t),
            _ => {
                errors.push("ttl must be a positive number".into());
                None
            }
        },
        Some(_) => {
            errors.push("ttl must be a number conforming to the specified constraints".into());
            None
        }
    };
    let Some(ttl) = ttl.filter(|_| errors.is_empty()) else {
        return Err(bad_request(errors));
    };
    let creds = s.credentials();
    let flow = match &flow_name {
        Some(name) => creds
            .flows
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?,
        None => creds
            .flows
            .iter()
            .find(|f| f.id == a.flow_id)
            .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?,
    };
    let transaction_id = s.ids.uuid();
    let now = Timestamp::now().as_second();
    // `ttl` is at most 3 153 600 000, so the sum cannot overflow.
    let exp = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "sub": a.id,
        "applicantId": a.id,
        "externalUserId": a.external_user_id,
        "transactionId": transaction_id,
        "flowName": flow.name,
        "locale": locale.as_deref().unwrap_or("en"),
        "appKey": creds.app_key,
        "iat": now,
        "exp": exp,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(s.ids.hex(32));
    let access_token = format!("{header}.{claims}.{signature}");
    let link = format!("https://verify.elkyc.sandbox.invalid/?token={access_token}");
    Ok(s.respond(
        StatusCode::CREATED,
        json!({
            "transactionId": transaction_id,
            "accessToken": access_token,
            "link": link,
            "applicantId": a.id,
            "ttl": ttl,
        }),
    ))
}

async fn questionnaire(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let (kind, client_key) = {
        let inner = s.lock();
        let kind = inner
            .questionnaires
            .iter()
            .find(|(q, _)| *q == id)
            .map(|(_, kind)| *kind);
        (kind, inner.creds.client_key.clone())
    };
    let kind = kind.ok_or_else(|| failure(StatusCode::NOT_FOUND, "Questionnaire not found"))?;
    let (name, description, content) = questionnaire_content(kind);
    Ok(s.respond(
        StatusCode::OK,
        json!({
            "id": id,
            "name": name,
            "description": description,
            "clientKey": client_key,
            "content": content,
            "version": {"number": 1},
            "createdAt": "2025-01-15T09:00:00.000Z",
        }),
    ))
}

async fn search(State(s): State<Elkyc>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let blockchain = match body.get("blockchain") {
        Some(Value::String(b)) if BLOCKCHAINS.contains(&b.as_str()) => Some(b.clone()),
        _ => {
            errors.push(format!(
                "blockchain must be one of the following values: {}",
                BLOCKCHAINS.join(", ")
            ));
            None
        }
    };
    let tx_hash = optional_string(&body, "txHash", &mut errors);
    let address = optional_string(&body, "address", &mut errors);
    let target = match (&tx_hash, &address) {
        (Some(_), Some(_)) => {
            errors.push("txHash and address are mutually exclusive".into());
            None
        }
        (None, None) => {
            errors.push("either txHash or address must be provided".into());
            None
        }
        (Some(hash), None) => {
            if is_tx_hash(hash) {
                Some(("TRANSACTION", hash.clone()))
            } else {
                errors.push("txHash must match /^(0x)?[a-fA-F0-9]{64}$/ regular expression".into());
                None
            }
        }
        (None, Some(address)) => {
            let ok = (20..=100).contains(&address.len())
                && address
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'));
            if ok {
                Some(("WALLET", address.clone()))
            } else {
                errors.push("address must be a valid blockchain address".into());
                None
            }
        }
    };
    let (Some(blockchain), Some((kind, target))) = (blockchain, target) else {
        return Err(bad_request(errors));
    };
    if !errors.is_empty() {
        return Err(bad_request(errors));
    }
    let target = normalise(kind, &target);
    let id = stable_uuid(s.seed, &["crypto-aml", kind, &blockchain, &target]);
    s.lock().reports.entry(id.clone()).or_insert(Report {
        kind,
        blockchain,
        target,
        created_at: Timestamp::now(),
    });
    Ok(s.respond(StatusCode::CREATED, json!({"id": id, "type": kind})))
}

async fn details(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Reply {
    let kind = query.get("type").map(String::as_str);
    if !matches!(kind, Some("WALLET" | "TRANSACTION")) {
        return Err(bad_request(vec![
            "type must be one of the following values: WALLET, TRANSACTION".into(),
        ]));
    }
    let report = s
        .lock()
        .reports
        .get(&id)
        .filter(|r| Some(r.kind) == kind)
        .cloned()
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "AML report not found"))?;
    Ok(s.respond(StatusCode::OK, s.report_json(&id, &report)))
}

async fn control_credentials(State(s): State<Elkyc>) -> Response {
    Json(s.credentials()).into_response()
}

#[derive(Deserialize)]
struct ModeBody {
    mode: EncryptionMode,
}

async fn control_encryption(State(s): State<Elkyc>, Json(body): Json<ModeBody>) -> Response {
    s.set_encryption(body.mode);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct UrlBody {
    url: Option<String>,
}

async fn control_webhook_url(State(s): State<Elkyc>, Json(body): Json<UrlBody>) -> Response {
    match body.url {
        Some(url) => s.set_webhook_url(url),
        None => s.clear_webhook_url(),
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn control_applicants(State(s): State<Elkyc>) -> Response {
    Json(s.applicants()).into_response()
}

async fn control_webhooks(State(s): State<Elkyc>) -> Response {
    Json(s.webhooks_sent()).into_response()
}

#[derive(Deserialize)]
struct StatusBody {
    status: ApplicantStatus,
}

async fn control_status(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Response {
    match s.set_status(&id, body.status).await {
        Ok(delivery) => Json(delivery).into_response(),
        Err(e @ ElkycSandboxError::UnknownApplicant(_)) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_spread_over_the_bands_and_ids_are_stable() {
        let scores: Vec<u8> = (0..200)
            .map(|i| risk_score("BTC", &format!("bc1qsandboxaddress{i:04}")))
            .collect();
        assert!(scores.iter().all(|s| *s <= 100));
        assert!(scores.iter().any(|s| *s <= 30));
        assert!(scores.iter().any(|s| *s >= 70));
        let hash = "AB".repeat(32);
        assert_eq!(
            risk_score("ETH", &hash),
            risk_score("ETH", &format!("0x{}", hash.to_lowercase()))
        );
        assert_eq!(stable_uuid(1, &["a"]), stable_uuid(1, &["a"]));
        assert_ne!(stable_uuid(1, &["a"]), stable_uuid(2, &["a"]));
        assert_eq!(stable_uuid(1, &["a"]).len(), 36);
    }

    #[test]
    fn timestamps_have_millisecond_precision() {
        let t: Timestamp = "2025-07-04T12:01:17.228911Z".parse().unwrap();
        assert_eq!(iso(t), "2025-07-04T12:01:17.228Z");
    }

    #[test]
    fn credentials_debug_hides_keys() {
        let creds = Elkyc::new(ElkycConfig::default(), 9).credentials();
        let debug = format!("{creds:?}");
        assert!(!debug.contains(&creds.api_key), "{debug}");
        assert!(!debug.contains(&creds.secret_key), "{debug}");
        assert!(!debug.contains(&creds.hmac_key), "{debug}");
        assert_eq!(creds.secret_key.len(), 64);
    }
}
