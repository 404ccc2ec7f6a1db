//! The simulated Heleket's HTTP API: `/v1/payment/info`, `/v1/payment/aml-links`,
//! `/v1/payment/resend` and `/v1/test-webhook/{payment|wallet|payout}`, every one a signed
//! `POST`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{Heleket, HeleketKey, Payment, sign};

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

/// Heleket's microsecond UTC timestamps (`2025-10-23T18:23:40.000000Z`).
fn micros(t: compliance_core::time::Timestamp) -> String {
    format!("{t:.6}")
}

impl Heleket {
    pub(crate) fn api(&self) -> Router {
        Router::new()
            .route("/v1/payment/info", post(info))
            .route("/v1/payment/aml-links", post(aml_links))
            .route("/v1/payment/resend", post(resend))
            .route("/v1/test-webhook/{kind}", post(test_webhook))
            .with_state(self.clone())
    }

    /// Checks `merchant` and `sign` against the raw body.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        key: HeleketKey,
    ) -> Result<(), Box<Response>> {
        let creds = self.credentials();
        let merchant = headers.get("merchant").and_then(|v| v.to_str().ok());
        if merchant != Some(creds.merchant.as_str()) {
            return Err(Box::new(message(
                StatusCode::UNAUTHORIZED,
                "You are forbidden",
            )));
        }
        let given = headers
            .get("sign")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !sign::verify(body, creds.key(key), given) {
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
        "additional_data": p.additional_data,
        "created_at": "2025-06-05T11:03:51+03:00",
        "updated_at": "2025-06-05T11:09:12+03:00",
        "address_qr_code": null,
        "convert": null,
        "commission": "0.00"
    })
}

async fn info(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, HeleketKey::Payment)
        .map_err(|e| *e)?;
    let p = h.lookup(&body).map_err(|e| *e)?;
    Ok(ok(payment_json(&p)))
}

async fn aml_links(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, HeleketKey::Payment)
        .map_err(|e| *e)?;
    let p = h.lookup(&body).map_err(|e| *e)?;
    let links: Vec<Value> = p
        .links
        .iter()
        .map(|l| {
            json!({"link": l.url, "expired_at": micros(l.expired_at), "status": l.status.as_str()})
        })
        .collect();
    Ok(ok(Value::Array(links)))
}

async fn resend(State(h): State<Heleket>, headers: HeaderMap, body: Bytes) -> Reply {
    h.authenticate(&headers, &body, HeleketKey::Payment)
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
    let key = match kind.as_str() {
        "payment" | "wallet" => HeleketKey::Payment,
        "payout" => h.config.payout_test_webhook_key,
        _ => return Err(message(StatusCode::NOT_FOUND, "Not found")),
    };
    h.authenticate(&headers, &body, key).map_err(|e| *e)?;
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
    let text = |field: &str| v.get(field).and_then(Value::as_str).map(str::to_owned);
    let p = Payment {
        uuid: text("uuid").unwrap_or_else(|| h.ids.uuid()),
        order_id: text("order_id").unwrap_or_else(|| "test-order".into()),
        amount: "15.00".into(),
        currency: text("currency").unwrap_or_default(),
        network: text("network").unwrap_or_default(),
        status: status.to_owned(),
        url_callback: Some(url.clone()),
        additional_data: None,
        links: Vec::new(),
    };
    let signed = {
        let creds = h.credentials();
        Heleket::webhook_body(&p, &kind, status, creds.key(key))
    };
    h.send(url, signed, &kind, status).await;
    Ok(ok(json!([])))
}
