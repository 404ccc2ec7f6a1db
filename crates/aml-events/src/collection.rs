//! `AML_SUBPROCESS_CREATED_COLLECTION`: a direct-debit collection waits for AML screening.

use compliance_core::money::Money;
use compliance_core::{Date, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::{CollectionType, Direction, PersonType, SepaScheme, SequenceType, Status};
use crate::source::Source;

/// A direct-debit collection started AML; its status is `WAITING_FOR_EXTERNAL_PROVIDER`
/// until the external provider answers.
///
/// Routing code `ext.aml.collection-subprocess.created`. Only the identifiers and the money
/// are required; Tuum documents every other field by example only, so each may be absent or
/// `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CollectionSubprocessCreated {
    /// When Tuum produced the message.
    #[serde(default)]
    pub message_d_time: Option<Timestamp>,
    /// The AML process.
    pub aml_process_id: String,
    /// The AML subprocess waiting for the screening answer.
    pub aml_subprocess_id: String,
    /// The collection to screen.
    pub collection_id: String,
    /// The kind of collection (`OUT_SEPA`...).
    #[serde(default)]
    pub collection_type_code: Option<CollectionType>,
    /// In or out, seen from the bank.
    #[serde(default)]
    pub direction_code: Option<Direction>,
    /// The collection's status.
    #[serde(default)]
    pub status_code: Option<Status>,
    /// The amount collected, exact.
    pub money: Money,
    /// When the debit is due.
    #[serde(default)]
    pub due_date: Option<Date>,
    /// Where the collection sits in its mandate's sequence.
    #[serde(default)]
    pub sequence_type_code: Option<SequenceType>,
    /// Free-text details.
    #[serde(default)]
    pub collection_details: Option<String>,
    /// The collection's reference number.
    #[serde(default)]
    pub collection_reference_number: Option<String>,
    /// The mandate authorising the debit.
    #[serde(default)]
    pub mandate: Option<Mandate>,
    /// The creditor's SEPA scheme identifier.
    #[serde(default)]
    pub creditor_scheme_identification: Option<String>,
    /// The service provider (`SEPA`...).
    #[serde(default)]
    pub service_provider_code: Option<String>,
    /// The channel the collection came through (`SYSTEM`...).
    #[serde(default)]
    pub channel_code: Option<String>,
    /// When Tuum recorded the collection.
    #[serde(default)]
    pub inserted_date_time: Option<Timestamp>,
    /// The collection scheme (`SEPA`...).
    #[serde(default)]
    pub collection_scheme_code: Option<String>,
    /// What initiated the collection.
    #[serde(default)]
    pub source: Option<Source>,
    /// The posting date.
    #[serde(default)]
    pub posting_date: Option<Date>,
    /// The settlement date.
    #[serde(default)]
    pub settlement_date: Option<Date>,
    /// The requested collection date.
    #[serde(default)]
    pub request_date: Option<Date>,
    /// Creditor, debtor and any other parties. `null` and an absent field are empty.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub collection_parties: Vec<CollectionParty>,
    /// The SEPA direct-debit scheme.
    #[serde(default)]
    pub sepa_scheme: Option<SepaScheme>,
    /// The account holder's residency country (ISO 3166 alpha-2).
    #[serde(default)]
    pub residency_country_code: Option<String>,
    /// The instrument (`PAYMENT.ACC2COLLECTION`...).
    #[serde(default)]
    pub instrument_code: Option<String>,
    /// The mandate's Tuum id.
    #[serde(default)]
    pub mandate_id: Option<String>,
}

/// The direct-debit mandate of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Mandate {
    /// The mandate reference.
    #[serde(default)]
    pub mandate_reference_number: Option<String>,
    /// When the debtor signed the mandate.
    #[serde(default)]
    pub mandate_signature_date: Option<Date>,
}

/// A party to a collection: the people and institutions to screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CollectionParty {
    /// The party's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The party's role (`CREDITOR` in Tuum's example; `DEBTOR` presumably).
    #[serde(default)]
    pub type_code: Option<String>,
    /// The party's account number.
    #[serde(default)]
    pub account_number: Option<TypedId>,
    /// The country of the party's account.
    #[serde(default)]
    pub account_number_country_code: Option<String>,
    /// The party's bank.
    #[serde(default)]
    pub financial_institution_id: Option<TypedId>,
    /// The party's address.
    #[serde(default)]
    pub address: Option<Address>,
    /// The party's Tuum account, when it has one.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The party's Tuum person, when it is one.
    #[serde(default)]
    pub person_id: Option<String>,
    /// Natural or legal person.
    #[serde(default)]
    pub person_type_code: Option<PersonType>,
}

/// An identifier with its scheme: `{"value": "DE89…", "type": "IBAN"}`,
/// `{"value": "MAINDE2XXXX", "type": "BIC"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypedId {
    /// The identifier, as sent.
    pub value: String,
    /// Its scheme (`IBAN`, `BIC`...).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A structured postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Address {
    /// First street line.
    #[serde(default)]
    pub street1: Option<String>,
    /// Second street line.
    #[serde(default)]
    pub street2: Option<String>,
    /// City or county.
    #[serde(default)]
    pub city_county: Option<String>,
    /// State or region.
    #[serde(default)]
    pub state_region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub zip: Option<String>,
    /// Country (ISO 3166 alpha-2).
    #[serde(default)]
    pub country_code: Option<String>,
    /// The whole address on one line.
    #[serde(default)]
    pub address_line: Option<String>,
    /// The kind of address (`R`, presumably registered/residential).
    #[serde(default)]
    pub address_type_code: Option<String>,
}
