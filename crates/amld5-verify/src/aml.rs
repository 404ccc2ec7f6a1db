//! The [`AmlProvider`] adapter: a BTC Direct user's statuses in the provider-neutral shape,
//! for [`BtcDirectClient`] itself (users by identifier) and for [`UserAml`] (one user, by
//! session or identifier; made by [`BtcDirectClient::aml_for`]).

use async_trait::async_trait;
use compliance_core::aml::{
    AmlError, AmlProvider, AmlState, AmlStatus, RequiredAction, Subject, SubjectKind, SubjectRef,
};

use crate::PROVIDER;
use crate::auth::UserContext;
use crate::client::BtcDirectClient;
use crate::error::Error;
use crate::user::{AccountStatus, Amld5Status, DocumentState, StepStatus, UserStatus};

impl BtcDirectClient {
    /// An [`AmlProvider`] bound to one user (a logged-in session or an identifier).
    pub fn aml_for(&self, user: UserContext) -> UserAml {
        UserAml {
            client: self.clone(),
            user,
        }
    }
}

/// How a user's statuses read, before fetching questions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Clear,
    Pending,
    ActionRequired { amld5_open: bool },
    Rejected,
    Unknown(String),
}

/// Reads the account and step statuses of the user info, in this order:
///
/// 1. account `blocked` or identity `failed` → rejected (BTC Direct ended the process; only
///    its support can reopen it);
/// 2. AMLD5 `open`, email/identity/privacy `open` or `failed`, a document `rejected`, or the
///    account `not-validated` → the user must act (only the AMLD5 questionnaire can be
///    answered through this API; the other steps happen in BTC Direct's own flow; an account
///    that is not validated, and not blocked, waits for the user to finish identification);
/// 3. anything `pending` (account, steps, documents) → pending (BTC Direct is checking);
/// 4. a value this crate does not know → unknown, with that value;
/// 5. account `validated`, or no account status and AMLD5 and identity `verified` → clear.
///
/// A `missing` document or residential address alone decides nothing: which documents a user
/// needs depends on their level, and the identity status already says whether they are done.
fn assess(status: &UserStatus) -> Verdict {
    let details = status.details.as_ref();
    let steps: Vec<&StepStatus> = details
        .map(|d| {
            [
                &d.email_address_verification_status,
                &d.identity_verification_status,
                &d.privacy_agreement_verification_status,
            ]
            .into_iter()
            .flatten()
            .collect()
        })
        .unwrap_or_default();
    let identity = details.and_then(|d| d.identity_verification_status.as_ref());
    let amld5 = details.and_then(|d| d.amld5_verification_status.as_ref());
    let documents: Vec<&DocumentState> = details
        .map(|d| {
            d.identity_document_verification_status
                .iter()
                .filter_map(|doc| doc.status.as_ref())
                .collect()
        })
        .unwrap_or_default();
    let account = status.status.as_ref();

    if account == Some(&AccountStatus::Blocked) || identity == Some(&StepStatus::Failed) {
        return Verdict::Rejected;
    }
    let amld5_open = amld5 == Some(&Amld5Status::Open);
    if amld5_open
        || account == Some(&AccountStatus::NotValidated)
        || steps
            .iter()
            .any(|s| matches!(s, StepStatus::Open | StepStatus::Failed))
        || documents.contains(&&DocumentState::Rejected)
    {
        return Verdict::ActionRequired { amld5_open };
    }
    if account == Some(&AccountStatus::Pending)
        || steps.contains(&&StepStatus::Pending)
        || documents.contains(&&DocumentState::Pending)
    {
        return Verdict::Pending;
    }
    let unknown = account
        .filter(|a| !a.is_known())
        .map(|a| a.as_str())
        .or(amld5.filter(|a| !a.is_known()).map(|a| a.as_str()))
        .or(steps.iter().find(|s| !s.is_known()).map(|s| s.as_str()))
        .or(documents.iter().find(|s| !s.is_known()).map(|s| s.as_str()));
    if let Some(raw) = unknown {
        return Verdict::Unknown(raw.to_owned());
    }
    let verified = amld5 == Some(&Amld5Status::Verified) && identity == Some(&StepStatus::Verified);
    match account {
        Some(AccountStatus::Validated) => Verdict::Clear,
        None if verified => Verdict::Clear,
        Some(other) => Verdict::Unknown(other.as_str().to_owned()),
        None => Verdict::Unknown(String::new()),
    }
}

