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

/// One observation of an applicant at the provider: its status, and when the provider was
/// in it (the provider's own time, which orders observations).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApplicantNews {
    /// Which applicant.
    pub key: ApplicantKey,
    /// Your id for the person, if known.
    pub external_user_id: Option<String>,
    /// The provider's status, verbatim.
    pub provider_status: String,
    /// Its provider-neutral reading.
    pub aml_status: AmlStatus,
    /// When the provider was in this state.
    pub at: Timestamp,
}

impl ApplicantNews {
    /// News of `key` in `provider_status` at `at`.
    pub fn new(
        key: ApplicantKey,
        provider_status: impl Into<String>,
        aml_status: AmlStatus,
        at: Timestamp,
    ) -> Self {
        Self {
            key,
            external_user_id: None,
            provider_status: provider_status.into(),
            aml_status,
            at,
        }
    }

    /// Sets the external user id.
    pub fn with_external_user_id(mut self, id: impl Into<String>) -> Self {
        self.external_user_id = Some(id.into());
        self
    }
}

/// What [`apply_newer`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Applied {
    /// A new record was stored.
    Inserted(ApplicantRecord),
    /// The record was updated.
    Updated(ApplicantRecord),
    /// The store already holds this news or newer; nothing was written.
    Stale(ApplicantRecord),
}

impl Applied {
    /// The record as it now stands.
    pub fn record(&self) -> &ApplicantRecord {
        match self {
            Self::Inserted(r) | Self::Updated(r) | Self::Stale(r) => r,
        }
    }
}

/// How many times [`apply_newer`] re-reads after a conflicting write before giving up.
const MAX_ATTEMPTS: usize = 8;

