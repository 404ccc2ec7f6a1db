//! The operators' listings (`ApplicantListing`, `InboxListing`) on every backend: filters,
//! sorting and paging done by the database, and 10,000 subjects paged without loading them.
//! Test names read `<case>::<backend>`.
#![cfg(any(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox,
    RequiredAction, Timestamp,
};
use compliance_store::listing::{
    ApplicantQuery, ApplicantSort, InboxKeyQuery, KeyState, MAX_PAGE_SIZE, StatusKind,
};
use compliance_store::{ApplicantListing, InboxListing};

/// What a case needs: the listings, the applicant store and inboxes of one database.
trait Backend: ApplicantStore + ApplicantListing + InboxListing + 'static {
    fn named_inbox(&self, name: &str) -> Arc<dyn Inbox>;
}

fn record(provider: &str, id: &str, status: AmlStatus, at: &str) -> ApplicantRecord {
    let at: Timestamp = at.parse().unwrap();
    let mut record = ApplicantRecord::new(ApplicantKey::new(provider, id), "RAW", status, at)
        .with_external_user_id(format!("customer-{id}"));
    record.updated_at = at;
    record
}

fn ids(page: &compliance_store::listing::ApplicantPage) -> Vec<&str> {
    page.records
        .iter()
        .map(|r| r.key.provider_id.as_str())
        .collect()
}

async fn filters_sort_and_page<B: Backend>(store: B) {
    let link = AmlStatus::ActionRequired {
        actions: vec![RequiredAction::OpenLink {
            url: "https://aml.example/q/1".into(),
            expires_at: None,
            status: Some("init".into()),
        }],
    };
    for record in [
        record("heleket", "p-1", link.clone(), "2025-01-01T00:00:01Z"),
        record("heleket", "p-2", AmlStatus::Clear, "2025-01-01T00:00:05Z"),
        record("elkyc", "a-1", AmlStatus::Pending, "2025-01-01T00:00:03Z"),
        record("elkyc", "a-2", AmlStatus::Rejected, "2025-01-01T00:00:02Z"),
        record("elkyc", "<script>", link, "2025-01-01T00:00:04Z"),
        record(
            "btcdirect",
            "u-1",
            AmlStatus::Unknown { raw: "odd".into() },
            "2025-01-01T00:00:06Z",
        ),
    ] {
        store.put(record, Expected::Absent).await.unwrap();
    }

    // Default: newest first, everything.
    let page = store
        .list_applicants(&ApplicantQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(ids(&page), ["u-1", "p-2", "<script>", "a-1", "a-2", "p-1"]);

    // Records come back whole: the status with its actions, the external id.
    let script = &page.records[2];
    assert!(
        matches!(&script.aml_status, AmlStatus::ActionRequired { actions } if actions.len() == 1)
    );
    assert_eq!(
        script.external_user_id.as_deref(),
        Some("customer-<script>")
    );

    let mut query = ApplicantQuery {
        provider: Some("elkyc".into()),
        ..ApplicantQuery::default()
    };
    let page = store.list_applicants(&query).await.unwrap();
    assert_eq!(
        (page.total, ids(&page)),
        (3, vec!["<script>", "a-1", "a-2"])
    );

    query.status = Some(StatusKind::ActionRequired);
    let page = store.list_applicants(&query).await.unwrap();
    assert_eq!((page.total, ids(&page)), (1, vec!["<script>"]));

    let query = ApplicantQuery {
        status: Some(StatusKind::ActionRequired),
        sort: ApplicantSort::Subject,
        descending: false,
        ..ApplicantQuery::default()
    };
    let page = store.list_applicants(&query).await.unwrap();
    assert_eq!(ids(&page), ["<script>", "p-1"]);

    // The search matches the provider id or the external id, as text (no LIKE wildcards).
    let query = ApplicantQuery {
        search: Some("customer-a".into()),
        sort: ApplicantSort::Subject,
        descending: false,
        ..ApplicantQuery::default()
    };
    assert_eq!(
        ids(&store.list_applicants(&query).await.unwrap()),
        ["a-1", "a-2"]
    );
    let query = ApplicantQuery {
        search: Some("%".into()),
        ..ApplicantQuery::default()
    };
    assert_eq!(store.list_applicants(&query).await.unwrap().total, 0);

    // Pages of two, by provider then id, ascending: stable and complete.
    let mut seen = Vec::new();
    for offset in [0, 2, 4, 6] {
        let query = ApplicantQuery {
            sort: ApplicantSort::Provider,
            descending: false,
            offset,
            limit: 2,
            ..ApplicantQuery::default()
        };
        let page = store.list_applicants(&query).await.unwrap();
        assert_eq!(page.total, 6);
        seen.extend(page.records.into_iter().map(|r| r.key.to_string()));
    }
    assert_eq!(
        seen,
        [
            "btcdirect/u-1",
            "elkyc/<script>",
            "elkyc/a-1",
            "elkyc/a-2",
            "heleket/p-1",
            "heleket/p-2"
        ]
    );

    let query = ApplicantQuery {
        sort: ApplicantSort::Status,
        descending: false,
        ..ApplicantQuery::default()
    };
    let statuses: Vec<_> = store
        .list_applicants(&query)
        .await
        .unwrap()
        .records
        .iter()
        .map(|r| r.aml_status.label().to_owned())
        .collect();
    assert_eq!(
        statuses,
        [
            "action required",
            "action required",
            "clear",
            "pending",
            "rejected",
            "unknown"
        ]
    );

    let counts: Vec<_> = store
        .applicant_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.provider, c.status, c.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("btcdirect".into(), "unknown".into(), 1),
            ("elkyc".into(), "action_required".into(), 1),
            ("elkyc".into(), "pending".into(), 1),
            ("elkyc".into(), "rejected".into(), 1),
            ("heleket".into(), "action_required".into(), 1),
            ("heleket".into(), "clear".into(), 1),
        ]
    );
}

