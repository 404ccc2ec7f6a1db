//! Crypto AML: risk screening of a wallet address or a transaction.
//!
//! A search ([`CryptoAmlSearch`]) creates a report and answers its id and type; the details
//! call returns the report ([`CryptoAmlReport`]): a 0–100 risk score, sources and uses of
//! funds, address information, the entities involved, a timeline and reviewer comments.

use compliance_core::aml::{AmlStatus, Risk, RiskLevel};
use compliance_core::money::Decimal;
use compliance_core::time::Timestamp;
use compliance_core::{Error as CoreError, Lenient};
use serde::{Deserialize, Serialize};

use crate::de;
use crate::webhook::EventType;

compliance_core::open_enum! {
    /// A blockchain network. The provider's full list is unpublished: any other value
    /// can be sent as `Blockchain::from("TRX")` and is received as `Unknown`.
    pub enum Blockchain {
        /// Bitcoin.
        Btc = "BTC",
        /// Ethereum.
        Eth = "ETH",
    }
}

compliance_core::open_enum! {
    /// What a crypto-AML report is about.
    pub enum CryptoAmlType {
        /// A wallet address.
        Wallet = "WALLET",
        /// A transaction.
        Transaction = "TRANSACTION",
    }
}

compliance_core::open_enum! {
    /// A reviewer's decision on a crypto-AML report. Only `UNKNOWN` (not reviewed) is seen
    /// in the docs; the others are the dashboard's names *(unconfirmed)*.
    pub enum CryptoReviewStatus {
        /// Not reviewed yet (`UNKNOWN` on the wire).
        NotReviewed = "UNKNOWN",
        /// Being reviewed.
        InReview = "IN_REVIEW",
        /// Accepted by a reviewer.
        Approved = "APPROVED",
        /// Refused by a reviewer.
        Rejected = "REJECTED",
    }
}

/// The provider's risk bands: low 0–30, medium 31–69, high 70–100. A fractional score
/// between bands goes to the higher one (30.5 is medium); a score outside 0–100 has no band.
pub fn risk_level(score: Decimal) -> Option<RiskLevel> {
    if score < Decimal::ZERO || score > Decimal::ONE_HUNDRED {
        None
    } else if score <= Decimal::from(30) {
        Some(RiskLevel::Low)
    } else if score < Decimal::from(70) {
        Some(RiskLevel::Medium)
    } else {
        Some(RiskLevel::High)
    }
}

/// What to screen: exactly one of a transaction hash or an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum SearchTarget {
    /// A transaction hash: 64 hex digits, optionally `0x`-prefixed.
    TxHash(String),
    /// A wallet address.
    Address(String),
}

/// Body of *crypto AML search*.
///
/// ```
/// use kyc_public_api::{Blockchain, CryptoAmlSearch};
/// let by_address = CryptoAmlSearch::address(Blockchain::Btc, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh");
/// let by_hash = CryptoAmlSearch::transaction(Blockchain::Eth, format!("0x{}", "ab".repeat(32)));
/// assert!(by_hash.validate().is_ok());
/// assert!(CryptoAmlSearch::transaction(Blockchain::Btc, "0x1234").validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CryptoAmlSearch {
    /// The network.
    pub blockchain: Blockchain,
    /// The address or transaction.
    #[serde(flatten)]
    pub target: SearchTarget,
}

impl CryptoAmlSearch {
    /// Screens a wallet address.
    pub fn address(blockchain: Blockchain, address: impl Into<String>) -> Self {
        Self {
            blockchain,
            target: SearchTarget::Address(address.into()),
        }
    }

    /// Screens a transaction.
    pub fn transaction(blockchain: Blockchain, tx_hash: impl Into<String>) -> Self {
        Self {
            blockchain,
            target: SearchTarget::TxHash(tx_hash.into()),
        }
    }

    /// The report type this search produces.
    pub fn kind(&self) -> CryptoAmlType {
        match self.target {
            SearchTarget::TxHash(_) => CryptoAmlType::Transaction,
            SearchTarget::Address(_) => CryptoAmlType::Wallet,
        }
    }