/// Writes `news` to `store` unless the store already holds the same or newer news (by
/// [`ApplicantRecord::provider_updated_at`]). `now` stamps the write. When another writer
/// got there first ([`StoreError::Conflict`]) it re-reads and decides again, up to eight
/// times.
///
/// A different status stamped with the same provider time as the stored one is applied:
/// providers write times to the millisecond, two distinct changes can share one, and
/// dropping the second would lose it. The same status at the same time is the same news:
/// stale.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use compliance_core::store::{ApplicantKey, ApplicantNews, Applied, MemoryApplicantStore, apply_newer};
/// use compliance_core::{AmlStatus, Timestamp};
///
/// let store = MemoryApplicantStore::new();
/// let key = ApplicantKey::new("elkyc", "a-1");
/// let approved = ApplicantNews::new(key.clone(), "APPROVED", AmlStatus::Clear, "2025-07-04T12:00:02Z".parse()?);
/// let late = ApplicantNews::new(key, "IN_REVIEW", AmlStatus::UnderReview, "2025-07-04T12:00:01Z".parse()?);
/// let now = Timestamp::now();
/// assert!(matches!(apply_newer(&store, &approved, now).await?, Applied::Inserted(_)));
/// assert!(matches!(apply_newer(&store, &late, now).await?, Applied::Stale(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn apply_newer<S: ApplicantStore + ?Sized>(
    store: &S,
    news: &ApplicantNews,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = store.get(&news.key).await?;
        let (record, expected) = match &current {
            Some(existing) => {
                let same_news = existing.provider_status == news.provider_status;
                if existing
                    .provider_updated_at
                    .is_some_and(|stored| stored > news.at || (stored == news.at && same_news))
                {
                    return Ok(Applied::Stale(existing.clone()));
                }
                let mut record = existing.clone();
                record.provider_status = news.provider_status.clone();
                record.aml_status = news.aml_status.clone();
                record.provider_updated_at = Some(news.at);
                record.updated_at = now;
                if let Some(id) = &news.external_user_id {
                    record.external_user_id = Some(id.clone());
                }
                (record, Expected::Version(existing.version))
            }
            None => {
                let mut record = ApplicantRecord::new(
                    news.key.clone(),
                    news.provider_status.clone(),
                    news.aml_status.clone(),
                    now,
                )
                .with_provider_updated_at(Some(news.at));
                if let Some(id) = &news.external_user_id {
                    record = record.with_external_user_id(id.clone());
                }
                (record, Expected::Absent)
            }
        };
        match store.put(record, expected).await {
            Ok(stored) if current.is_some() => return Ok(Applied::Updated(stored)),
            Ok(stored) => return Ok(Applied::Inserted(stored)),
            Err(StoreError::Conflict { .. }) if attempt < MAX_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
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

    /// A store where another writer bumps the record just before each of our first
    /// `conflicts` writes.
    struct Contended {
        inner: MemoryApplicantStore,
        conflicts: Mutex<usize>,
    }

    #[async_trait]
    impl ApplicantStore for Contended {
        async fn get(&self, key: &ApplicantKey) -> Result<Option<ApplicantRecord>, StoreError> {
            self.inner.get(key).await
        }
        async fn find_by_external_id(
            &self,
            provider: &str,
            id: &str,
        ) -> Result<Option<ApplicantRecord>, StoreError> {
            self.inner.find_by_external_id(provider, id).await
        }
        async fn put(
            &self,
            record: ApplicantRecord,
            expected: Expected,
        ) -> Result<ApplicantRecord, StoreError> {
            let interfere = {
                let mut left = self.conflicts.lock().unwrap();
                let go = *left > 0;
                *left = left.saturating_sub(1);
                go
            };
            if interfere && let Some(current) = self.inner.get(&record.key).await? {
                let version = current.version;
                self.inner.put(current, Expected::Version(version)).await?;
            }
            self.inner.put(record, expected).await
        }
    }

    fn news(status: &str, at: &str) -> ApplicantNews {
        ApplicantNews::new(
            ApplicantKey::new("elkyc", "a-1"),
            status,
            AmlStatus::Pending,
            at.parse().unwrap(),
        )
    }

    #[test]
    fn newer_news_wins_and_older_news_is_stale() {
        block_on(async {
            let store = MemoryApplicantStore::new();
            let now = Timestamp::UNIX_EPOCH;
            let first = news("APPROVED", "2025-07-04T12:00:02Z").with_external_user_id("u-1");
            assert!(matches!(
                apply_newer(&store, &first, now).await.unwrap(),
                Applied::Inserted(_)
            ));
            for stale in [first.clone(), news("IN_REVIEW", "2025-07-04T12:00:01Z")] {
                let r = apply_newer(&store, &stale, now).await.unwrap();
                assert!(matches!(r, Applied::Stale(_)), "{r:?}");
                assert_eq!(r.record().provider_status, "APPROVED");
            }
            // Another status at the same millisecond is news.
            let same_time = news("REJECTED", "2025-07-04T12:00:02Z");
            let r = apply_newer(&store, &same_time, now).await.unwrap();
            assert!(matches!(r, Applied::Updated(_)), "{r:?}");
            assert_eq!(r.record().version, 2);
            assert_eq!(r.record().external_user_id.as_deref(), Some("u-1"));
        });
    }

    #[test]
    fn conflicts_are_re_read_then_given_up() {
        block_on(async {
            let store = Contended {
                inner: MemoryApplicantStore::new(),
                conflicts: Mutex::new(0),
            };
            let now = Timestamp::UNIX_EPOCH;
            apply_newer(&store, &news("INIT", "2025-07-04T12:00:00Z"), now)
                .await
                .unwrap();
            *store.conflicts.lock().unwrap() = 3;
            let r = apply_newer(&store, &news("APPROVED", "2025-07-04T12:00:01Z"), now)
                .await
                .unwrap();
            assert!(matches!(r, Applied::Updated(_)), "{r:?}");
            assert_eq!(r.record().version, 5);
            *store.conflicts.lock().unwrap() = MAX_ATTEMPTS;
            let err = apply_newer(&store, &news("REJECTED", "2025-07-04T12:00:02Z"), now)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        });
    }
}
