//! Heleket: signed requests checked over the raw body, the provider's error shapes, payments
//! that can be put into `locked`, AML questionnaire links moving `init → pending →
//! completed` (or `expired`), the payment released when every link is completed, and
//! PHP-style signed webhooks POSTed to the payment's callback URL.
//!
//! Checks, as Heleket does them: `merchant` must be the merchant's uuid (otherwise 401
//! `{"message":"You are forbidden"}`); `sign` must be `md5(base64(raw body) ++ key)` with
//! the key of the endpoint (otherwise 401 `{"message":"Invalid Sign."}`, no `state`);
//! `uuid`/`order_id` missing → 422 `{"state":1,"errors":{...}}`; both given → `order_id`
//! wins; unknown payment → `{"state":1,"message":"Payment not found"}`.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use compliance_core::http::HttpClient;
use heleket_aml::sign::{KeyKind, verify};
use heleket_aml::test_util::signed_webhook_object;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ids::Ids;

/// Credentials the simulated Heleket accepts. `Debug` hides the keys.
#[derive(Clone)]
#[non_exhaustive]
pub struct HeleketCredentials {
    /// The merchant uuid (`merchant` header).
    pub merchant: String,
    /// The payment key.
    pub payment_key: String,
    /// The payout key.
    pub payout_key: String,
}

impl std::fmt::Debug for HeleketCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeleketCredentials")
            .field("merchant", &self.merchant)
            .field("payment_key", &"[redacted]")
            .field("payout_key", &"[redacted]")
            .finish()
    }
}

/// An AML questionnaire link status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Created, not started.
    Init,
    /// In progress.
    Pending,
    /// Completed (final).
    Completed,
    /// Expired (final).
    Expired,
}

impl LinkStatus {
    fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Init => "init",
            LinkStatus::Pending => "pending",
            LinkStatus::Completed => "completed",
            LinkStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
struct Link {
    url: String,
    status: LinkStatus,
    expired_at: String,
}

#[derive(Debug, Clone)]
struct Payment {
    uuid: String,
    order_id: String,
    amount: String,
    currency: String,
    network: String,
    status: String,
    url_callback: Option<String>,
    links: Vec<Link>,
}

impl Payment {
    fn is_final(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "check"
                | "process"
                | "confirm_check"
                | "wrong_amount_waiting"
                | "locked"
                | "refund_process"
        )
    }
}

/// A new payment for [`Heleket::create_payment`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewPayment {
    /// The merchant's order id (1–128 of `[A-Za-z0-9_-]`).
    pub order_id: String,
    /// Amount as a decimal string.
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// Where webhooks go.
    #[serde(default)]
    pub url_callback: Option<String>,
}

impl NewPayment {
    /// A paid payment of `amount` `currency` for `order_id`.
    pub fn new(
        order_id: impl Into<String>,
        amount: impl Into<String>,
        currency: impl Into<String>,
    ) -> Self {
        Self {
            order_id: order_id.into(),
            amount: amount.into(),
            currency: currency.into(),
            url_callback: None,
        }
    }

    /// Sets the callback URL.
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.url_callback = Some(url.into());
        self
    }
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeleketSandboxError {
    /// No such payment.
    #[error("no payment `{0}`")]
    UnknownPayment(String),
    /// No such link.
    #[error("payment `{0}` has no link number {1}")]
    UnknownLink(String, usize),
    /// A move the provider does not make (out of a final status, or a payment not locked).
    #[error("{0}")]
    InvalidTransition(String),
}

#[derive(Debug)]
struct Inner {
    creds: HeleketCredentials,
    payments: Vec<Payment>,
    webhooks_sent: Vec<(String, u16)>,
}

/// The simulated Heleket; cheap to clone.
#[derive(Debug, Clone)]
pub struct Heleket {
    inner: Arc<Mutex<Inner>>,
    ids: Ids,
    client: HttpClient,
}

type Reply = Result<Response, Response>;

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"message": text}))).into_response()
}

fn business(text: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"state": 1, "message": text})),
    )
        .into_response()
}

fn validation(errors: Value) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"state": 1, "errors": errors})),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    Json(json!({"state": 0, "result": result})).into_response()
}

