//! Payments (invoices): which one ([`PaymentRef`]), what Heleket says about it
//! ([`Payment`], `POST /v1/payment/info`) and its status ([`PaymentStatus`]).

use compliance_core::money::{self, Decimal};
use compliance_core::time::{Timestamp, unix_seconds};
use compliance_core::{Error as CoreError, open_enum};
use serde::{Deserialize, Serialize};

/// Which payment: Heleket's invoice `uuid` or the merchant's own `order_id`.
///
/// Heleket accepts either (and prefers `order_id` when both are sent); an enum makes
/// "neither" and "both" unrepresentable. Serialises as `{"uuid":"..."}` or
/// `{"order_id":"..."}`.
///
/// ```
/// use heleket_aml::PaymentRef;
/// let by_order = PaymentRef::order_id("order-42");
/// assert_eq!(serde_json::to_string(&by_order).unwrap(), r#"{"order_id":"order-42"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentRef {
    /// Heleket's invoice uuid.
    Uuid(String),
    /// The merchant's order id (1–128 characters: letters, digits, `-`, `_`).
    OrderId(String),
}

impl PaymentRef {
    /// By Heleket's invoice uuid.
    pub fn uuid(uuid: impl Into<String>) -> Self {
        PaymentRef::Uuid(uuid.into())
    }

    /// By the merchant's order id.
    pub fn order_id(order_id: impl Into<String>) -> Self {
        PaymentRef::OrderId(order_id.into())
    }

    /// The id text.
    pub fn id(&self) -> &str {
        match self {
            PaymentRef::Uuid(id) | PaymentRef::OrderId(id) => id,
        }
    }