async fn inbox_keys_by_state<B: Backend>(store: B) {
    let heleket = store.named_inbox("heleket");
    let tuum = store.named_inbox("tuum");
    for key in ["h-1", "h-2"] {
        let Claim::Acquired(token) = heleket.claim(key).await.unwrap() else {
            panic!("{key} not acquired");
        };
        heleket.complete(key, &token).await.unwrap();
    }
    let Claim::Acquired(_held) = tuum.claim("t-1").await.unwrap() else {
        panic!("t-1 not acquired");
    };
    let Claim::Acquired(token) = tuum.claim("t-2").await.unwrap() else {
        panic!("t-2 not acquired");
    };
    tuum.complete("t-2", &token).await.unwrap();

    let page = store
        .list_inbox_keys(&InboxKeyQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    // The claim's lease lies in the future: it is the most recent moment.
    assert_eq!(
        (
            page.keys[0].inbox.as_str(),
            page.keys[0].key.as_str(),
            page.keys[0].state
        ),
        ("tuum", "t-1", KeyState::Claimed)
    );
    let now = Timestamp::now();
    assert!(page.keys[0].at > now);
    assert!(
        page.keys[1..]
            .iter()
            .all(|k| k.state == KeyState::Done && k.at <= now)
    );

    let query = InboxKeyQuery {
        inbox: Some("heleket".into()),
        ..InboxKeyQuery::default()
    };
    let page = store.list_inbox_keys(&query).await.unwrap();
    let mut keys: Vec<_> = page.keys.iter().map(|k| k.key.as_str()).collect();
    keys.sort();
    assert_eq!((page.total, keys), (2, vec!["h-1", "h-2"]));

    let query = InboxKeyQuery {
        state: Some(KeyState::Claimed),
        ..InboxKeyQuery::default()
    };
    let page = store.list_inbox_keys(&query).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.keys[0].key, "t-1");

    let counts: Vec<_> = store
        .inbox_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.inbox, c.claimed, c.done))
        .collect();
    assert_eq!(counts, [("heleket".into(), 0, 2), ("tuum".into(), 1, 1)]);
}

/// 10,000 subjects (seeded in one transaction by the backend's own SQL): the first page, a
/// filtered page and the last page come back right, with the database doing the work. The
/// times are printed, not asserted (speed is measured, never asserted in tests).
async fn ten_thousand_subjects_page_in_the_database<B: Backend>(store: B) {
    let mut timings = Vec::new();
    let mut timed = async |what: &'static str, query: ApplicantQuery| {
        let started = Instant::now();
        let page = store.list_applicants(&query).await.unwrap();
        timings.push((what, started.elapsed()));
        page
    };
    let first = timed("first page", ApplicantQuery::default()).await;
    assert_eq!(first.total, 10_000);
    assert_eq!(first.records.len(), 50);
    assert_eq!(first.records[0].key.provider_id, "s-09999");

    let filtered = timed(
        "provider + status",
        ApplicantQuery {
            provider: Some("elkyc".into()),
            status: Some(StatusKind::Rejected),
            ..ApplicantQuery::default()
        },
    )
    .await;
    // i % 3 == 1 (elkyc) and i % 5 == 3 (rejected): i % 15 == 13.
    assert_eq!(filtered.total, 666);
    assert!(
        filtered
            .records
            .iter()
            .all(|r| r.key.provider == "elkyc" && r.aml_status == AmlStatus::Rejected)
    );

    let last = timed(
        "last page",
        ApplicantQuery {
            offset: 9_990,
            limit: MAX_PAGE_SIZE,
            ..ApplicantQuery::default()
        },
    )
    .await;
    assert_eq!(last.records.len(), 10);
    assert_eq!(last.records[9].key.provider_id, "s-00000");

    let started = Instant::now();
    let counts = store.applicant_counts().await.unwrap();
    timings.push(("counts", started.elapsed()));
    assert_eq!(counts.iter().map(|c| c.count).sum::<u64>(), 10_000);
    eprintln!("10,000 subjects: {timings:?}");
    assert!(timings.iter().all(|(_, t)| *t < Duration::from_secs(60)));
}

