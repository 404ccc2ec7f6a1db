//! `AML_SUBPROCESS_CREATED`: a payment waits for AML screening.

use compliance_core::money::{self, Decimal, Money};
use compliance_core::{Date, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::{Direction, FixedSide, PaymentType, Status};
use crate::raw::RawJson;
use crate::source::Source;

/// A payment's AML subprocess started; the payment is `WAITING_FOR_AML` until the external
/// provider answers.
///
/// Routing code `ext.aml.subprocess.created`. Only the identifiers and the amount are
/// required; Tuum documents every other field by example only, so each may be absent or
/// `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentSubprocessCreated {
    /// When Tuum produced the message.
    #[serde(default)]
    pub message_d_time: Option<Timestamp>,
    /// The AML process.
    pub aml_process_id: String,
    /// The AML subprocess waiting for the screening answer.
    pub aml_subprocess_id: String,
    /// The payment to screen.
    pub payment_id: String,
    /// The kind of payment (`ACC2SEPA`...).
    #[serde(default)]
    pub payment_type_code: Option<PaymentType>,
    /// The Tuum account the payment belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The amount, exact.
    pub amount: Money,
    /// In or out, seen from the bank.
    #[serde(default)]
    pub direction_code: Option<Direction>,
    /// The posting date.
    #[serde(default)]
    pub posting_date: Option<Date>,
    /// The effective (value) date.
    #[serde(default)]
    pub effective_date: Option<Date>,
    /// Free-text payment details (remittance information).
    #[serde(default)]
    pub details: Option<String>,
    /// The payment's reference number.
    #[serde(default)]
    pub reference_number: Option<String>,
    /// The subprocess status, `WAITING_FOR_EXTERNAL_PROVIDER` in Tuum's example.
    #[serde(default)]
    pub status_code: Option<Status>,
    /// Payer and payee. Tuum documents only a placeholder string, so it is kept verbatim.
    #[serde(default)]
    pub payment_parties: Option<RawJson>,
    /// Exchange-rate information. Tuum documents only a placeholder string, so it is kept
    /// verbatim.
    #[serde(default)]
    pub exchange_rate: Option<RawJson>,
    /// The account balance before the payment.
    #[serde(default)]
    pub initial_balance: Option<Money>,
    /// The transaction type the payment books as (`OUT_PAYMENT_SETTLED`...).
    #[serde(default)]
    pub transaction_type_code: Option<String>,
    /// The transaction type of the fee (`ACC2SEPA_FEE`...).
    #[serde(default)]
    pub fee_transaction_type_code: Option<String>,
    /// The fee charged for the payment.
    #[serde(default)]
    pub fee_amount: Option<Money>,
    /// What initiated the payment.
    #[serde(default)]
    pub source: Option<Source>,
    /// The account holder's residency country (ISO 3166 alpha-2).
    #[serde(default)]
    pub residency_country_code: Option<String>,
    /// The end-to-end id of the payment.
    #[serde(default)]
    pub end_to_end_id: Option<String>,
    /// The contract behind the payment (a loan, for example).
    #[serde(default)]
    pub contract_source: Option<ContractSource>,
    /// The payment service provider (`BC` in Tuum's example).
    #[serde(default)]
    pub payment_service_provider_code: Option<String>,
    /// Whether the payment converts currency.
    #[serde(default)]
    pub fx_payment_flag: Option<bool>,
    /// Which side of the conversion is fixed.
    #[serde(default)]
    pub fixed_side: Option<FixedSide>,
    /// The amount covering the conversion.
    #[serde(default)]
    pub cover_amount: Option<Money>,
    /// The amount in the payment's currency.
    #[serde(default)]
    pub payment_amount: Option<Money>,
    /// The conversion rate, exact.
    #[serde(default, with = "money::decimal::option")]
    pub fx_payment_exchange_rate: Option<Decimal>,
    /// Scheme-specific elements. Tuum documents only a placeholder string, so it is kept
    /// verbatim.
    #[serde(default)]
    pub payment_scheme_elements: Option<RawJson>,
    /// The ISO 20022 purpose code (`SALA`...).
    #[serde(default)]
    pub purpose_code: Option<String>,
    /// The scheme the customer asked for (`SEPA_INSTANT`...).
    #[serde(default)]
    pub preferred_payment_scheme: Option<String>,
    /// The scheme Tuum chose.
    #[serde(default)]
    pub selected_payment_scheme: Option<String>,
}

/// The contract a payment belongs to (`contractSource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContractSource {
    /// The kind of contract (`LOAN.CONTRACT`...).
    #[serde(default)]
    pub source_name: Option<String>,
    /// The contract's id.
    #[serde(default)]
    pub source_ref: Option<String>,
    /// The contract's number.
    #[serde(default)]
    pub contract_number: Option<String>,
}
