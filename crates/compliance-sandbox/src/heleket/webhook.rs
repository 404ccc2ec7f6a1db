//! What the simulated Heleket POSTs to a callback URL: the payment, wallet or payout webhook,
//! with the members in the order Heleket documents them, PHP-encoded and signed
//! ([`sign::signed_webhook`]), and repeated on the configured schedule until a 2xx.

use serde_json::{Value, json};

use super::sign;
use super::{Heleket, HeleketDelivery, HeleketKey, Payment};
use crate::delivery::Outgoing;

/// The members of a `payment` or `wallet` webhook, in Heleket's documented order.
fn payment_members(p: &Payment, kind: &str, status: &str) -> Vec<(&'static str, Value)> {
    let is_final = !matches!(status, "locked" | "check" | "process" | "confirm_check");
    vec![
        ("type", json!(kind)),
        ("uuid", json!(p.uuid)),
        ("order_id", json!(p.order_id)),
        ("amount", json!(p.amount)),
        ("payment_amount", json!(p.amount)),
        ("payment_amount_usd", json!(p.amount)),
        ("merchant_amount", json!(p.amount)),
        ("commission", json!("0.00")),
        ("is_final", json!(is_final)),
        ("status", json!(status)),
        ("from", Value::Null),
        ("wallet_address_uuid", Value::Null),
        ("network", json!(p.network)),
        ("currency", json!(p.currency)),
        ("payer_currency", json!("USDT")),
        ("payer_amount", json!(p.amount)),
        ("payer_amount_exchange_rate", json!("1")),
        ("transfer_id", Value::Null),
        ("additional_data", json!(p.additional_data)),
        ("txid", json!("a7c8f1e0b9d2")),
    ]
}

/// The members of a `payout` webhook, in Heleket's documented order.
fn payout_members(p: &Payment, status: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("type", json!("payout")),
        ("uuid", json!(p.uuid)),
        ("order_id", json!(p.order_id)),
        ("amount", json!(p.amount)),
        ("merchant_amount", json!(p.amount)),
        ("commission", json!("0.00")),
        ("is_final", json!(status != "process")),
        ("status", json!(status)),
        ("txid", json!("a7c8f1e0b9d2")),
        ("currency", json!(p.currency)),
        ("network", json!(p.network)),
        ("payer_currency", json!(p.currency)),
        ("payer_amount", json!(p.amount)),
    ]
}

impl Heleket {
    /// The webhook of `kind` about `p` reporting `status`, signed with `key`.
    pub(super) fn webhook_body(p: &Payment, kind: &str, status: &str, key: &str) -> Vec<u8> {
        let members = if kind == "payout" {
            payout_members(p, status)
        } else {
            payment_members(p, kind, status)
        };
        sign::signed_webhook(&members, key)
    }

    /// Sends the payment's webhook with its current status, if it has a callback URL.
    pub(super) async fn send_payment_webhook(&self, uuid: &str) {
        let (url, body, status) = {
            let inner = self.lock();
            let Some(p) = inner.payments.iter().find(|p| p.uuid == uuid) else {
                return;
            };
            let Some(url) = p.url_callback.clone() else {
                return;
            };
            let key = inner.creds.key(HeleketKey::Payment);
            (
                url,
                Self::webhook_body(p, "payment", &p.status, key),
                p.status.clone(),
            )
        };
        self.send(url, body, "payment", &status).await;
    }

    /// Delivers `body` to `url` on Heleket's schedule, recording every attempt.
    pub(super) async fn send(&self, url: String, body: Vec<u8>, kind: &str, status: &str) {
        let index = {
            let mut inner = self.lock();
            inner.deliveries.push(HeleketDelivery {
                kind: kind.to_owned(),
                status: status.to_owned(),
                attempts: Vec::new(),
            });
            inner.deliveries.len() - 1
        };
        let this = self.clone();
        let out = Outgoing {
            url,
            body,
            headers: Vec::new(),
        };
        self.outbox
            .deliver(out, &self.config.webhook_retries, move |attempt| {
                if let Some(d) = this.lock().deliveries.get_mut(index) {
                    d.attempts.push(attempt);
                }
            })
            .await;
    }
}