    /// Checks the request locally (the tx hash against `^(0x)?[a-fA-F0-9]{64}$`); the client
    /// calls this before sending.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.blockchain.as_str().trim().is_empty() {
            return Err(CoreError::invalid_request(
                "blockchain",
                "must not be empty",
            ));
        }
        match &self.target {
            SearchTarget::TxHash(hash) => {
                let digits = hash.strip_prefix("0x").unwrap_or(hash);
                if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(CoreError::invalid_request(
                        "txHash",
                        "must be 64 hex digits, optionally prefixed with 0x",
                    ));
                }
            }
            SearchTarget::Address(address) => {
                if address.trim().is_empty() || address.trim() != address {
                    return Err(CoreError::invalid_request(
                        "address",
                        "must be a non-empty address without surrounding spaces",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Answer of *crypto AML search*: the report's id and type, for the details call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CryptoAmlRef {
    /// Report id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Report type.
    #[serde(default, rename = "type")]
    pub kind: Option<CryptoAmlType>,
}

/// A crypto-AML report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CryptoAmlReport {
    /// Wallet or transaction.
    #[serde(default, rename = "type")]
    pub kind: Option<CryptoAmlType>,
    /// Report id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// The provider's key for your organisation.
    #[serde(default)]
    pub client_key: Option<String>,
    /// The applicant the report is attached to, if any.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub applicant_id: Option<String>,
    /// The network.
    #[serde(default)]
    pub blockchain: Option<Blockchain>,
    /// A reviewer's decision.
    #[serde(default)]
    pub review_status: Option<CryptoReviewStatus>,
    /// The address screened.
    #[serde(default)]
    pub address: Option<String>,
    /// Risk score, 0–100 (see [`risk_level`]).
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub score: Option<Decimal>,
    /// Amount (exact; kept verbatim when not a number).
    #[serde(
        default,
        deserialize_with = "de::amount",
        serialize_with = "de::amount_ser"
    )]
    pub amount: Option<Lenient<Decimal>>,
    /// Uses of funds (where the money went).
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub uof: Vec<FundsFlow>,
    /// Sources of funds (where the money came from).
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub sof: Vec<FundsFlow>,
    /// About the address.
    #[serde(default)]
    pub address_info: Option<AddressInfo>,
    /// Entities involved, with their scores.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub entities: Vec<Entity>,
    /// Whether the address is monitored.
    #[serde(default)]
    pub is_monitoring: Option<bool>,
    /// When the data was last refreshed.
    #[serde(default)]
    pub last_update_date: Option<Lenient<Timestamp>>,
    /// Whether the data is outdated.
    #[serde(default)]
    pub outdated: Option<bool>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// What happened to the report.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub timelines: Vec<Timeline>,
    /// Reviewer comments.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub comments: Vec<Comment>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
}

impl CryptoAmlReport {
    /// The score with its band, if there is a score in 0–100.
    pub fn risk(&self) -> Option<Risk> {
        let score = self.score?;
        Some(Risk {
            score,
            level: risk_level(score)?,
        })
    }

    /// The latest parseable change time (`updatedAt`, `lastUpdateDate`).
    pub fn updated_at(&self) -> Option<Timestamp> {
        let t = |v: &Option<Lenient<Timestamp>>| v.as_ref().and_then(Lenient::parsed).copied();
        t(&self.updated_at).max(t(&self.last_update_date))
    }

    /// The provider-neutral status.
    ///
    /// A reviewer's decision wins: `APPROVED` → clear, `REJECTED` → rejected, `IN_REVIEW`
    /// → under review. Not reviewed (`UNKNOWN` or absent): a low score is clear, a medium
    /// or high score needs a human ([`AmlStatus::UnderReview`]), no score yet is
    /// [`AmlStatus::Pending`]. Any other review status is [`AmlStatus::Unknown`].
    pub fn aml_status(&self) -> AmlStatus {
        match &self.review_status {
            Some(CryptoReviewStatus::Approved) => AmlStatus::Clear,
            Some(CryptoReviewStatus::Rejected) => AmlStatus::Rejected,
            Some(CryptoReviewStatus::InReview) => AmlStatus::UnderReview,
            Some(CryptoReviewStatus::Unknown(raw)) => AmlStatus::Unknown { raw: raw.clone() },
            Some(CryptoReviewStatus::NotReviewed) | None => match self.risk() {
                Some(Risk {
                    level: RiskLevel::Low,
                    ..
                }) => AmlStatus::Clear,
                Some(_) => AmlStatus::UnderReview,
                None => AmlStatus::Pending,
            },
        }
    }
}

