//! What Heleket POSTs to a callback URL: the payment, wallet or payout webhook, with the
//! members in the order Heleket documents them, PHP-encoded and signed
//! ([`sign::signed_webhook`]).
//!
//! Public so that a tool can send the same webhook the simulator sends without a running
//! sandbox (the `compliance trigger heleket ...` command): [`webhook_body`] builds and signs
//! one from [`WebhookFacts`], and [`PAYMENT_STATUSES`] / [`PAYOUT_STATUSES`] list the
//! statuses a webhook can report. The simulator itself delivers through
//! [`Heleket`], repeating until a 2xx.

use serde_json::{Value, json};

use super::sign;
use super::{Heleket, HeleketKey, HeleketWebhookSent, Payment};
use crate::delivery::Outgoing;

/// The webhook kinds (`type`): `payment` and `wallet` are signed with the payment key,
/// `payout` with the payout key.
pub const KINDS: [&str; 3] = ["payment", "wallet", "payout"];

/// The payment statuses Heleket documents (payment and wallet webhooks). `locked`: held by
/// the AML programme until the payer completes the questionnaire.
pub const PAYMENT_STATUSES: [&str; 14] = [
    "paid",
    "paid_over",
    "wrong_amount",
    "wrong_amount_waiting",
    "process",
    "check",
    "confirm_check",
    "fail",
    "cancel",
    "system_fail",
    "refund_process",
    "refund_fail",
    "refund_paid",
    "locked",
];

/// The payout statuses (payout webhooks), as documented for the payout API Heleket shares
/// with Cryptomus.
pub const PAYOUT_STATUSES: [&str; 6] =
    ["process", "check", "paid", "fail", "cancel", "system_fail"];

/// The statuses a webhook of `kind` can report (empty for an unknown kind).
pub fn statuses(kind: &str) -> &'static [&'static str] {
    match kind {
        "payment" | "wallet" => &PAYMENT_STATUSES,
        "payout" => &PAYOUT_STATUSES,
        _ => &[],
    }
}

/// The key that signs webhooks of `kind`.
pub fn key_for(kind: &str) -> HeleketKey {
    if kind == "payout" {
        HeleketKey::Payout
    } else {
        HeleketKey::Payment
    }
}

/// What a webhook says about its payment, wallet deposit or payout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookFacts {
    /// The invoice, deposit or payout uuid.
    pub uuid: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The amount, a decimal string (`"15.00"`).
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// The network code (`tron`).
    pub network: String,
    /// The merchant's free text, echoed back.
    pub additional_data: Option<String>,
}

impl WebhookFacts {
    /// Facts about `uuid` / `order_id`, for 15.00 USDT on tron and no additional data.
    pub fn new(uuid: impl Into<String>, order_id: impl Into<String>) -> Self {
        Self {
            uuid: uuid.into(),
            order_id: order_id.into(),
            amount: "15.00".into(),
            currency: "USDT".into(),
            network: "tron".into(),
            additional_data: None,
        }
    }

    /// Sets the amount.
    pub fn amount(mut self, amount: impl Into<String>) -> Self {
        self.amount = amount.into();
        self
    }

    /// Sets the currency.
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = currency.into();
        self
    }

    /// Sets the network.
    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = network.into();
        self
    }

    /// Sets `additional_data`.
    pub fn additional_data(mut self, text: impl Into<String>) -> Self {
        self.additional_data = Some(text.into());
        self
    }

    fn of(p: &Payment) -> Self {
        Self {
            uuid: p.uuid.clone(),
            order_id: p.order_id.clone(),
            amount: p.amount.clone(),
            currency: p.currency.clone(),
            network: p.network.clone(),
            additional_data: p.additional_data.clone(),
        }
    }
}

/// The members of a `payment` or `wallet` webhook, in Heleket's documented order.
fn payment_members(p: &WebhookFacts, kind: &str, status: &str) -> Vec<(&'static str, Value)> {
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
fn payout_members(p: &WebhookFacts, status: &str) -> Vec<(&'static str, Value)> {
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

/// The webhook of `kind` (`payment`, `wallet` or `payout`) about `facts` reporting `status`,
/// as Heleket sends it: PHP-encoded, signed with `key` (the key of the kind, see
/// [`key_for`]), `sign` last. Any `kind` other than `payout` gets the payment members.
pub fn webhook_body(kind: &str, status: &str, facts: &WebhookFacts, key: &str) -> Vec<u8> {
    let members = if kind == "payout" {
        payout_members(facts, status)
    } else {
        payment_members(facts, kind, status)
    };
    sign::signed_webhook(&members, key)
}

impl Heleket {
    /// The webhook of `kind` about `p` reporting `status`, signed with `key`.
    pub(super) fn webhook_body(p: &Payment, kind: &str, status: &str, key: &str) -> Vec<u8> {
        webhook_body(kind, status, &WebhookFacts::of(p), key)
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
        let sent = HeleketWebhookSent {
            kind: kind.to_owned(),
            status: status.to_owned(),
        };
        let out = Outgoing {
            url,
            body,
            headers: Vec::new(),
        };
        self.deliveries
            .send(&self.outbox, sent, Some(out), &self.config.webhook_retries)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_documented_order_and_sign_with_the_given_key() {
        let facts = WebhookFacts::new("u-1", "order-1").additional_data("a/b");
        let body = String::from_utf8(webhook_body("wallet", "locked", &facts, "k")).unwrap();
        assert!(body.starts_with(r#"{"type":"wallet","uuid":"u-1","order_id":"order-1","#));
        assert!(body.contains(r#""is_final":false,"status":"locked""#));
        assert!(body.contains(r#""additional_data":"a\/b""#));
        let unsigned = body.split(r#","sign":"#).next().unwrap().to_owned() + "}";
        assert!(body.ends_with(&format!(
            r#""sign":"{}"}}"#,
            sign::sign(unsigned.as_bytes(), "k")
        )));

        let payout = String::from_utf8(webhook_body("payout", "paid", &facts, "p")).unwrap();
        assert!(payout.starts_with(r#"{"type":"payout","uuid":"u-1""#));
        assert!(!payout.contains("payment_amount"));
        assert_eq!(key_for("payout"), HeleketKey::Payout);
        assert_eq!(key_for("wallet"), HeleketKey::Payment);
        assert!(statuses("payment").contains(&"locked"));
        assert!(!statuses("payout").contains(&"locked"));
        assert!(statuses("refund").is_empty());
    }
}