/// The statuses in one line, for [`AmlState::provider_status`]:
/// `account=validated amld5=verified identity=verified ...`.
fn summary(status: &UserStatus) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &status.status {
        parts.push(format!("account={a}"));
    }
    if let Some(d) = &status.details {
        let fields = [
            (
                "amld5",
                d.amld5_verification_status.as_ref().map(|s| s.as_str()),
            ),
            (
                "email",
                d.email_address_verification_status
                    .as_ref()
                    .map(|s| s.as_str()),
            ),
            (
                "identity",
                d.identity_verification_status.as_ref().map(|s| s.as_str()),
            ),
            (
                "privacy",
                d.privacy_agreement_verification_status
                    .as_ref()
                    .map(|s| s.as_str()),
            ),
            (
                "address",
                d.residential_address_verification_status
                    .as_ref()
                    .map(|s| s.as_str()),
            ),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                parts.push(format!("{name}={value}"));
            }
        }
        for doc in &d.identity_document_verification_status {
            parts.push(format!(
                "document:{}/{}={}",
                doc.document_type.as_ref().map_or("?", |t| t.as_str()),
                doc.document_side.as_ref().map_or("?", |t| t.as_str()),
                doc.status.as_ref().map_or("?", |t| t.as_str()),
            ));
        }
    }
    parts.join(" ")
}

/// The AML state of `user`: from the user info's statuses (see [`assess`]), with the AMLD5
/// questions fetched in the client's locale when the questionnaire is open; from the
/// verification-status list when the user info carries no statuses.
async fn aml_state(client: &BtcDirectClient, user: &UserContext) -> Result<AmlState, Error> {
    let info = client.user_info(user).await?;
    let identifier = user.user_identifier();
    let subject = Subject::User {
        reference: SubjectRef::ProviderId(identifier),
    };
    let locale = client.locale();
    let Some(status) = info.status.as_ref().filter(|s| s.details.is_some()) else {
        let pending = client.verification_status(user).await?;
        if pending.is_verified() {
            return Ok(AmlState::new(
                PROVIDER,
                subject,
                AmlStatus::Clear,
                "verified",
            ));
        }
        let names: Vec<&str> = pending.items.iter().map(|i| i.name.as_str()).collect();
        let actions = match pending.amld5_questions()? {
            Some(q) if !q.questions.is_empty() => vec![RequiredAction::AnswerQuestions {
                questions: q.to_core(),
            }],
            Some(_) => vec![RequiredAction::AnswerQuestions {
                questions: client.amld5_questions(user, locale).await?.to_core(),
            }],
            None => Vec::new(),
        };
        return Ok(AmlState::new(
            PROVIDER,
            subject,
            AmlStatus::ActionRequired { actions },
            format!("pending={}", names.join(",")),
        ));
    };
    let aml_status = match assess(status) {
        Verdict::Clear => AmlStatus::Clear,
        Verdict::Pending => AmlStatus::Pending,
        Verdict::Rejected => AmlStatus::Rejected,
        Verdict::Unknown(raw) => AmlStatus::Unknown { raw },
        Verdict::ActionRequired { amld5_open } => {
            let mut actions = Vec::new();
            if amld5_open {
                let questions = client.amld5_questions(user, locale).await?;
                actions.push(RequiredAction::AnswerQuestions {
                    questions: questions.to_core(),
                });
            }
            AmlStatus::ActionRequired { actions }
        }
    };
    Ok(AmlState::new(
        PROVIDER,
        subject,
        aml_status,
        summary(status),
    ))
}

fn aml_error(error: Error) -> AmlError {
    AmlError::provider(PROVIDER, error)
}

/// Answers for `Subject::User { reference: SubjectRef::ProviderId(identifier) }`, sending
/// the identifier as `User-Identifier`.
#[async_trait]
impl AmlProvider for BtcDirectClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, kind: SubjectKind) -> bool {
        kind == SubjectKind::User
    }

    async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError> {
        let Subject::User { reference } = subject else {
            return Err(AmlError::Unsupported {
                provider: PROVIDER,
                kind: subject.kind(),
            });
        };
        let SubjectRef::ProviderId(identifier) = reference else {
            return Err(aml_error(Error::Core(
                compliance_core::Error::invalid_request(
                    "subject",
                    "BTC Direct knows users by their identifier: use SubjectRef::ProviderId",
                ),
            )));
        };
        aml_state(self, &UserContext::identifier(identifier.clone()))
            .await
            .map_err(aml_error)
    }
}