/// One hop of a source- or use-of-funds analysis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FundsFlow {
    /// Transaction hash.
    #[serde(default)]
    pub hash: Option<String>,
    /// Direction flag as the provider sends it.
    #[serde(default)]
    pub forward: Option<bool>,
    /// Owner (entity name).
    #[serde(default)]
    pub owner: Option<String>,
    /// Risk score of this counterparty.
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub score: Option<Decimal>,
    /// Counterparty type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Hops away.
    #[serde(default)]
    pub depth: Option<i64>,
    /// Amount (exact).
    #[serde(
        default,
        deserialize_with = "de::amount",
        serialize_with = "de::amount_ser"
    )]
    pub amount: Option<Lenient<Decimal>>,
    /// Counterparty address.
    #[serde(default)]
    pub address: Option<String>,
    /// Share of the total (exact).
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub share: Option<Decimal>,
    /// Transactions involved.
    #[serde(default)]
    pub transaction_count: Option<i64>,
    /// Whether the counterparty is unidentified.
    #[serde(default)]
    pub unidentified: Option<bool>,
    /// Whether the counterparty is unknown.
    #[serde(default)]
    pub unknown: Option<bool>,
    /// Amount in fiat (exact).
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub amount_cur: Option<Decimal>,
    /// Cluster id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub cluster: Option<String>,
    /// Time of the direct transaction (Unix time, as sent).
    #[serde(default)]
    pub direct_stamp: Option<i64>,
    /// Time (Unix time, as sent).
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// List the counterparty is on.
    #[serde(default)]
    pub list_type: Option<String>,
    /// Amount in the asset's decimals (exact).
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub amount_dec: Option<Decimal>,
    /// The direct transaction.
    #[serde(default)]
    pub direct_tx: Option<String>,
}

/// About the screened address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddressInfo {
    /// The address.
    #[serde(default)]
    pub address: Option<String>,
    /// Owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Category.
    #[serde(default, rename = "type")]
    pub kind: Option<AddressCategory>,
    /// Transactions.
    #[serde(default)]
    pub tx_count: Option<i64>,
    /// Incoming transactions.
    #[serde(default)]
    pub tx_received_count: Option<i64>,
    /// Outgoing transactions.
    #[serde(default)]
    pub tx_sent_count: Option<i64>,
    /// Tags, in whatever shape the provider sends.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub tags: Vec<serde_json::Value>,
    /// Balance.
    #[serde(default)]
    pub balance: Option<Balance>,
    /// First seen (Unix time, as sent).
    #[serde(default)]
    pub first_seen: Option<i64>,
    /// Last seen (Unix time, as sent).
    #[serde(default)]
    pub last_seen: Option<i64>,
    /// Parents.
    #[serde(default)]
    pub parent_count: Option<i64>,
    /// Native parents.
    #[serde(default)]
    pub parent_native_count: Option<i64>,
    /// Address type.
    #[serde(default)]
    pub address_type: Option<String>,
    /// Whether sources disagree.
    #[serde(default)]
    pub conflict: Option<bool>,
    /// ETH transactions.
    #[serde(default, rename = "totalETHTxs")]
    pub total_eth_txs: Option<i64>,
    /// Internal transactions.
    #[serde(default)]
    pub total_internal_txs: Option<i64>,
    /// Token transactions.
    #[serde(default)]
    pub total_tokens_txs: Option<i64>,
    /// Assets held.
    #[serde(default, deserialize_with = "compliance_core::de::null_as_empty")]
    pub assets: Vec<Asset>,
}

/// An address category with its score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddressCategory {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Score.
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub score: Option<Decimal>,
}

/// An address balance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Balance {
    /// Amount (exact; kept verbatim when not a number).
    #[serde(
        default,
        deserialize_with = "de::amount",
        serialize_with = "de::amount_ser"
    )]
    pub amount: Option<Lenient<Decimal>>,
    /// Price (exact).
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub price: Option<Decimal>,
    /// When the price was taken (Unix time, as sent).
    #[serde(default)]
    pub price_timestamp: Option<i64>,
    /// Asset symbol.
    #[serde(default)]
    pub symbol: Option<String>,
}

/// An asset an address holds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Asset {
    /// Whether the provider supports it.
    #[serde(default)]
    pub supported: Option<bool>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Symbol.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Icon URL.
    #[serde(default)]
    pub icon: Option<String>,
}

/// An entity involved, with its score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Entity {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Score.
    #[serde(default, with = "compliance_core::money::decimal::option")]
    pub score: Option<Decimal>,
    /// Score type.
    #[serde(default)]
    pub score_type: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Score type id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub score_type_id: Option<String>,
}

