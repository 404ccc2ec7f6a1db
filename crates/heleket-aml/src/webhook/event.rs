//! What a verified Heleket webhook is: its kind (which decides the key), and the typed
//! payment and payout bodies.

use std::fmt;

use compliance_core::money::{self, Decimal};
use serde::{Deserialize, Serialize};

use crate::payment::{Convert, PaymentStatus};
use crate::payout::PayoutStatus;
use crate::sign::KeyKind;

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

    pub(super) fn from_type(t: &str) -> Option<Self> {
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
        format!(
            "{}:{}:{}:{}",
            crate::PROVIDER,
            self.kind(),
            self.uuid(),
            self.status()
        )
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