impl Heleket {
    pub(crate) fn new(ids: Ids) -> Self {
        let creds = HeleketCredentials {
            merchant: ids.uuid(),
            payment_key: ids.hex(32),
            payout_key: ids.hex(32),
        };
        Self {
            inner: Arc::new(Mutex::new(Inner {
                creds,
                payments: Vec::new(),
                webhooks_sent: Vec::new(),
            })),
            ids,
            client: HttpClient::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The credentials this instance accepts.
    pub fn credentials(&self) -> HeleketCredentials {
        self.lock().creds.clone()
    }

    /// Creates a paid, final payment and returns its uuid.
    pub fn create_payment(&self, new: NewPayment) -> String {
        let uuid = self.ids.uuid();
        self.lock().payments.push(Payment {
            uuid: uuid.clone(),
            order_id: new.order_id,
            amount: new.amount,
            currency: new.currency,
            network: "tron".into(),
            status: "paid".into(),
            url_callback: new.url_callback,
            links: Vec::new(),
        });
        uuid
    }

    /// Puts a payment on AML hold: status `locked` with one questionnaire link in `init`,
    /// and a webhook with the new status.
    pub async fn lock_payment(&self, uuid: &str) -> Result<(), HeleketSandboxError> {
        {
            let token = self.ids.hex(12);
            let mut inner = self.lock();
            let p = find(&mut inner.payments, uuid)?;
            if p.status == "locked" {
                return Err(HeleketSandboxError::InvalidTransition(format!(
                    "payment `{uuid}` is already locked"
                )));
            }
            p.status = "locked".into();
            p.links.push(Link {
                url: format!("https://aml.heleket.com/questionnaire/{token}"),
                status: LinkStatus::Init,
                expired_at: "2030-05-13T11:32:38.000000Z".into(),
            });
        }
        self.send_payment_webhook(uuid).await;
        Ok(())
    }

    /// Moves link `index` of a locked payment to `status`. When every link is completed the
    /// payment is released (`paid`) and a webhook sent.
    pub async fn set_link_status(
        &self,
        uuid: &str,
        index: usize,
        status: LinkStatus,
    ) -> Result<(), HeleketSandboxError> {
        let released = {
            let mut inner = self.lock();
            let p = find(&mut inner.payments, uuid)?;
            let link = p
                .links
                .get_mut(index)
                .ok_or_else(|| HeleketSandboxError::UnknownLink(uuid.to_owned(), index))?;
            if matches!(link.status, LinkStatus::Completed | LinkStatus::Expired) {
                return Err(HeleketSandboxError::InvalidTransition(format!(
                    "link {index} is already {}",
                    link.status.as_str()
                )));
            }
            link.status = status;
            let all_done = p.links.iter().all(|l| l.status == LinkStatus::Completed);
            if all_done && p.status == "locked" {
                p.status = "paid".into();
                true
            } else {
                false
            }
        };
        if released {
            self.send_payment_webhook(uuid).await;
        }
        Ok(())
    }

    /// The payment's current status.
    pub fn payment_status(&self, uuid: &str) -> Option<String> {
        self.lock()
            .payments
            .iter()
            .find(|p| p.uuid == uuid)
            .map(|p| p.status.clone())
    }

    /// Webhooks sent so far: `(status, HTTP status of the callback's answer; 0 = no answer)`.
    pub fn webhooks_sent(&self) -> Vec<(String, u16)> {
        self.lock().webhooks_sent.clone()
    }

    fn webhook_body(p: &Payment, kind: &str, status: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!(kind));
        m.insert("uuid".into(), json!(p.uuid));
        m.insert("order_id".into(), json!(p.order_id));
        m.insert("amount".into(), json!(p.amount));
        m.insert("payment_amount".into(), json!(p.amount));
        m.insert("payment_amount_usd".into(), json!(p.amount));
        m.insert("merchant_amount".into(), json!(p.amount));
        m.insert("commission".into(), json!("0.00"));
        m.insert(
            "is_final".into(),
            json!(!matches!(status, "locked" | "check" | "process")),
        );
        m.insert("status".into(), json!(status));
        m.insert("from".into(), Value::Null);
        m.insert("wallet_address_uuid".into(), Value::Null);
        m.insert("network".into(), json!(p.network));
        m.insert("currency".into(), json!(p.currency));
        m.insert("payer_currency".into(), json!("USDT"));
        m.insert("payer_amount".into(), json!(p.amount));
        m.insert("payer_amount_exchange_rate".into(), json!("1"));
        m.insert("additional_data".into(), Value::Null);
        m.insert("txid".into(), json!("a7c8f1e0b9d2"));
        m
    }

    async fn send_payment_webhook(&self, uuid: &str) {
        let (url, body, status) = {
            let inner = self.lock();
            let Some(p) = inner.payments.iter().find(|p| p.uuid == uuid) else {
                return;
            };
            let Some(url) = p.url_callback.clone() else {
                return;
            };
            let body = signed_webhook_object(
                &Self::webhook_body(p, "payment", &p.status),
                &inner.creds.payment_key,
            );
            (url, body, p.status.clone())
        };
        let code = self.post(&url, body).await;
        self.lock().webhooks_sent.push((status, code));
    }

    async fn post(&self, url: &str, body: Vec<u8>) -> u16 {
        crate::outbound::post_json(&self.client, url, body, None)
            .await
            .unwrap_or(0)
    }

    /// Checks `merchant` and `sign` against the raw body.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        kind: KeyKind,
    ) -> Result<(), Box<Response>> {
        let creds = self.credentials();
        let merchant = headers.get("merchant").and_then(|v| v.to_str().ok());
        if merchant != Some(creds.merchant.as_str()) {
            return Err(Box::new(message(
                StatusCode::UNAUTHORIZED,
                "You are forbidden",
            )));
        }
        let key = match kind {
            KeyKind::Payout => &creds.payout_key,
            _ => &creds.payment_key,
        };
        let sign = headers
            .get("sign")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !verify(body, key, sign) {
            return Err(Box::new(message(StatusCode::UNAUTHORIZED, "Invalid Sign.")));
        }
        Ok(())
    }