/// An event in a report's life.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Timeline {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Request id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub request_unique_id: Option<String>,
    /// What happened (`CRYPTO_AML_STATUS_UPDATED`...).
    #[serde(default)]
    pub event_name: Option<EventType>,
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub applicant_id: Option<String>,
    /// The application.
    #[serde(default)]
    pub app_key: Option<String>,
    /// Event data, in whatever shape the provider sends.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// The report.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub aml_id: Option<String>,
    /// The dashboard user.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub user_id: Option<String>,
    /// Device data.
    #[serde(default)]
    pub device: Option<serde_json::Value>,
    /// Geo data.
    #[serde(default)]
    pub geo: Option<serde_json::Value>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
}

/// A reviewer's comment; replies carry their parent (recursively).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Comment {
    /// Id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub id: Option<String>,
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// The report.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub aml_id: Option<String>,
    /// Author id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub author_id: Option<String>,
    /// Parent comment id.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub parent_id: Option<String>,
    /// Author name.
    #[serde(default)]
    pub author_name: Option<String>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<Lenient<Timestamp>>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Lenient<Timestamp>>,
    /// The parent comment, when sent as an object (the docs print the placeholder
    /// `"[Circular Reference]"`, read as `None`).
    #[serde(default, deserialize_with = "de::object_or_none")]
    pub parent_comment: Option<Box<Comment>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_bands_follow_the_provider() {
        let level = |s: &str| risk_level(s.parse().unwrap());
        assert_eq!(level("0"), Some(RiskLevel::Low));
        assert_eq!(level("30"), Some(RiskLevel::Low));
        assert_eq!(level("30.5"), Some(RiskLevel::Medium));
        assert_eq!(level("31"), Some(RiskLevel::Medium));
        assert_eq!(level("69"), Some(RiskLevel::Medium));
        assert_eq!(level("69.99"), Some(RiskLevel::Medium));
        assert_eq!(level("70"), Some(RiskLevel::High));
        assert_eq!(level("100"), Some(RiskLevel::High));
        assert_eq!(level("100.01"), None);
        assert_eq!(level("-1"), None);
    }

    #[test]
    fn search_is_one_of_hash_or_address_and_validated() {
        let hash = "A".repeat(64);
        let s = CryptoAmlSearch::transaction(Blockchain::Btc, hash.clone());
        assert!(s.validate().is_ok());
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!(r#"{{"blockchain":"BTC","txHash":"{hash}"}}"#)
        );
        assert_eq!(s.kind(), CryptoAmlType::Transaction);
        for bad in [
            "0x".to_owned(),
            "g".repeat(64),
            "a".repeat(63),
            format!("0X{hash}"),
        ] {
            let err = CryptoAmlSearch::transaction(Blockchain::Btc, bad)
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains("txHash"), "{err}");
        }
        let a = CryptoAmlSearch::address(
            Blockchain::from("TRX"),
            "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"blockchain":"TRX","address":"T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"}"#
        );
        assert!(
            CryptoAmlSearch::address(Blockchain::Btc, "")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn status_prefers_the_review_then_the_score() {
        let report = |review: &str, score: &str| -> CryptoAmlReport {
            serde_json::from_str(&format!(r#"{{"reviewStatus":{review},"score":{score}}}"#))
                .unwrap()
        };
        assert_eq!(report(r#""UNKNOWN""#, "12").aml_status(), AmlStatus::Clear);
        assert_eq!(
            report(r#""UNKNOWN""#, "45").aml_status(),
            AmlStatus::UnderReview
        );
        assert_eq!(report("null", "null").aml_status(), AmlStatus::Pending);
        assert_eq!(report(r#""APPROVED""#, "95").aml_status(), AmlStatus::Clear);
        assert_eq!(
            report(r#""REJECTED""#, "1").aml_status(),
            AmlStatus::Rejected
        );
        assert_eq!(
            report(r#""ESCALATED""#, "1").aml_status(),
            AmlStatus::Unknown {
                raw: "ESCALATED".into()
            }
        );
        assert_eq!(report("null", "75").risk().unwrap().level, RiskLevel::High);
    }

    #[test]
    fn comments_nest_and_placeholders_are_none() {
        let c: Comment = serde_json::from_str(
            r#"{"id":"c2","parentComment":{"id":"c1","parentComment":"[Circular Reference]"}}"#,
        )
        .unwrap();
        let parent = c.parent_comment.unwrap();
        assert_eq!(parent.id.as_deref(), Some("c1"));
        assert!(parent.parent_comment.is_none());
    }
}
