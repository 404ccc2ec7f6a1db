//! The [`AmlProvider`] adapter of [`KycClient`] ([`KycAml`], made by [`KycClient::aml`]):
//! applicants, wallets and transactions in the provider-neutral shape.
//!
//! - [`Subject::Applicant`]: the status endpoint (a provider id or your external id, both
//!   go in the path); status mapped by [`ApplicantStatus::aml_status`](crate::ApplicantStatus::aml_status).
//! - [`Subject::Wallet`] / [`Subject::Transaction`]: the report, read fresh; risk from the
//!   score bands ([`risk_level`](crate::crypto_aml::risk_level)), status by
//!   [`CryptoAmlReport::aml_status`](crate::CryptoAmlReport::aml_status).
//!
//! A crypto-AML search creates a new report at the provider (possibly a billed one). So by
//! default ([`Screening::ReuseLatest`]) the view reuses the latest report it created or
//! recorded for the same blockchain and address or hash (by an earlier view or by
//! [`KycAml::search_crypto_aml`]), and searches only when it has none: the first view of a
//! target costs one search, later views one read. [`Screening::NewSearch`] makes every view
//! a new search, explicitly. The memory is the view's own, shared by its clones: the client
//! knows nothing of it, and [`KycClient::search_crypto_aml`] records nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use compliance_core::aml::{AmlError, AmlProvider, AmlState, AmlStatus, Subject, SubjectKind};

use crate::PROVIDER;
use crate::client::KycClient;
use crate::crypto_aml::{Blockchain, CryptoAmlRef, CryptoAmlSearch, CryptoAmlType, SearchTarget};
use crate::error::Error;

impl KycClient {
    /// This client as a provider-neutral [`AmlProvider`], screening with
    /// [`Screening::ReuseLatest`]. Make it once and clone it where it is needed: the reports
    /// it remembers are shared by its clones, not by other views of the same client.
    pub fn aml(&self) -> KycAml {
        KycAml {
            client: self.clone(),
            screening: Screening::default(),
            latest: Arc::default(),
        }
    }
}

/// A [`KycClient`] as an [`AmlProvider`], with the crypto-AML reports it created; made by
/// [`KycClient::aml`]. Cheap to clone; clones share the remembered reports.
#[derive(Debug, Clone)]
pub struct KycAml {
    client: KycClient,
    screening: Screening,
    latest: Arc<LatestReports>,
}

impl KycAml {
    /// How the view screens a wallet or transaction. Default [`Screening::ReuseLatest`]: one
    /// search per target, then the latest report is re-read.
    pub fn screening(mut self, screening: Screening) -> Self {
        self.screening = screening;
        self
    }

    /// The client the view asks.
    pub fn client(&self) -> &KycClient {
        &self.client
    }

    /// Searches like [`KycClient::search_crypto_aml`] and records the report, so that later
    /// views of the same target re-read it instead of searching again.
    pub async fn search_crypto_aml(&self, search: &CryptoAmlSearch) -> Result<CryptoAmlRef, Error> {
        let found = self.client.search_crypto_aml(search).await?;
        if let Some(id) = &found.id {
            let kind = found.kind.clone().unwrap_or_else(|| search.kind());
            self.latest.remember(search, id, kind);
        }
        Ok(found)
    }
}

