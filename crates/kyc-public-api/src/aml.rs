//! [`AmlProvider`] for [`KycClient`]: applicants, wallets and transactions in the
//! provider-neutral shape.
//!
//! - [`Subject::Applicant`]: the status endpoint (a provider id or your external id, both
//!   go in the path); status mapped by [`ApplicantStatus::aml_status`](crate::ApplicantStatus::aml_status).
//! - [`Subject::Wallet`] / [`Subject::Transaction`]: a crypto-AML search, then the report;
//!   risk from the score bands ([`risk_level`](crate::crypto_aml::risk_level)), status by
//!   [`CryptoAmlReport::aml_status`](crate::CryptoAmlReport::aml_status).

use async_trait::async_trait;
use compliance_core::aml::{AmlError, AmlProvider, AmlState, AmlStatus, Subject, SubjectKind};

use crate::client::KycClient;
use crate::crypto_aml::{Blockchain, CryptoAmlSearch};
use crate::error::Error;
use crate::store::PROVIDER;

#[async_trait]
impl AmlProvider for KycClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, kind: SubjectKind) -> bool {
        matches!(
            kind,
            SubjectKind::Applicant | SubjectKind::Wallet | SubjectKind::Transaction
        )
    }

    async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError> {
        let fail = |e: Error| AmlError::provider(PROVIDER, e.is_retryable(), e);
        match subject {
            Subject::Applicant { reference } => {
                let info = self.applicant_status(reference.id()).await.map_err(fail)?;
                let (status, raw) = match &info.status {
                    Some(s) => (s.aml_status(), s.as_str().to_owned()),
                    None => (AmlStatus::Unknown { raw: String::new() }, String::new()),
                };
                Ok(AmlState::new(PROVIDER, subject.clone(), status, raw))
            }
            Subject::Wallet {
                blockchain,
                address,
            } => {
                self.screen(
                    subject,
                    CryptoAmlSearch::address(Blockchain::from(blockchain.as_str()), address),
                )
                .await
            }
            Subject::Transaction { blockchain, hash } => {
                self.screen(
                    subject,
                    CryptoAmlSearch::transaction(Blockchain::from(blockchain.as_str()), hash),
                )
                .await
            }
            other => Err(AmlError::Unsupported {
                provider: PROVIDER,
                kind: other.kind(),
            }),
        }
    }
}

impl KycClient {
    async fn screen(
        &self,
        subject: &Subject,
        search: CryptoAmlSearch,
    ) -> Result<AmlState, AmlError> {
        let fail = |e: Error| AmlError::provider(PROVIDER, e.is_retryable(), e);
        let found = self.search_crypto_aml(&search).await.map_err(fail)?;
        let id = found.id.ok_or_else(|| {
            fail(Error::Core(compliance_core::Error::decode(
                "crypto AML search",
                "data.id",
                "the search answered no report id",
                b"",
            )))
        })?;
        let kind = found.kind.unwrap_or_else(|| search.kind());
        let report = self.crypto_aml_details(&id, &kind).await.map_err(fail)?;
        let raw = report
            .review_status
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        Ok(
            AmlState::new(PROVIDER, subject.clone(), report.aml_status(), raw)
                .with_risk(report.risk())
                .with_updated_at(report.updated_at()),
        )
    }
}