/// A client bound to one user (session or identifier), as an [`AmlProvider`]; made by
/// [`BtcDirectClient::aml_for`]. It answers only for its own user's identifier.
#[derive(Debug, Clone)]
pub struct UserAml {
    client: BtcDirectClient,
    user: UserContext,
}

impl UserAml {
    /// The subject this provider answers for.
    pub fn subject(&self) -> Subject {
        Subject::User {
            reference: SubjectRef::ProviderId(self.user.user_identifier()),
        }
    }

    /// The user context (read the refreshed session from it).
    pub fn user(&self) -> &UserContext {
        &self.user
    }
}

#[async_trait]
impl AmlProvider for UserAml {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, kind: SubjectKind) -> bool {
        kind == SubjectKind::User
    }

    async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError> {
        if subject.kind() != SubjectKind::User {
            return Err(AmlError::Unsupported {
                provider: PROVIDER,
                kind: subject.kind(),
            });
        }
        if subject != &self.subject() {
            return Err(aml_error(Error::Core(
                compliance_core::Error::invalid_request(
                    "subject",
                    "this provider is bound to another user",
                ),
            )));
        }
        aml_state(&self.client, &self.user).await.map_err(aml_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> UserStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn statuses_map_honestly() {
        for (json, verdict) in [
            (
                r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified"}}"#,
                Verdict::Clear,
            ),
            (
                r#"{"details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified"}}"#,
                Verdict::Clear,
            ),
            (
                r#"{"status":"pending","details":{"amld5VerificationStatus":"open","identityVerificationStatus":"verified"}}"#,
                Verdict::ActionRequired { amld5_open: true },
            ),
            (
                r#"{"status":"pending","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"open"}}"#,
                Verdict::ActionRequired { amld5_open: false },
            ),
            (
                r#"{"status":"pending","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified","identityDocumentVerificationStatus":[{"documentType":"Passport","documentSide":"Front","status":"rejected"}]}}"#,
                Verdict::ActionRequired { amld5_open: false },
            ),
            (
                r#"{"status":"pending","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"pending"}}"#,
                Verdict::Pending,
            ),
            (
                r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified","identityDocumentVerificationStatus":[{"status":"pending"}]}}"#,
                Verdict::Pending,
            ),
            (
                r#"{"status":"blocked","details":{"amld5VerificationStatus":"open"}}"#,
                Verdict::Rejected,
            ),
            (
                r#"{"status":"pending","details":{"identityVerificationStatus":"failed","amld5VerificationStatus":"open"}}"#,
                Verdict::Rejected,
            ),
            (
                r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"expired"}}"#,
                Verdict::Unknown("expired".into()),
            ),
            (
                r#"{"status":"not-validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified"}}"#,
                Verdict::ActionRequired { amld5_open: false },
            ),
            (
                r#"{"status":"not-validated","details":{"amld5VerificationStatus":"open","identityVerificationStatus":"pending"}}"#,
                Verdict::ActionRequired { amld5_open: true },
            ),
            (
                r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified","identityDocumentVerificationStatus":[{"documentType":"Selfie","status":"missing"}],"residentialAddressVerificationStatus":"missing"}}"#,
                Verdict::Clear,
            ),
        ] {
            assert_eq!(assess(&status(json)), verdict, "{json}");
        }
    }

    #[test]
    fn summary_lists_every_status() {
        let s = status(
            r#"{"status":"blocked","details":{"amld5VerificationStatus":"verified","emailAddressVerificationStatus":"verified","identityVerificationStatus":"pending","privacyAgreementVerificationStatus":"failed","identityDocumentVerificationStatus":[{"documentType":"Passport","documentSide":"Front","status":"missing"}],"residentialAddressVerificationStatus":"present"}}"#,
        );
        assert_eq!(
            summary(&s),
            "account=blocked amld5=verified email=verified identity=pending privacy=failed address=present document:Passport/Front=missing"
        );
    }
}