#[async_trait]
impl AmlProvider for KycAml {
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
        let fail = |e: Error| AmlError::provider(PROVIDER, e);
        match subject {
            Subject::Applicant { reference } => {
                let info = self
                    .client
                    .applicant_status(reference.id())
                    .await
                    .map_err(fail)?;
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

/// How the AML view screens a wallet or a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Screening {
    /// Reuse the latest report this client created for the same blockchain and target, and
    /// search only when there is none (the default).
    #[default]
    ReuseLatest,
    /// Search again on every view: a new (possibly billed) report each time.
    NewSearch,
}

/// The most reports remembered; the oldest are forgotten first.
const REMEMBERED: usize = 4096;

/// What identifies a search's target: type, blockchain and the address, or the hash
/// lowercased without `0x`.
type TargetKey = (&'static str, String, String);

fn target_key(search: &CryptoAmlSearch) -> TargetKey {
    match &search.target {
        SearchTarget::Address(a) => ("WALLET", search.blockchain.as_str().to_owned(), a.clone()),
        SearchTarget::TxHash(h) => (
            "TRANSACTION",
            search.blockchain.as_str().to_owned(),
            h.strip_prefix("0x").unwrap_or(h).to_ascii_lowercase(),
        ),
    }
}

/// The latest report id per target, bounded.
#[derive(Debug, Default)]
struct LatestReports(Mutex<Remembered>);

/// Report ids by target, and the targets in the order first remembered.
#[derive(Debug, Default)]
struct Remembered {
    ids: HashMap<TargetKey, (String, CryptoAmlType)>,
    order: VecDeque<TargetKey>,
}

impl LatestReports {
    fn remember(&self, search: &CryptoAmlSearch, id: &str, kind: CryptoAmlType) {
        let key = target_key(search);
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let r = &mut *guard;
        if r.ids.insert(key.clone(), (id.to_owned(), kind)).is_none() {
            r.order.push_back(key);
            if r.order.len() > REMEMBERED
                && let Some(oldest) = r.order.pop_front()
            {
                r.ids.remove(&oldest);
            }
        }
    }

    fn latest(&self, search: &CryptoAmlSearch) -> Option<(String, CryptoAmlType)> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.ids.get(&target_key(search)).cloned()
    }
}

impl KycAml {
    async fn screen(
        &self,
        subject: &Subject,
        search: CryptoAmlSearch,
    ) -> Result<AmlState, AmlError> {
        let fail = |e: Error| AmlError::provider(PROVIDER, e);
        let latest = match self.screening {
            Screening::ReuseLatest => self.latest.latest(&search),
            Screening::NewSearch => None,
        };
        let (id, kind) = match latest {
            Some(found) => found,
            None => {
                let found = self.search_crypto_aml(&search).await.map_err(fail)?;
                let id = found.id.ok_or_else(|| {
                    fail(Error::Core(compliance_core::Error::decode(
                        "crypto AML search",
                        "data.id",
                        "the search answered no report id",
                        b"",
                    )))
                })?;
                (id, found.kind.unwrap_or_else(|| search.kind()))
            }
        };
        let report = self
            .client
            .crypto_aml_details(&id, &kind)
            .await
            .map_err(fail)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_keyed_like_the_provider_reads_them() {
        let latest = LatestReports::default();
        let hash = "Ab".repeat(32);
        latest.remember(
            &CryptoAmlSearch::transaction(Blockchain::Eth, format!("0x{hash}")),
            "r-1",
            CryptoAmlType::Transaction,
        );
        let same = CryptoAmlSearch::transaction(Blockchain::Eth, hash.to_lowercase());
        assert_eq!(
            latest.latest(&same),
            Some(("r-1".into(), CryptoAmlType::Transaction))
        );
        let other_chain = CryptoAmlSearch::transaction(Blockchain::Btc, hash.clone());
        assert_eq!(latest.latest(&other_chain), None);
        latest.remember(&same, "r-2", CryptoAmlType::Transaction);
        assert_eq!(latest.latest(&same).unwrap().0, "r-2", "the latest wins");
        for i in 0..REMEMBERED + 1 {
            latest.remember(
                &CryptoAmlSearch::address(Blockchain::Btc, format!("bc1q{i}")),
                "x",
                CryptoAmlType::Wallet,
            );
        }
        assert_eq!(
            latest.latest(&same),
            None,
            "bounded: the oldest is forgotten"
        );
        assert_eq!(latest.0.lock().unwrap().ids.len(), REMEMBERED);
    }
}
