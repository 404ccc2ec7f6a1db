//! A provider-neutral view of "what is the AML state of this subject?".
//!
//! Every provider crate implements [`AmlProvider`] for the subjects it knows, so a caller can
//! hold `Vec<Box<dyn AmlProvider>>` and ask each one about the subjects it
//! [supports](AmlProvider::supports), getting one [`AmlState`] shape back whatever the
//! provider.

use std::borrow::Cow;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Actionable, NextStep};
use crate::money::Decimal;
use crate::time::Timestamp;
use http::StatusCode;

/// How a subject is referred to at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubjectRef {
    /// The provider's own id (Heleket invoice uuid, elKYC applicant id, BTC Direct user
    /// identifier, a crypto-AML report id).
    ProviderId(String),
    /// The id we gave the provider (Heleket `order_id`, elKYC `externalUserId`).
    ExternalId(String),
}

impl SubjectRef {
    /// The id text, whichever kind it is.
    pub fn id(&self) -> &str {
        match self {
            SubjectRef::ProviderId(id) | SubjectRef::ExternalId(id) => id,
        }
    }
}

/// What an AML question is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Subject {
    /// A payment or invoice.
    Payment {
        /// Which payment.
        reference: SubjectRef,
    },
    /// A person being verified (KYC applicant).
    Applicant {
        /// Which applicant.
        reference: SubjectRef,
    },
    /// A user account at a broker.
    User {
        /// Which user.
        reference: SubjectRef,
    },
    /// A crypto wallet address to screen.
    Wallet {
        /// Network, in the provider's spelling (`BTC`, `ETH`).
        blockchain: String,
        /// The address.
        address: String,
    },
    /// A crypto transaction to screen.
    Transaction {
        /// Network, in the provider's spelling.
        blockchain: String,
        /// The transaction hash.
        hash: String,
    },
}

impl Subject {
    /// The kind of subject.
    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::Payment { .. } => SubjectKind::Payment,
            Subject::Applicant { .. } => SubjectKind::Applicant,
            Subject::User { .. } => SubjectKind::User,
            Subject::Wallet { .. } => SubjectKind::Wallet,
            Subject::Transaction { .. } => SubjectKind::Transaction,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Payment { reference }
            | Subject::Applicant { reference }
            | Subject::User { reference } => write!(f, "{} {}", self.kind(), reference.id()),
            Subject::Wallet {
                blockchain,
                address,
            } => write!(f, "wallet {blockchain}:{address}"),
            Subject::Transaction { blockchain, hash } => {
                write!(f, "transaction {blockchain}:{hash}")
            }
        }
    }
}

/// The kind of a [`Subject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectKind {
    /// [`Subject::Payment`].
    Payment,
    /// [`Subject::Applicant`].
    Applicant,
    /// [`Subject::User`].
    User,
    /// [`Subject::Wallet`].
    Wallet,
    /// [`Subject::Transaction`].
    Transaction,
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::Payment => "payment",
            SubjectKind::Applicant => "applicant",
            SubjectKind::User => "user",
            SubjectKind::Wallet => "wallet",
            SubjectKind::Transaction => "transaction",
        })
    }
}

/// One question the person must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The provider's key for the question.
    pub key: String,
    /// The question as shown to the person.
    pub label: String,
    /// The allowed answers (empty: free text).
    pub options: Vec<String>,
}

/// Something the person must do before the subject can clear.
///
/// `Debug` shows a link's host only: the link itself lets anyone answer as the person.
/// Serialising writes it in clear (for the page that hands it over).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequiredAction {
    /// Open a link (questionnaire, verification page). Hand it to the person; never log it.
    OpenLink {
        /// The link.
        url: String,
        /// When it stops working.
        expires_at: Option<Timestamp>,
        /// The provider's status of the link (`init`, `pending`...).
        status: Option<String>,
    },
    /// Answer these questions.
    AnswerQuestions {
        /// The questions.
        questions: Vec<Question>,
    },
}

impl fmt::Debug for RequiredAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequiredAction::OpenLink {
                url,
                expires_at,
                status,
            } => f
                .debug_struct("OpenLink")
                .field("url", &crate::secret::RedactedUrl(url))
                .field("expires_at", expires_at)
                .field("status", status)
                .finish(),
            RequiredAction::AnswerQuestions { questions } => f
                .debug_struct("AnswerQuestions")
                .field("questions", questions)
                .finish(),
        }
    }
}

/// The provider-neutral AML status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AmlStatus {
    /// Nothing stands in the way.
    Clear,
    /// The provider is still working; nothing for the person to do.
    Pending,
    /// The person must act; see the actions.
    ActionRequired {
        /// What to do.
        actions: Vec<RequiredAction>,
    },
    /// A human (the provider's or ours) is reviewing.
    UnderReview,
    /// Refused.
    Rejected,
    /// A provider status this crate cannot map; the raw value is kept.
    Unknown {
        /// The provider's status.
        raw: String,
    },
}

impl AmlStatus {
    /// A short label for tables and logs.
    pub fn label(&self) -> &str {
        match self {
            AmlStatus::Clear => "clear",
            AmlStatus::Pending => "pending",
            AmlStatus::ActionRequired { .. } => "action required",
            AmlStatus::UnderReview => "under review",
            AmlStatus::Rejected => "rejected",
            AmlStatus::Unknown { .. } => "unknown",
        }
    }
}

impl fmt::Display for AmlStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmlStatus::Unknown { raw } => write!(f, "unknown ({raw})"),
            other => f.write_str(other.label()),
        }
    }
}

