//! Heleket's webhooks: raw bytes in, verified typed event out.
//!
//! Heleket puts the signature **inside** the JSON body, as a `sign` member, computed over the
//! body without that member as Heleket's PHP encoded it (compact, keys in order, `/` written
//! `\/`, raw UTF-8, nulls kept). Parsing and re-encoding the JSON cannot reproduce those bytes
//! reliably, so [`WebhookVerifier`] works on the raw request body: it cuts out
//! `"sign":"<hex>"` and one neighbouring comma, leaves every other byte as it is, hashes, and
//! compares in constant time with the key the body's `type` calls for. Only then does it
//! deserialise the body into a [`HeleketWebhook`].
//!
//! Deliveries repeat until your endpoint answers 2xx. [`WebhookProcessor`] (the shared
//! pipeline of [`compliance_core::webhook`]) runs your handler once per `(type, uuid,
//! status)`, and never lets an intermediate status that arrives late (`process`, `check`,
//! `locked`...) overwrite a final one (`paid`). Heleket sends from `31.133.220.8`; the
//! signature, not the address, is what proves a webhook genuine.

use std::fmt;

use compliance_core::money::{self, Decimal};
use compliance_core::webhook::constant_time_eq;
use compliance_core::{ExposeSecret, SecretString, json};
use serde::{Deserialize, Serialize};

use crate::payment::{Convert, PaymentStatus};
use crate::payout::PayoutStatus;
use crate::sign::{KeyKind, sign};

mod pipeline;
mod scan;

pub use pipeline::WebhookProcessor;
#[cfg(feature = "axum")]
pub use pipeline::WebhookReceiver;
use scan::{Located, escape_slashes, locate_sign};

/// The `type` of a webhook, which decides the key that signs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookKind {
    /// An invoice payment (payment key).
    Payment,
    /// A deposit to a static wallet (payment key).
    Wallet,
    /// A payout (payout key).
    Payout,
}

impl WebhookKind {
    /// The `type` value (and test-webhook path segment): `payment`, `wallet`, `payout`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Payment => "payment",
            WebhookKind::Wallet => "wallet",
            WebhookKind::Payout => "payout",
        }
    }

    /// The key that signs webhooks of this kind.
    pub fn key_kind(self) -> KeyKind {
        match self {
            WebhookKind::Payment | WebhookKind::Wallet => KeyKind::Payment,
            WebhookKind::Payout => KeyKind::Payout,
        }
    }

    fn from_type(t: &str) -> Option<Self> {
        match t {
            "payment" => Some(WebhookKind::Payment),
            "wallet" => Some(WebhookKind::Wallet),
            "payout" => Some(WebhookKind::Payout),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a webhook signature did not match, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MismatchCause {
    /// The body verifies once `/` is escaped as `\/` again: something parsed and re-encoded
    /// the body before it reached the verifier.
    ReSerialised,
    /// The body verifies with the other key: the keys are swapped, or the wrong one was
    /// configured.
    WrongKey {
        /// The key webhooks of this type are checked with.
        expected: KeyKind,
        /// The key the body verifies with.
        verifies_with: KeyKind,
    },
    /// None of the known mistakes explains it: the body was altered or signed by someone
    /// else (or re-encoded in a way that cannot be undone: keys reordered, nulls dropped).
    Unexplained,
}

impl fmt::Display for MismatchCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MismatchCause::ReSerialised => f.write_str(
                "the body was re-serialised before verification (it verifies once `/` is \
                 escaped as `\\/` again); pass the raw request bytes",
            ),
            MismatchCause::WrongKey {
                expected,
                verifies_with,
            } => write!(
                f,
                "wrong key for this webhook type: it is checked with the {expected} but \
                 verifies with the {verifies_with}; are the two keys swapped?"
            ),
            MismatchCause::Unexplained => f.write_str(
                "the body was altered, or signed with a key this verifier does not hold; if a \
                 framework parsed the body, pass the raw request bytes instead",
            ),
        }
    }
}

/// Why a webhook was rejected. Answer such a delivery with a 4xx and do not act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not a well-formed JSON object.
    #[error("webhook body is not a well-formed JSON object: {0}")]
    Malformed(String),
    /// The body has no top-level `sign` member.
    #[error("webhook body has no `sign` member")]
    MissingSign,
    /// The `sign` member is empty or not a string.
    #[error("webhook `sign` is empty or not a string")]
    EmptySign,
    /// The body has no `type`, so the key cannot be chosen.
    #[error("webhook body has no `type`")]
    MissingType,
    /// The `type` is not one this crate knows the key for.
    #[error("unknown webhook type `{0}` (expected payment, wallet or payout)")]
    UnknownType(String),
    /// The webhook needs a key the verifier was built without.
    #[error("a {kind} webhook is signed with the {key}, which the verifier was built without")]
    MissingKey {
        /// The webhook's type.
        kind: WebhookKind,
        /// The missing key.
        key: KeyKind,
    },
    /// The signature does not match.
    #[error("{kind} webhook signature mismatch: {cause}")]
    Mismatch {
        /// The webhook's type.
        kind: WebhookKind,
        /// The likely cause.
        cause: MismatchCause,
    },
    /// The signature is valid but the content does not have the expected shape.
    #[error("verified webhook could not be read: {0}")]
    Decode(#[source] compliance_core::Error),
}

