//! The user info object (`GET /api/v1/user/info`, and the answer to submitted AMLD5 answers).
//!
//! Every field is optional unless the provider marks it required: the provider omits what a
//! user does not have yet. Unknown fields are ignored; unknown enum values are kept.

#![allow(deprecated)] // `enabled_iban_accounts` is deprecated by the provider but still sent.

use std::collections::BTreeMap;
use std::fmt;

use compliance_core::money::Money;
use compliance_core::time::{Span, Timestamp};
use compliance_core::{Lenient, open_enum};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Everything BTC Direct tells a partner about a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserInfo {
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Region, `language-country` (`nl-nl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// When the user registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<Timestamp>,
    /// When the account was activated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_date: Option<Timestamp>,
    /// Whether this is a business account. The provider documents `is_business` (snake case,
    /// unlike every other field); `isBusiness` is accepted too.
    #[serde(
        default,
        rename = "is_business",
        alias = "isBusiness",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_business: Option<bool>,
    /// Buy and sell limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Enabled IBAN accounts.
    #[deprecated(note = "deprecated by BTC Direct: use `enabled_accounts`")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_iban_accounts: Vec<IbanAccount>,
    /// Enabled wallet addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_wallet_addresses: Vec<WalletAddress>,
    /// Enabled accounts (bank accounts and others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_accounts: Vec<Account>,
    /// The account's validation status and the status of each verification step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// The verification level and the limits that come with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_level: Option<VerificationLevel>,
}

/// Buy and sell limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Buying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy: Option<Limit>,
    /// Selling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sell: Option<Limit>,
}

/// One trade limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limit {
    /// The limit per interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Money>,
    /// What is left in the current interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Money>,
    /// The interval, an ISO 8601 duration (`P1D`); kept verbatim if it does not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Lenient<Span>>,
}

/// A bank account from the deprecated `enabledIbanAccounts` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IbanAccount {
    /// The IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The account holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// Whether it is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A wallet address the user may receive coins on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WalletAddress {
    /// The currency (`BTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The destination tag or memo, if the coin uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_tag: Option<DestinationTag>,
    /// A descriptive name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The wallet's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WalletStatus>,
    /// Whether the wallet is hosted by a VASP or self-hosted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_type: Option<WalletType>,
    /// Travel-rule verification state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<WalletVerificationStatus>,
    /// The provider's id (an integer on the wire, kept as a string).
    #[serde(
        default,
        deserialize_with = "compliance_core::de::optional_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
}

/// A destination tag (or memo): an integer for XRP, a string for other coins, or, as in the
/// provider's own example, one per network (`{"default": "ABC1234", "XRP": 12341}`).
///
/// ```
/// use amld5_verify::user::DestinationTag;
///
/// let tag: DestinationTag = serde_json::from_str(r#"{"default":"ABC1234","XRP":12341}"#)?;
/// assert_eq!(tag.for_network("XRP"), Some(&DestinationTag::Number(12341)));
/// assert_eq!(tag.for_network("XLM"), Some(&DestinationTag::Text("ABC1234".into())));
/// let plain: DestinationTag = serde_json::from_str("12341")?;
/// assert_eq!(plain.for_network("XRP"), Some(&plain));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DestinationTag {
    /// A numeric tag (XRP).
    Number(u64),
    /// A textual tag or memo.
    Text(String),
    /// One tag per network, keyed by the network's code; `default` covers the others.
    PerNetwork(BTreeMap<String, DestinationTag>),
}

impl DestinationTag {
    /// The tag to use on `network`: the tag itself, or for [`PerNetwork`](Self::PerNetwork)
    /// the network's entry, else the `default` one.
    pub fn for_network(&self, network: &str) -> Option<&DestinationTag> {
        match self {
            DestinationTag::PerNetwork(tags) => tags
                .get(network)
                .or_else(|| tags.get("default"))
                .and_then(|t| t.for_network(network)),
            scalar => Some(scalar),
        }
    }
}

