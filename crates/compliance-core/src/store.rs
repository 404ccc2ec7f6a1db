//! One source of truth for applicants, updated by webhooks and polling alike.
//!
//! Webhooks arrive out of order and concurrently with polling. An [`ApplicantStore`] keeps a
//! [`version`](ApplicantRecord::version) per record and refuses a write whose expected
//! version is not the current one ([`StoreError::Conflict`]), so two writers can never
//! silently overwrite each other: the loser re-reads and decides again. This maps directly
//! onto SQL (`UPDATE ... WHERE version = $expected`) or any compare-and-swap store.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::aml::AmlStatus;
use crate::time::Timestamp;

/// Identifies an applicant: the provider's name and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApplicantKey {
    /// The provider ("elkyc", "btcdirect"...).
    pub provider: String,
    /// The provider's id for the applicant.
    pub provider_id: String,
}

impl ApplicantKey {
    /// Builds a key.
    pub fn new(provider: impl Into<String>, provider_id: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            provider_id: provider_id.into(),
        }
    }
}

/// What the store knows about one applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApplicantRecord {
    /// Provider and provider id.
    pub key: ApplicantKey,
    /// Our own id for the person, as given to the provider (`externalUserId`).
    pub external_user_id: Option<String>,
    /// The provider's status, verbatim (for audit).
    pub provider_status: String,
    /// The provider-neutral reading of that status.
    pub aml_status: AmlStatus,
    /// When the provider says the applicant changed last; used to ignore older news.
    pub provider_updated_at: Option<Timestamp>,
    /// When the record was first stored.
    pub created_at: Timestamp,
    /// When the record was last written.
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version: 1 on insert, +1 on every write.
    pub version: u64,
}

impl ApplicantRecord {
    /// A new record (version 0 until stored).
    pub fn new(
        key: ApplicantKey,
        provider_status: impl Into<String>,
        aml_status: AmlStatus,
        now: Timestamp,
    ) -> Self {
        Self {
            key,
            external_user_id: None,
            provider_status: provider_status.into(),
            aml_status,
            provider_updated_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Sets the external user id.
    pub fn with_external_user_id(mut self, id: impl Into<String>) -> Self {
        self.external_user_id = Some(id.into());
        self
    }

    /// Sets when the provider last changed the applicant.
    pub fn with_provider_updated_at(mut self, at: Option<Timestamp>) -> Self {
        self.provider_updated_at = at;
        self
    }
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// No record with this key exists yet (insert).
    Absent,
    /// The record is at this version (update).
    Version(u64),
}

impl std::fmt::Display for ApplicantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.provider_id)
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Absent => f.write_str("no record"),
            Expected::Version(v) => write!(f, "version {v}"),
        }
    }
}

fn fmt_found(found: &Option<u64>) -> String {
    match found {
        Some(v) => format!("version {v}"),
        None => "no record".to_owned(),
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else wrote first: re-read and decide again.
    #[error(
        "applicant {key} changed concurrently: expected {expected}, found {}", fmt_found(.found)
    )]
    Conflict {
        /// The key.
        key: ApplicantKey,
        /// What the write expected.
        expected: Expected,
        /// The current version (`None`: no record).
        found: Option<u64>,
    },
    /// The storage behind the store failed.
    #[error("applicant storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Persists applicant records with optimistic concurrency.
#[async_trait]
pub trait ApplicantStore: Send + Sync {
    /// Looks a record up by key.
    async fn get(&self, key: &ApplicantKey) -> Result<Option<ApplicantRecord>, StoreError>;

    /// Looks a record up by the provider and our external user id.
    async fn find_by_external_id(
        &self,
        provider: &str,
        external_user_id: &str,
    ) -> Result<Option<ApplicantRecord>, StoreError>;

    /// Writes `record` if the stored state matches `expected`, and returns it as stored
    /// (with its new version and `updated_at` as given). Otherwise [`StoreError::Conflict`].
    async fn put(
        &self,
        record: ApplicantRecord,
        expected: Expected,
    ) -> Result<ApplicantRecord, StoreError>;
}

/// A thread-safe in-memory [`ApplicantStore`].
#[derive(Debug, Default)]
pub struct MemoryApplicantStore {
    records: Mutex<HashMap<ApplicantKey, ApplicantRecord>>,
}

impl MemoryApplicantStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, sorted by key (for reports and tests).
    pub fn all(&self) -> Vec<ApplicantRecord> {
        let mut v: Vec<_> = self.lock().values().cloned().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ApplicantKey, ApplicantRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ApplicantStore for MemoryApplicantStore {
    async fn get(&self, key: &ApplicantKey) -> Result<Option<ApplicantRecord>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn find_by_external_id(
        &self,
        provider: &str,
        external_user_id: &str,
    ) -> Result<Option<ApplicantRecord>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|r| {
                r.key.provider == provider
                    && r.external_user_id.as_deref() == Some(external_user_id)
            })
            .cloned())
    }

    async fn put(
        &self,
        mut record: ApplicantRecord,
        expected: Expected,
    ) -> Result<ApplicantRecord, StoreError> {
        let mut records = self.lock();
        let found = records.get(&record.key).map(|r| r.version);
        let ok = match expected {
            Expected::Absent => found.is_none(),
            Expected::Version(v) => found == Some(v),
        };
        if !ok {
            return Err(StoreError::Conflict {
                key: record.key,
                expected,
                found,
            });
        }
        if let Some(existing) = records.get(&record.key) {
            record.created_at = existing.created_at;
        }
        record.version = found.unwrap_or(0) + 1;
        records.insert(record.key.clone(), record.clone());
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn record(status: &str) -> ApplicantRecord {
        ApplicantRecord::new(
            ApplicantKey::new("elkyc", "a-1"),
            status,
            AmlStatus::Pending,
            Timestamp::UNIX_EPOCH,
        )
        .with_external_user_id("user-1")
    }

    #[test]
    fn insert_update_and_lookup() {
        block_on(async {
            let store = MemoryApplicantStore::new();
            let r = store.put(record("INIT"), Expected::Absent).await.unwrap();
            assert_eq!(r.version, 1);
            assert!(store.put(record("INIT"), Expected::Absent).await.is_err());
            let r = store
                .put(record("APPROVED"), Expected::Version(1))
                .await
                .unwrap();
            assert_eq!(r.version, 2);
            let found = store
                .find_by_external_id("elkyc", "user-1")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found.provider_status, "APPROVED");
            assert!(
                store
                    .find_by_external_id("btcdirect", "user-1")
                    .await
                    .unwrap()
                    .is_none()
            );
        });
    }

    #[test]
    fn concurrent_conflicting_updates_are_detected() {
        let store = Arc::new(MemoryApplicantStore::new());
        block_on(store.put(record("INIT"), Expected::Absent)).unwrap();
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let store = store.clone();
                    s.spawn(move || {
                        block_on(store.put(record(&format!("S{i}")), Expected::Version(1)))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict { found: Some(2), .. })))
            .count();
        assert_eq!((wins, conflicts), (1, 7));
        assert_eq!(
            block_on(store.get(&record("").key))
                .unwrap()
                .unwrap()
                .version,
            2
        );
    }
}
