//! Applying applicants to an `ApplicantStore`: out-of-order webhooks never overwrite newer
//! state; concurrent writers are retried by re-reading.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use compliance_core::aml::AmlStatus;
use compliance_core::store::{
    ApplicantKey, ApplicantRecord, ApplicantStore, Expected, MemoryApplicantStore, StoreError,
};
use compliance_core::time::Timestamp;
use kyc_public_api::store::{ApplicantUpdate, Applied, apply};
use kyc_public_api::{Applicant, ApplicantStatus};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn out_of_order_updates_never_overwrite_newer_state() {
    let store = MemoryApplicantStore::new();
    let now = at("2025-07-04T13:00:00Z");
    let approved =
        ApplicantUpdate::new("a-1", ApplicantStatus::Approved, at("2025-07-04T12:00:02Z"))
            .with_external_user_id("user-1");
    let in_review =
        ApplicantUpdate::new("a-1", ApplicantStatus::InReview, at("2025-07-04T12:00:01Z"));

    let first = apply(&store, &approved, now).await.unwrap();
    assert!(matches!(first, Applied::Inserted(_)));
    assert_eq!(first.record().version, 1);
    assert_eq!(first.record().aml_status, AmlStatus::Clear);

    // The older webhook arrives late: ignored.
    let late = apply(&store, &in_review, now).await.unwrap();
    assert!(matches!(late, Applied::Stale(_)));
    assert_eq!(late.record().provider_status, "APPROVED");
    // A redelivery of the same news: ignored too.
    assert!(matches!(
        apply(&store, &approved, now).await.unwrap(),
        Applied::Stale(_)
    ));

    // Newer news wins.
    let rejected =
        ApplicantUpdate::new("a-1", ApplicantStatus::Rejected, at("2025-07-04T12:30:00Z"));
    let updated = apply(&store, &rejected, now).await.unwrap();
    assert!(matches!(updated, Applied::Updated(_)));
    let record = store
        .get(&ApplicantKey::new("elkyc", "a-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.provider_status, "REJECTED");
    assert_eq!(record.aml_status, AmlStatus::Rejected);
    assert_eq!(record.version, 2);
    assert_eq!(record.external_user_id.as_deref(), Some("user-1"));
    assert_eq!(record.provider_updated_at, Some(at("2025-07-04T12:30:00Z")));
}

#[tokio::test]
async fn updates_come_from_responses_too() {
    let applicant: Applicant = serde_json::from_str(
        r#"{"id":"a-2","externalUserId":"u-2","status":"IN_REVIEW","updatedAt":"2025-07-04T12:00:00.5Z"}"#,
    )
    .unwrap();
    let update = ApplicantUpdate::from_applicant(&applicant, at("2025-07-04T13:00:00Z")).unwrap();
    assert_eq!(update.at, at("2025-07-04T12:00:00.5Z"));
    assert_eq!(update.external_user_id.as_deref(), Some("u-2"));
    let no_id: Applicant = serde_json::from_str(r#"{"status":"INIT"}"#).unwrap();
    assert!(ApplicantUpdate::from_applicant(&no_id, at("2025-07-04T13:00:00Z")).is_none());
    let store = MemoryApplicantStore::new();
    let r = apply(&store, &update, at("2025-07-04T13:00:00Z"))
        .await
        .unwrap();
    assert_eq!(r.record().aml_status, AmlStatus::UnderReview);
}

/// A store where someone else writes just before each of our first `n` writes.
struct Contended {
    inner: MemoryApplicantStore,
    interleave: AtomicUsize,
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
        if self.interleave.load(Ordering::SeqCst) > 0 {
            self.interleave.fetch_sub(1, Ordering::SeqCst);
            // A concurrent webhook (older news) lands first and bumps the version.
            let mut theirs = self.inner.get(&record.key).await?.unwrap();
            theirs.provider_status = "IN_PROGRESS".into();
            let v = theirs.version;
            self.inner.put(theirs, Expected::Version(v)).await?;
        }
        self.inner.put(record, expected).await
    }
}

#[tokio::test]
async fn conflicts_are_retried_by_re_reading() {
    let store = Contended {
        inner: MemoryApplicantStore::new(),
        interleave: AtomicUsize::new(0),
    };
    let t0 = at("2025-07-04T12:00:00Z");
    apply(
        &store,
        &ApplicantUpdate::new("a-3", ApplicantStatus::Init, t0),
        t0,
    )
    .await
    .unwrap();
    store.interleave.store(2, Ordering::SeqCst);
    let newer = ApplicantUpdate::new("a-3", ApplicantStatus::Approved, at("2025-07-04T12:10:00Z"));
    let r = apply(&store, &newer, t0).await.unwrap();
    assert!(matches!(r, Applied::Updated(_)));
    assert_eq!(r.record().provider_status, "APPROVED");
    assert_eq!(r.record().version, 4, "two concurrent writes, then ours");

    // Endless contention gives up with the store's conflict, not a loop.
    store.interleave.store(1_000, Ordering::SeqCst);
    let newest = ApplicantUpdate::new("a-3", ApplicantStatus::Rejected, at("2025-07-04T12:20:00Z"));
    assert!(matches!(
        apply(&store, &newest, t0).await,
        Err(StoreError::Conflict { .. })
    ));
}

#[tokio::test]
async fn a_distinct_change_stamped_with_the_same_millisecond_is_kept() {
    let store = MemoryApplicantStore::new();
    let now = at("2025-07-04T13:00:00Z");
    let t = at("2025-07-04T12:00:00.123Z");
    let in_review = ApplicantUpdate::new("a-1", ApplicantStatus::InReview, t);
    let approved = ApplicantUpdate::new("a-1", ApplicantStatus::Approved, t);
    assert!(matches!(
        apply(&store, &in_review, now).await.unwrap(),
        Applied::Inserted(_)
    ));
    // Another status at the same provider time: a second change, not old news.
    let second = apply(&store, &approved, now).await.unwrap();
    assert!(matches!(second, Applied::Updated(_)), "{second:?}");
    assert_eq!(second.record().provider_status, "APPROVED");
    // The same status at the same time is the same news.
    assert!(matches!(
        apply(&store, &approved, now).await.unwrap(),
        Applied::Stale(_)
    ));
    // Older news stays old.
    let older = ApplicantUpdate::new(
        "a-1",
        ApplicantStatus::InProgress,
        at("2025-07-04T12:00:00.122Z"),
    );
    assert!(matches!(
        apply(&store, &older, now).await.unwrap(),
        Applied::Stale(_)
    ));
}