impl fmt::Display for DestinationTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationTag::Number(n) => write!(f, "{n}"),
            DestinationTag::Text(s) => f.write_str(s),
            DestinationTag::PerNetwork(tags) => {
                for (i, (network, tag)) in tags.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{network}: {tag}")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for DestinationTag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DestinationTag::Number(n) => s.serialize_u64(*n),
            DestinationTag::Text(t) => s.serialize_str(t),
            DestinationTag::PerNetwork(tags) => tags.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for DestinationTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DestinationTag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a destination tag (string, non-negative integer, or an object of them per network)",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DestinationTag, E> {
                Ok(DestinationTag::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DestinationTag, E> {
                u64::try_from(v)
                    .map(DestinationTag::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DestinationTag, E> {
                Ok(DestinationTag::Text(v.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DestinationTag, A::Error> {
                let mut tags = BTreeMap::new();
                while let Some((network, tag)) = map.next_entry::<String, Scalar>()? {
                    tags.insert(network, tag.0);
                }
                Ok(DestinationTag::PerNetwork(tags))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of a per-network destination tag: a string or a non-negative integer (an
/// object inside an object is refused).
struct Scalar(DestinationTag);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match DestinationTag::deserialize(d)? {
            DestinationTag::PerNetwork(_) => Err(de::Error::custom(
                "a per-network destination tag must be a string or an integer",
            )),
            scalar => Ok(Scalar(scalar)),
        }
    }
}

/// An enabled account (a bank account, a wallet...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Account {
    /// The account type (`iban`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<AccountType>,
    /// A human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The IBAN or wallet address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Whether the account is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Whether the account's limit was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_raised: Option<bool>,
}

/// The account's validation status and each verification step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserStatus {
    /// The account's validation status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AccountStatus>,
    /// A description of it (`Identification process did not succeed.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Each verification step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
}

/// The status of each verification step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusDetails {
    /// The AMLD5 questionnaire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amld5_verification_status: Option<Amld5Status>,
    /// The email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address_verification_status: Option<StepStatus>,
    /// The identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_verification_status: Option<StepStatus>,
    /// Acceptance of the privacy agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_agreement_verification_status: Option<StepStatus>,
    /// Each identity document (and side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_document_verification_status: Vec<DocumentStatus>,
    /// The residential address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_address_verification_status: Option<AddressStatus>,
}

/// The status of one identity document side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DocumentStatus {
    /// The document type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// The side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_side: Option<DocumentSide>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DocumentState>,
}

/// The user's verification level and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerificationLevel {
    /// The level's UUID.
    pub id: String,
    /// The level's name (`hero`).
    pub level: String,
    /// The buy limit at this level.
    pub buy_limit: Money,
    /// The sell limit at this level.
    pub sell_limit: Money,
}

open_enum! {
    /// A wallet's status.
    pub enum WalletStatus {
        /// Open.
        Open = "open",
        /// Pending.
        Pending = "pending",
        /// Disabled.
        Disabled = "disabled",
        /// Verified.
        Verified = "verified",
        /// Rejected.
        Rejected = "rejected",
    }
}

open_enum! {
    /// Who holds a wallet.
    pub enum WalletType {
        /// Hosted by a virtual asset service provider.
        Vasp = "vasp",
        /// Self-hosted.
        Unhosted = "unhosted",
    }
}

open_enum! {
    /// A wallet's travel-rule verification state.
    pub enum WalletVerificationStatus {
        /// Verification is required.
        Required = "required",
        /// Travel-rule information is required.
        TravelRuleRequired = "travel_rule_required",
    }
}

open_enum! {
    /// An enabled account's type.
    pub enum AccountType {
        /// A bank account.
        Iban = "iban",
    }
}

open_enum! {
    /// The account's validation status.
    pub enum AccountStatus {
        /// Validation in progress.
        Pending = "pending",
        /// Validated.
        Validated = "validated",
        /// Not validated.
        NotValidated = "not-validated",
        /// Blocked.
        Blocked = "blocked",
    }
}

open_enum! {
    /// The AMLD5 questionnaire's status.
    pub enum Amld5Status {
        /// Not answered yet.
        Open = "open",
        /// Answered.
        Verified = "verified",
    }
}

open_enum! {
    /// The status of a verification step (email, identity, privacy agreement).
    pub enum StepStatus {
        /// Not started.
        Open = "open",
        /// In progress.
        Pending = "pending",
        /// Failed.
        Failed = "failed",
        /// Verified.
        Verified = "verified",
    }
}

open_enum! {
    /// An identity document type.
    pub enum DocumentType {
        /// Passport.
        Passport = "Passport",
        /// Identity card.
        IdentityCard = "IdentityCard",
        /// Driving licence.
        DrivingLicence = "DrivingLicence",
        /// Selfie.
        Selfie = "Selfie",
        /// Second selfie.
        SecondSelfie = "SecondSelfie",
        /// Proof of residency.
        ProofOfResidency = "ProofOfResidency",
        /// Residence permit.
        ResidencePermit = "ResidencePermit",
        /// IBAN verification.
        IbanVerification = "IbanVerification",
        /// Wallet verification.
        WalletVerification = "WalletVerification",
        /// Liveness check.
        LivenessCheck = "LivenessCheck",
    }
}

open_enum! {
    /// A document side.
    pub enum DocumentSide {
        /// Front.
        Front = "Front",
        /// Back.
        Back = "Back",
        /// Selfie.
        Selfie = "Selfie",
        /// Second selfie.
        SecondSelfie = "SecondSelfie",
        /// Proof of residency.
        ProofOfResidency = "ProofOfResidency",
        /// Video proof.
        VideoProof = "VideoProof",
    }
}

open_enum! {
    /// A document's status.
    pub enum DocumentState {
        /// Not uploaded.
        Missing = "missing",
        /// Uploaded, being checked.
        Pending = "pending",
        /// Accepted.
        Present = "present",
        /// Refused.
        Rejected = "rejected",
    }
}

open_enum! {
    /// The residential address's status.
    pub enum AddressStatus {
        /// Not provided.
        Missing = "missing",
        /// Provided.
        Present = "present",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_tags_and_ids() {
        let w: WalletAddress = serde_json::from_str(
            r#"{"currency":"XRP","destinationTag":12341,"id":189632,"status":"frozen"}"#,
        )
        .unwrap();
        assert_eq!(w.destination_tag, Some(DestinationTag::Number(12341)));
        assert_eq!(w.id.as_deref(), Some("189632"));
        assert_eq!(w.status, Some(WalletStatus::Unknown("frozen".into())));
        let w: WalletAddress =
            serde_json::from_str(r#"{"destinationTag":"ABC1234","id":"x-1"}"#).unwrap();
        assert_eq!(
            w.destination_tag,
            Some(DestinationTag::Text("ABC1234".into()))
        );
        assert_eq!(w.id.as_deref(), Some("x-1"));
        let w: WalletAddress =
            serde_json::from_str(r#"{"destinationTag":null,"id":null}"#).unwrap();
        assert_eq!((w.destination_tag, w.id), (None, None));
        let w: WalletAddress = serde_json::from_str(
            r#"{"currency":"USDC","destinationTag":{"default":"ABC1234","XRP":12341}}"#,
        )
        .unwrap();
        let tag = w.destination_tag.unwrap();
        assert_eq!(
            tag,
            DestinationTag::PerNetwork(BTreeMap::from([
                ("default".into(), DestinationTag::Text("ABC1234".into())),
                ("XRP".into(), DestinationTag::Number(12341)),
            ]))
        );
        assert_eq!(tag.to_string(), "XRP: 12341, default: ABC1234");
        assert_eq!(
            serde_json::to_string(&tag).unwrap(),
            r#"{"XRP":12341,"default":"ABC1234"}"#
        );
        assert_eq!(
            DestinationTag::PerNetwork(BTreeMap::new()).for_network("XRP"),
            None
        );
        assert!(
            serde_json::from_str::<WalletAddress>(r#"{"destinationTag":{"XRP":{"a":1}}}"#).is_err()
        );
        assert!(serde_json::from_str::<WalletAddress>(r#"{"destinationTag":-1}"#).is_err());
        assert!(serde_json::from_str::<WalletAddress>(r#"{"destinationTag":1.5}"#).is_err());
    }

    #[test]
    fn is_business_in_both_spellings() {
        let a: UserInfo = serde_json::from_str(r#"{"is_business":true}"#).unwrap();
        let b: UserInfo = serde_json::from_str(r#"{"isBusiness":false}"#).unwrap();
        assert_eq!((a.is_business, b.is_business), (Some(true), Some(false)));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"is_business":true}"#
        );
    }

    #[test]
    fn limits_are_exact_and_intervals_lenient() {
        let l: Limit = serde_json::from_slice(
            br#"{"limit":{"amount":3000.10,"currencyCode":"EUR"},"interval":"P1D"}"#,
        )
        .unwrap();
        assert_eq!(l.limit.unwrap().amount.to_string(), "3000.10");
        assert_eq!(
            l.interval
                .as_ref()
                .and_then(|i| i.parsed())
                .map(|s| s.get_days()),
            Some(1)
        );
        let l: Limit = serde_json::from_slice(br#"{"interval":"daily"}"#).unwrap();
        assert_eq!(l.interval.unwrap().raw(), Some("daily"));
    }
}