    /// Refuses, before any I/O, ids Heleket cannot have issued: an empty uuid, an
    /// `order_id` outside 1–128 characters of `[A-Za-z0-9_-]`.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        match self {
            PaymentRef::Uuid(uuid) if uuid.trim().is_empty() => {
                Err(CoreError::invalid_request("uuid", "must not be empty"))
            }
            PaymentRef::Uuid(_) => Ok(()),
            PaymentRef::OrderId(id) => {
                if id.is_empty() || id.len() > 128 {
                    return Err(CoreError::invalid_request(
                        "order_id",
                        format!("must be 1–128 characters, is {}", id.chars().count()),
                    ));
                }
                if let Some(c) = id
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
                {
                    return Err(CoreError::invalid_request(
                        "order_id",
                        format!(
                            "may hold only letters, digits, `-` and `_`; found {:?}",
                            c.escape_debug().to_string()
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}

open_enum! {
    /// The status of a payment (`payment_status` and `status` in Heleket's answers and
    /// webhooks).
    pub enum PaymentStatus {
        /// Paid in full.
        Paid = "paid",
        /// Paid more than invoiced.
        PaidOver = "paid_over",
        /// Paid less than invoiced; final.
        WrongAmount = "wrong_amount",
        /// Paid less than invoiced; the payer may still add the rest.
        WrongAmountWaiting = "wrong_amount_waiting",
        /// Being processed.
        Process = "process",
        /// Waiting for blockchain confirmations.
        Check = "check",
        /// Transaction seen, waiting for confirmations.
        ConfirmCheck = "confirm_check",
        /// Failed.
        Fail = "fail",
        /// Cancelled (expired without payment).
        Cancel = "cancel",
        /// Failed because of a Heleket system error.
        SystemFail = "system_fail",
        /// A refund is being processed.
        RefundProcess = "refund_process",
        /// The refund failed.
        RefundFail = "refund_fail",
        /// Refunded.
        RefundPaid = "refund_paid",
        /// Held by Heleket's AML programme. Not a terminal failure: once the payer completes
        /// the AML questionnaire (see [`HeleketClient::aml_links`](crate::HeleketClient::aml_links))
        /// the funds can be released.
        Locked = "locked",
    }
}

impl PaymentStatus {
    /// Whether the funds are held by Heleket's AML programme.
    pub fn is_locked(&self) -> bool {
        *self == PaymentStatus::Locked
    }

    /// Whether Heleket is still waiting for the payer or the blockchain (`process`,
    /// `check`, `confirm_check`, `wrong_amount_waiting`).
    pub fn is_in_progress(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Process
                | PaymentStatus::Check
                | PaymentStatus::ConfirmCheck
                | PaymentStatus::WrongAmountWaiting
        )
    }
}

impl From<PaymentStatus> for String {
    fn from(status: PaymentStatus) -> String {
        match status {
            PaymentStatus::Unknown(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// Currency conversion of a payment (only with auto-convert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Convert {
    /// The currency converted to.
    #[serde(default)]
    pub to_currency: Option<String>,
    /// The conversion commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
    /// The rate used.
    #[serde(default, with = "money::decimal::option")]
    pub rate: Option<Decimal>,
    /// The converted amount.
    #[serde(default, with = "money::decimal::option")]
    pub amount: Option<Decimal>,
}

/// A payment as `POST /v1/payment/info` returns it.
///
/// Amounts are exact decimals (Heleket sends decimal strings). Fields Heleket sometimes
/// leaves `null` or out are `Option`; fields this version does not know are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payment {
    /// Heleket's invoice uuid.
    pub uuid: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The invoiced amount, in `currency`.
    #[serde(with = "money::decimal")]
    pub amount: Decimal,
    /// The amount received so far, in `payer_currency` (`null` before any payment).
    #[serde(default, with = "money::decimal::option")]
    pub payment_amount: Option<Decimal>,
    /// The amount the payer is asked to send, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount: Option<Decimal>,
    /// Discount (negative) or surcharge percentage for the chosen currency.
    #[serde(default, with = "money::decimal::option")]
    pub discount_percent: Option<Decimal>,
    /// Discount amount.
    #[serde(default, with = "money::decimal::option")]
    pub discount: Option<Decimal>,
    /// The currency the payer pays in.
    #[serde(default)]
    pub payer_currency: Option<String>,
    /// The invoice currency.
    pub currency: String,
    /// The merchant's comments.
    #[serde(default)]
    pub comments: Option<String>,
    /// What the merchant receives after fees.
    #[serde(default, with = "money::decimal::option")]
    pub merchant_amount: Option<Decimal>,
    /// The blockchain network code (`tron`, `bsc`...).
    #[serde(default)]
    pub network: Option<String>,
    /// The deposit address.
    #[serde(default)]
    pub address: Option<String>,
    /// The payer's sending address, once known.
    #[serde(default)]
    pub from: Option<String>,
    /// The transaction hash, once known.
    #[serde(default)]
    pub txid: Option<String>,
    /// The payment's status: the AML signal is [`PaymentStatus::Locked`] here.
    pub payment_status: PaymentStatus,
    /// The invoice's status.
    pub status: PaymentStatus,
    /// The payment page.
    #[serde(default)]
    pub url: Option<String>,
    /// When the invoice expires (Heleket sends Unix seconds).
    #[serde(default, with = "unix_seconds::option")]
    pub expired_at: Option<Timestamp>,
    /// Whether the status will not change any more.
    pub is_final: bool,
    /// The merchant's additional data.
    #[serde(default)]
    pub additional_data: Option<String>,
    /// When the invoice was created (Heleket sends a `+03:00` offset; the instant is kept).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When the invoice last changed.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// A QR code of the address (a `data:` URI).
    #[serde(default)]
    pub address_qr_code: Option<String>,
    /// Currency conversion, with auto-convert.
    #[serde(default)]
    pub convert: Option<Convert>,
    /// Heleket's commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_serialise_as_one_member() {
        assert_eq!(
            serde_json::to_string(&PaymentRef::uuid("u-1")).unwrap(),
            r#"{"uuid":"u-1"}"#
        );
        assert_eq!(
            serde_json::to_string(&PaymentRef::order_id("order-42")).unwrap(),
            r#"{"order_id":"order-42"}"#
        );
    }

    #[test]
    fn refs_are_validated_locally() {
        assert!(PaymentRef::order_id("order_42-A").validate().is_ok());
        assert!(
            PaymentRef::uuid("70b8db5c-b952-406d-af7a-9b4f8a1ef1ee")
                .validate()
                .is_ok()
        );
        for bad in [
            PaymentRef::uuid(""),
            PaymentRef::uuid("  "),
            PaymentRef::order_id(""),
            PaymentRef::order_id("a".repeat(129)),
            PaymentRef::order_id("order 42"),
            PaymentRef::order_id("ordér"),
            PaymentRef::order_id("a/b"),
        ] {
            let err = bad.validate().unwrap_err();
            assert!(
                matches!(err, CoreError::InvalidRequest { .. }),
                "{bad:?}: {err}"
            );
        }
        assert!(PaymentRef::order_id("a".repeat(128)).validate().is_ok());
    }

    #[test]
    fn statuses_are_open() {
        let s: PaymentStatus = serde_json::from_str(r#""locked""#).unwrap();
        assert!(s.is_locked());
        let s: PaymentStatus = serde_json::from_str(r#""aml_review""#).unwrap();
        assert_eq!(s, PaymentStatus::Unknown("aml_review".into()));
        assert_eq!(String::from(s), "aml_review");
        assert_eq!(String::from(PaymentStatus::PaidOver), "paid_over");
        assert!(PaymentStatus::ConfirmCheck.is_in_progress());
        assert!(!PaymentStatus::Paid.is_in_progress());
    }
}
