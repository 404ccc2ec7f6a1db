//! Applying applicants to an `ApplicantStore`: out-of-order webhooks never overwrite newer
//! state (concurrent writers are the shared loop's, tested in compliance-core).

use compliance_core::aml::AmlStatus;
use compliance_core::store::{ApplicantKey, ApplicantStore, MemoryApplicantStore};
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

// Conflicting writers (re-read and decide again, give up after eight tries) are the shared
// loop's: compliance-core's `store::apply_newer` tests them.

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