/// The seeded subject `i`: provider by `i % 3`, status by `i % 5`, written `i` seconds after
/// 2025-01-01.
fn seeded_status(i: usize) -> &'static str {
    match i % 5 {
        0 => r#"{"status":"clear"}"#,
        1 => r#"{"status":"pending"}"#,
        2 => r#"{"status":"action_required","actions":[]}"#,
        3 => r#"{"status":"rejected"}"#,
        _ => r#"{"status":"unknown","raw":"X"}"#,
    }
}

fn seeded_time(i: usize) -> String {
    let at = Timestamp::from_second(1_735_689_600 + i as i64).unwrap();
    format!("{}", at.strftime("%Y-%m-%dT%H:%M:%S.000000000Z"))
}

const PROVIDERS: [&str; 3] = ["heleket", "elkyc", "btcdirect"];

macro_rules! cases {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[cfg(feature = "sqlite")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _dir) = crate::sqlite::open(stringify!($case)).await;
                crate::$case(store).await;
            }

            #[cfg(all(feature = "postgres", unix))]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(store) = crate::postgres::open(stringify!($case)).await {
                    crate::$case(store).await;
                }
            }
        }
    )+};
}

cases!(
    filters_sort_and_page,
    inbox_keys_by_state,
    ten_thousand_subjects_page_in_the_database,
);

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use compliance_store::SqliteStore;
    use compliance_store::sqlite::rusqlite;

    impl Backend for SqliteStore {
        fn named_inbox(&self, name: &str) -> Arc<dyn Inbox> {
            Arc::new(self.inbox(name))
        }
    }

    /// A directory deleted on drop.
    pub struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A store in a fresh file; the 10,000-subject case gets its rows first.
    pub async fn open(case: &str) -> (SqliteStore, TempDir) {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "compliance-store-listing-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(random)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.db");
        let store = SqliteStore::open(&path).await.unwrap();
        if case == "ten_thousand_subjects_page_in_the_database" {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for i in 0..10_000 {
                let at = seeded_time(i);
                tx.execute(
                    "INSERT INTO compliance_applicants (provider, provider_id, external_user_id, \
                     provider_status, aml_status, provider_updated_at, created_at, updated_at, \
                     version) VALUES (?1, ?2, NULL, 'RAW', ?3, NULL, ?4, ?4, 1)",
                    (PROVIDERS[i % 3], format!("s-{i:05}"), seeded_status(i), &at),
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        (store, TempDir(dir))
    }
}

#[cfg(all(feature = "postgres", unix))]
mod postgres {
    use super::*;
    use compliance_store::PostgresStore;
    use compliance_store::postgres::tokio_postgres::{self, NoTls};
    use compliance_store::test_util::TempPostgres;

    impl Backend for PostgresStore {
        fn named_inbox(&self, name: &str) -> Arc<dyn Inbox> {
            Arc::new(self.inbox(name))
        }
    }

    /// A store on a fresh database, or `None` when PostgreSQL is not installed outside CI.
    pub async fn open(case: &str) -> Option<PostgresStore> {
        let url = TempPostgres::shared()?.create_database().await.unwrap();
        let store = PostgresStore::connect(&url).await.unwrap();
        if case == "ten_thousand_subjects_page_in_the_database" {
            let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
            tokio::spawn(connection);
            let tx = client.transaction().await.unwrap();
            let insert = tx
                .prepare(
                    "INSERT INTO compliance_applicants (provider, provider_id, external_user_id, \
                     provider_status, aml_status, provider_updated_at, created_at, updated_at, \
                     version) VALUES ($1, $2, NULL, 'RAW', $3::text::jsonb, NULL, $4, $4, 1)",
                )
                .await
                .unwrap();
            for i in 0..10_000 {
                let at = seeded_time(i);
                tx.execute(
                    &insert,
                    &[
                        &PROVIDERS[i % 3],
                        &format!("s-{i:05}"),
                        &seeded_status(i),
                        &at,
                    ],
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
        Some(store)
    }
}