    /// Finds the payment a `{uuid | order_id}` body names (`order_id` wins).
    fn lookup(&self, body: &[u8]) -> Result<Payment, Box<Response>> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|_| Box::new(validation(json!({"body": ["validation.json"]}))))?;
        let order_id = v
            .get("order_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let uuid = v
            .get("uuid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if order_id.is_none() && uuid.is_none() {
            return Err(Box::new(validation(json!({
                "uuid": ["validation.required_without"],
                "order_id": ["validation.required_without"],
            }))));
        }
        let inner = self.lock();
        let found = match order_id {
            Some(o) => inner.payments.iter().find(|p| p.order_id == o),
            None => inner
                .payments
                .iter()
                .find(|p| Some(p.uuid.as_str()) == uuid),
        };
        found
            .cloned()
            .ok_or_else(|| Box::new(business("Payment not found")))
    }

    pub(crate) fn api(&self) -> Router {
        Router::new()
            .route("/v1/payment/info", post(info))
            .route("/v1/payment/aml-links", post(aml_links))
            .route("/v1/payment/resend", post(resend))
            .route("/v1/test-webhook/{kind}", post(test_webhook))
            .with_state(self.clone())
    }

    pub(crate) fn control(&self) -> Router {
        Router::new()
            .route("/sandbox/heleket/payments", post(control_create))
            .route("/sandbox/heleket/payments/{uuid}/lock", post(control_lock))
            .route(
                "/sandbox/heleket/payments/{uuid}/links/{index}",
                post(control_link),
            )
            .with_state(self.clone())
    }
}

fn find<'a>(
    payments: &'a mut [Payment],
    uuid: &str,
) -> Result<&'a mut Payment, HeleketSandboxError> {
    payments
        .iter_mut()
        .find(|p| p.uuid == uuid)
        .ok_or_else(|| HeleketSandboxError::UnknownPayment(uuid.to_owned()))
}