/// Verifies Heleket webhooks from their raw bytes.
///
/// ```
/// use heleket_aml::{HeleketWebhook, WebhookVerifier};
///
/// let verifier = WebhookVerifier::new("test-api-key");
/// let body = br#"{"type":"payment","uuid":"u1","order_id":"o1","amount":"10.00","currency":"USDT","status":"paid","is_final":true,"url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"81d0ef682e1d6b828628a17350ba4ee4"}"#;
/// match verifier.verify(body) {
///     Ok(HeleketWebhook::Payment(payment)) => assert_eq!(payment.amount.to_string(), "10.00"),
///     Ok(other) => println!("{:?}", other.kind()),
///     Err(e) => panic!("reject the delivery: {e}"),
/// }
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    payment: SecretString,
    payout: Option<SecretString>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("payment_key", &"[redacted]")
            .field("payout_key", &self.payout.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for payment and wallet webhooks.
    pub fn new(payment_key: impl Into<SecretString>) -> Self {
        Self {
            payment: payment_key.into(),
            payout: None,
        }
    }

    /// Also verifies payout webhooks, with the payout key.
    pub fn with_payout_key(mut self, payout_key: impl Into<SecretString>) -> Self {
        self.payout = Some(payout_key.into());
        self
    }

    /// Verifies `body` (the raw request body, byte for byte) and reads it.
    ///
    /// `body` is read whole: cap request bodies before calling (a Heleket webhook is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, body: &[u8]) -> Result<HeleketWebhook, WebhookError> {
        let kind = self.verify_signature(body)?;
        let decode = WebhookError::Decode;
        Ok(match kind {
            WebhookKind::Payment => {
                HeleketWebhook::Payment(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Wallet => {
                HeleketWebhook::Wallet(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Payout => {
                HeleketWebhook::Payout(json::decode("webhook", body).map_err(decode)?)
            }
        })
    }

    /// Checks only the signature of `body` and returns its type; [`verify`](Self::verify)
    /// also reads the content.
    pub fn verify_signature(&self, body: &[u8]) -> Result<WebhookKind, WebhookError> {
        let located = locate_sign(body)?;
        let kind = webhook_type(body)?;
        let expected = kind.key_kind();
        let key = self.key(expected).ok_or(WebhookError::MissingKey {
            kind,
            key: expected,
        })?;
        if constant_time_eq(
            sign(&located.unsigned, key.expose_secret()).as_bytes(),
            located.signature,
        ) {
            return Ok(kind);
        }
        Err(WebhookError::Mismatch {
            kind,
            cause: self.diagnose(&located, expected),
        })
    }

    fn key(&self, kind: KeyKind) -> Option<&SecretString> {
        match kind {
            KeyKind::Payment => Some(&self.payment),
            KeyKind::Payout => self.payout.as_ref(),
        }
    }

    /// Tries the common integration mistakes on a body that did not verify.
    fn diagnose(&self, located: &Located<'_>, expected: KeyKind) -> MismatchCause {
        let matches = |body: &[u8], key: &SecretString| {
            constant_time_eq(
                sign(body, key.expose_secret()).as_bytes(),
                located.signature,
            )
        };
        let re_escaped = escape_slashes(&located.unsigned);
        if let (Some(body), Some(key)) = (&re_escaped, self.key(expected))
            && matches(body, key)
        {
            return MismatchCause::ReSerialised;
        }
        if let Some(other) = self.key(expected.other()) {
            let verifies = matches(&located.unsigned, other)
                || re_escaped.as_deref().is_some_and(|b| matches(b, other));
            if verifies {
                return MismatchCause::WrongKey {
                    expected,
                    verifies_with: expected.other(),
                };
            }
        }
        MismatchCause::Unexplained
    }
}

/// Reads the top-level `type` (and checks that the whole body is well-formed JSON).
fn webhook_type(body: &[u8]) -> Result<WebhookKind, WebhookError> {
    #[derive(Deserialize)]
    struct TypeProbe {
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let probe: TypeProbe =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let t = probe.kind.ok_or(WebhookError::MissingType)?;
    WebhookKind::from_type(&t).ok_or(WebhookError::UnknownType(t))
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeleketWebhook {
    /// An invoice payment changed status.
    Payment(PaymentWebhook),
    /// A deposit to a static wallet.
    Wallet(PaymentWebhook),
    /// A payout changed status.
    Payout(PayoutWebhook),
}

impl HeleketWebhook {
    /// The webhook's type.
    pub fn kind(&self) -> WebhookKind {
        match self {
            HeleketWebhook::Payment(_) => WebhookKind::Payment,
            HeleketWebhook::Wallet(_) => WebhookKind::Wallet,
            HeleketWebhook::Payout(_) => WebhookKind::Payout,
        }
    }

    /// The payment's or payout's uuid.
    pub fn uuid(&self) -> &str {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => &p.uuid,
            HeleketWebhook::Payout(p) => &p.uuid,
        }
    }

    /// The status, as Heleket spells it.
    pub fn status(&self) -> &str {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => p.status.as_str(),
            HeleketWebhook::Payout(p) => p.status.as_str(),
        }
    }

    /// Whether the status will not change any more.
    pub fn is_final(&self) -> bool {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => p.is_final,
            HeleketWebhook::Payout(p) => p.is_final,
        }
    }

    /// The deduplication key: `heleket:<type>:<uuid>:<status>`. Heleket redelivers until it
    /// gets a 2xx; the same `(uuid, status)` is the same event.
    pub fn dedup_key(&self) -> String {
        format!("heleket:{}:{}:{}", self.kind(), self.uuid(), self.status())
    }
}

/// A payment or wallet webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentWebhook {
    /// The invoice (or wallet transaction) uuid.
    pub uuid: String,
    /// The merchant's order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The invoiced amount.
    #[serde(with = "money::decimal")]
    pub amount: Decimal,
    /// The amount received, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payment_amount: Option<Decimal>,
    /// The amount received, in USD.
    #[serde(default, with = "money::decimal::option")]
    pub payment_amount_usd: Option<Decimal>,
    /// What the merchant receives after fees.
    #[serde(default, with = "money::decimal::option")]
    pub merchant_amount: Option<Decimal>,
    /// Heleket's commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
    /// Whether the status will not change any more.
    pub is_final: bool,
    /// The payment status ([`PaymentStatus::Locked`]: held by AML).
    pub status: PaymentStatus,
    /// The payer's sending address.
    #[serde(default)]
    pub from: Option<String>,
    /// The static wallet's uuid (wallet webhooks).
    #[serde(default)]
    pub wallet_address_uuid: Option<String>,
    /// The blockchain network code.
    #[serde(default)]
    pub network: Option<String>,
    /// The invoice currency.
    pub currency: String,
    /// The currency the payer paid in.
    #[serde(default)]
    pub payer_currency: Option<String>,
    /// The amount the payer paid, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount: Option<Decimal>,
    /// The exchange rate applied to the payer's amount.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount_exchange_rate: Option<Decimal>,
    /// The transfer's id.
    #[serde(default)]
    pub transfer_id: Option<String>,
    /// The merchant's additional data.
    #[serde(default)]
    pub additional_data: Option<String>,
    /// Currency conversion (only with auto-convert).
    #[serde(default)]
    pub convert: Option<Convert>,
    /// The transaction hash (may be absent).
    #[serde(default)]
    pub txid: Option<String>,
}

/// A payout webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayoutWebhook {
    /// The payout uuid.
    pub uuid: String,
    /// The merchant's order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The payout amount.
    #[serde(with = "money::decimal")]
    pub amount: Decimal,
    /// The amount debited from the merchant.
    #[serde(default, with = "money::decimal::option")]
    pub merchant_amount: Option<Decimal>,
    /// Heleket's commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
    /// Whether the status will not change any more.
    pub is_final: bool,
    /// The payout status.
    pub status: PayoutStatus,
    /// The transaction hash.
    #[serde(default)]
    pub txid: Option<String>,
    /// The payout currency.
    pub currency: String,
    /// The blockchain network code.
    #[serde(default)]
    pub network: Option<String>,
    /// The currency paid out.
    #[serde(default)]
    pub payer_currency: Option<String>,
    /// The amount paid out, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-api-key";

    #[test]
    fn dedup_keys_include_type_uuid_and_status() {
        let v = WebhookVerifier::new(KEY);
        let body = br#"{"type":"payment","uuid":"u1","amount":"1","is_final":false,"status":"locked","currency":"USDT","sign":"x"}"#;
        let err = v.verify(body).unwrap_err();
        assert!(matches!(err, WebhookError::Mismatch { .. }));
        let webhook: PaymentWebhook = serde_json::from_slice(body).unwrap();
        assert_eq!(
            HeleketWebhook::Payment(webhook).dedup_key(),
            "heleket:payment:u1:locked"
        );
    }

    #[test]
    fn debug_hides_keys() {
        let v = WebhookVerifier::new("pay-secret").with_payout_key("payout-secret");
        let text = format!("{v:?}");
        assert!(!text.contains("pay-secret") && !text.contains("payout-secret"));
    }
}