/// A coarse risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        })
    }
}

/// A provider's risk score and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// The score on the provider's scale.
    #[serde(with = "crate::money::decimal")]
    pub score: Decimal,
    /// The level, by the provider's bands.
    pub level: RiskLevel,
}

/// The answer to "what is the AML state of this subject?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AmlState {
    /// Which provider answered ("heleket", "elkyc", "btcdirect"). Borrowed from the provider
    /// crate's constant when built; owned when deserialised, so a stored state reads back
    /// from any bytes.
    pub provider: Cow<'static, str>,
    /// The subject asked about.
    pub subject: Subject,
    /// The neutral status.
    pub status: AmlStatus,
    /// The risk, if the provider scores.
    pub risk: Option<Risk>,
    /// When the provider last changed the state, if it says.
    pub updated_at: Option<Timestamp>,
    /// The provider's own status, verbatim, for audit (`locked`, `IN_REVIEW`...).
    pub provider_status: String,
}

impl AmlState {
    /// A state with no risk and no update time.
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        subject: Subject,
        status: AmlStatus,
        provider_status: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            subject,
            status,
            risk: None,
            updated_at: None,
            provider_status: provider_status.into(),
        }
    }

    /// Sets the risk.
    pub fn with_risk(mut self, risk: Option<Risk>) -> Self {
        self.risk = risk;
        self
    }

    /// Sets when the provider last changed the state.
    pub fn with_updated_at(mut self, at: Option<Timestamp>) -> Self {
        self.updated_at = at;
        self
    }
}

/// Why an [`AmlProvider`] could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmlError {
    /// This provider does not know subjects of this kind (check
    /// [`AmlProvider::supports`] first).
    #[error("{provider} does not handle {kind} subjects")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// The kind asked about.
        kind: SubjectKind,
    },
    /// The provider call failed. `source` is the provider crate's own error type: its
    /// [`next_step`](Actionable::next_step) and [`status`](Actionable::status) are read
    /// through this error's [`Actionable`]; downcast it for anything else.
    #[error("{provider}: {source}")]
    Provider {
        /// The provider.
        provider: &'static str,
        /// What the provider crate's error says to do.
        next_step: NextStep,
        /// The provider's HTTP status, when it answered.
        status: Option<StatusCode>,
        /// The provider crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AmlError {
    /// Wraps a provider crate's error, keeping what it says to do.
    pub fn provider(provider: &'static str, source: impl Actionable) -> Self {
        AmlError::Provider {
            provider,
            next_step: source.next_step(),
            status: source.status(),
            source: Box::new(source),
        }
    }
}

impl Actionable for AmlError {
    /// The provider crate's error's step; [`NextStep::FixRequest`] for a subject kind the
    /// provider does not handle.
    fn next_step(&self) -> NextStep {
        match self {
            AmlError::Unsupported { .. } => NextStep::FixRequest,
            AmlError::Provider { next_step, .. } => *next_step,
        }
    }

    fn status(&self) -> Option<StatusCode> {
        match self {
            AmlError::Unsupported { .. } => None,
            AmlError::Provider { status, .. } => *status,
        }
    }
}

/// A provider that can tell the AML state of subjects.
///
/// Object safe: hold several as `Vec<Box<dyn AmlProvider>>`.
#[async_trait]
pub trait AmlProvider: Send + Sync {
    /// The provider's short name ("heleket", "elkyc", "btcdirect").
    fn provider(&self) -> &'static str;

    /// Whether this provider can answer for subjects of `kind`.
    fn supports(&self, kind: SubjectKind) -> bool;

    /// Asks the provider for the subject's current AML state.
    async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    #[async_trait]
    impl AmlProvider for Fixed {
        fn provider(&self) -> &'static str {
            "fixed"
        }
        fn supports(&self, kind: SubjectKind) -> bool {
            kind == SubjectKind::Payment
        }
        async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError> {
            if !self.supports(subject.kind()) {
                return Err(AmlError::Unsupported {
                    provider: "fixed",
                    kind: subject.kind(),
                });
            }
            Ok(AmlState::new(
                "fixed",
                subject.clone(),
                AmlStatus::Clear,
                "paid",
            ))
        }
    }

    #[test]
    fn providers_are_object_safe_and_answer_for_what_they_support() {
        let providers: Vec<Box<dyn AmlProvider>> = vec![Box::new(Fixed)];
        let pay = Subject::Payment {
            reference: SubjectRef::ExternalId("o-1".into()),
        };
        let user = Subject::User {
            reference: SubjectRef::ProviderId("u".into()),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for p in &providers {
            let state = rt.block_on(p.aml_state(&pay)).unwrap();
            assert_eq!(state.status, AmlStatus::Clear);
            assert!(matches!(
                rt.block_on(p.aml_state(&user)),
                Err(AmlError::Unsupported { .. })
            ));
        }
        assert_eq!(pay.to_string(), "payment o-1");
    }

    #[test]
    fn states_read_back_from_borrowed_bytes() {
        let state = AmlState::new(
            "fixed",
            Subject::Payment {
                reference: SubjectRef::ProviderId("u".into()),
            },
            AmlStatus::Clear,
            "paid",
        );
        // A buffer that does not live for `'static`: the provider is owned once read.
        let json = serde_json::to_string(&state).unwrap();
        let back: AmlState = serde_json::from_str(&json).unwrap();
        drop(json);
        assert_eq!(back, state);
        assert_eq!(back.provider, "fixed");
    }
}