fn payment_json(p: &Payment) -> Value {
    json!({
        "uuid": p.uuid,
        "order_id": p.order_id,
        "amount": p.amount,
        "payment_amount": p.amount,
        "payer_amount": p.amount,
        "discount_percent": 0,
        "discount": "0.00000000",
        "payer_currency": "USDT",
        "currency": p.currency,
        "comments": null,
        "merchant_amount": p.amount,
        "network": p.network,
        "address": "TXhfYSWYRBHhU5ZJjJmgmaDhHw7qGDWXhN",
        "from": null,
        "txid": "a7c8f1e0b9d2",
        "payment_status": p.status,
        "url": format!("https://pay.heleket.com/pay/{}", p.uuid),
        "expired_at": 1_900_000_000,
        "status": p.status,
        "is_final": p.is_final(),
        "additional_data": null,
        "created_at": "2025-06-05T11:03:51+03:00",
        "updated_at": "2025-06-05T11:09:12+03:00",
        "address_qr_code": null,
        "convert": null,
        "commission": "0.00"
    })
}

async fn info(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, KeyKind::Payment)
        .map_err(|e| *e)?;
    let p = h.lookup(&body).map_err(|e| *e)?;
    Ok(ok(payment_json(&p)))
}

async fn aml_links(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, KeyKind::Payment)
        .map_err(|e| *e)?;
    let p = h.lookup(&body).map_err(|e| *e)?;
    let links: Vec<Value> = p
        .links
        .iter()
        .map(|l| json!({"link": l.url, "expired_at": l.expired_at, "status": l.status.as_str()}))
        .collect();
    Ok(ok(Value::Array(links)))
}

async fn resend(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, KeyKind::Payment)
        .map_err(|e| *e)?;
    let p = h.lookup(&body).map_err(|e| *e)?;
    if !p.is_final() {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"state": 1, "message": "Payment is not final"})),
        )
            .into_response());
    }
    if p.url_callback.is_none() {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"state": 1, "message": "Callback url is not set"})),
        )
            .into_response());
    }
    h.send_payment_webhook(&p.uuid).await;
    Ok(ok(json!([])))
}

async fn test_webhook(
    State(h): State<Heleket>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let key_kind = match kind.as_str() {
        "payment" | "wallet" => KeyKind::Payment,
        "payout" => KeyKind::Payout,
        _ => return Err(message(StatusCode::NOT_FOUND, "Not found")),
    };
    h.authenticate(&headers, &body, key_kind).map_err(|e| *e)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|_| validation(json!({"body": ["validation.json"]})))?;
    let mut errors = Map::new();
    let url = v
        .get("url_callback")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if url.is_empty() {
        errors.insert("url_callback".into(), json!(["validation.required"]));
    } else if !(6..=150).contains(&url.chars().count()) {
        errors.insert("url_callback".into(), json!(["validation.between.string"]));
    }
    for field in ["currency", "network"] {
        if v.get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            errors.insert(field.into(), json!(["validation.required"]));
        }
    }
    if !errors.is_empty() {
        return Err(validation(Value::Object(errors)));
    }
    let status = v.get("status").and_then(Value::as_str).unwrap_or("paid");
    let p = Payment {
        uuid: v
            .get("uuid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| h.ids.uuid()),
        order_id: v
            .get("order_id")
            .and_then(Value::as_str)
            .unwrap_or("test-order")
            .to_owned(),
        amount: "15.00".into(),
        currency: v["currency"].as_str().unwrap_or_default().to_owned(),
        network: v["network"].as_str().unwrap_or_default().to_owned(),
        status: status.to_owned(),
        url_callback: Some(url.clone()),
        links: Vec::new(),
    };
    let creds = h.credentials();
    let key = if key_kind == KeyKind::Payout {
        &creds.payout_key
    } else {
        &creds.payment_key
    };
    let signed = signed_webhook_object(&Heleket::webhook_body(&p, &kind, status), key);
    let code = h.post(&url, signed).await;
    h.lock().webhooks_sent.push((status.to_owned(), code));
    Ok(ok(json!([])))
}

async fn control_create(State(h): State<Heleket>, Json(new): Json<NewPayment>) -> Response {
    let uuid = h.create_payment(new);
    (StatusCode::CREATED, Json(json!({"uuid": uuid}))).into_response()
}

async fn control_lock(State(h): State<Heleket>, Path(uuid): Path<String>) -> Response {
    match h.lock_payment(&uuid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
struct LinkMove {
    status: LinkStatus,
}

async fn control_link(
    State(h): State<Heleket>,
    Path((uuid, index)): Path<(String, usize)>,
    Json(m): Json<LinkMove>,
) -> Response {
    match h.set_link_status(&uuid, index, m.status).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}
