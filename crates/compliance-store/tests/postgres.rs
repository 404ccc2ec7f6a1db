//! What only the PostgreSQL store has: migrations under an advisory lock shared by several
//! instances, and connections that can be lost in the middle of a statement.
#![cfg(all(feature = "postgres", unix))]

use std::time::Duration;

use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox, InboxError,
    StoreError, Timestamp,
};
use compliance_store::postgres::tokio_postgres::{self, Client, NoTls};
use compliance_store::test_util::TempPostgres;
use compliance_store::{Error, PostgresStore, SCHEMA_VERSION};

/// A fresh database's URL, or `None` when PostgreSQL is not installed (outside CI).
async fn database() -> Option<String> {
    Some(TempPostgres::shared()?.create_database().await.unwrap())
}

/// A plain connection beside the store's pool, as an operator (or another program) would
/// have.
async fn admin(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn recorded_versions(client: &Client) -> Vec<i64> {
    client
        .query(
            "SELECT version FROM compliance_store_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Waits until one of the store's connections waits for a lock, and returns its pid.
async fn waiting_store_backend(admin: &Client) -> i32 {
    for _ in 0..400 {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'compliance-store' \
                 AND datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the store's statement never started waiting for the lock");
}

async fn terminate(admin: &Client, pid: i32) {
    let row = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_connecting_at_once_apply_each_migration_once() {
    let Some(url) = database().await else { return };
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap().expect("every instance connects"));
    }
    assert_eq!(
        recorded_versions(&admin(&url).await).await,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let inbox = stores[0].inbox("tuum");
    let Claim::Acquired(token) = inbox.claim("k").await.unwrap() else {
        panic!()
    };
    assert_eq!(
        stores[5].inbox("tuum").claim("k").await.unwrap(),
        Claim::InProgress
    );
    stores[2].inbox("tuum").complete("k", &token).await.unwrap();
    assert_eq!(
        stores[4].inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
}

/// Every `log` record from the PostgreSQL driver (which logs the server's notices at INFO
/// from its connection task), for the whole test binary.
fn driver_log() -> &'static std::sync::Mutex<Vec<String>> {
    static LOG: std::sync::OnceLock<&'static Recorder> = std::sync::OnceLock::new();
    struct Recorder(std::sync::Mutex<Vec<String>>);
    impl log::Log for Recorder {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            if record.target().starts_with("tokio_postgres") {
                let line = format!("{} {}", record.level(), record.args());
                self.0.lock().unwrap().push(line);
            }
        }
        fn flush(&self) {}
    }
    &LOG.get_or_init(|| {
        let recorder: &'static Recorder = Box::leak(Box::new(Recorder(Default::default())));
        log::set_logger(recorder).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        recorder
    })
    .0
}

#[tokio::test]
async fn starting_on_a_migrated_database_logs_no_notice() {
    let log = driver_log();
    let Some(url) = database().await else { return };
    PostgresStore::connect(&url).await.unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    // The notice travels on the connection after the statement: one more round trip on the
    // pool's connection lets the driver's task read (and log) anything pending.
    let client = store.pool().get().await.unwrap();
    client.simple_query("SELECT 1").await.unwrap();
    drop(client);
    tokio::task::yield_now().await;
    let notices: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("already exists"))
        .cloned()
        .collect();
    assert!(notices.is_empty(), "{notices:?}");
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_as_it_is() {
    let Some(url) = database().await else { return };
    PostgresStore::connect(&url).await.unwrap();
    let admin = admin(&url).await;
    admin
        .execute(
            "INSERT INTO compliance_store_migrations (version, description) VALUES ($1, 'from the future')",
            &[&(SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    let err = PostgresStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert_eq!(
        recorded_versions(&admin).await,
        (1..=SCHEMA_VERSION + 1).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_mid_completion_is_an_error_and_the_claim_stays() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    let inbox = store.inbox("tuum");
    let Claim::Acquired(token) = inbox.claim("k").await.unwrap() else {
        panic!()
    };

    // An operator's transaction locks the row, so the completion waits inside the server;
    // then its connection is killed.
    let admin = admin(&url).await;
    admin
        .batch_execute("BEGIN; SELECT * FROM compliance_inbox WHERE key = 'k' FOR UPDATE")
        .await
        .unwrap();
    let completing = {
        let (inbox, token) = (inbox.clone(), token.clone());
        tokio::spawn(async move { inbox.complete("k", &token).await })
    };
    let observer = self::admin(&url).await;
    terminate(&observer, waiting_store_backend(&observer).await).await;
    let result = completing.await.unwrap();
    assert!(matches!(result, Err(InboxError::Storage(_))), "{result:?}");
    admin.batch_execute("ROLLBACK").await.unwrap();

    // Not done: the claim still holds, and its holder completes it on a new connection.
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
    inbox.complete("k", &token).await.unwrap();
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
}

/// A purge that finds an abandoned claim while another instance is taking the key over must
/// not delete the new claim: the takeover's row lock makes the purge wait, and the purge
/// then sees the row's new lease and leaves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_racing_a_takeover_keeps_the_new_claim() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    let inbox = store.inbox("tuum").with_lease(Duration::from_millis(50));
    let Claim::Acquired(abandoned) = inbox.claim("k").await.unwrap() else {
        panic!()
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Another instance takes the key over with the store's own statement, its transaction
    // not yet committed...
    let other = admin(&url).await;
    other.batch_execute("BEGIN").await.unwrap();
    let lease_micros: i64 = 3_600_000_000;
    let taken = other
        .query_opt(
            compliance_store::postgres::sql::CLAIM,
            &[&"tuum", &"k", &"token-of-the-new-holder", &lease_micros],
        )
        .await
        .unwrap();
    assert!(taken.is_some(), "the takeover acquires the expired claim");
    // ...while a purge of claims abandoned for a second waits for the row...
    let purging = {
        let inbox = inbox.clone();
        tokio::spawn(async move { inbox.purge(Duration::from_secs(1)).await })
    };
    let observer = admin(&url).await;
    waiting_store_backend(&observer).await;
    // ...until the takeover commits.
    other.batch_execute("COMMIT").await.unwrap();
    assert_eq!(purging.await.unwrap().unwrap(), 0, "the new claim is live");

    let row = observer
        .query_one(
            "SELECT token, lease_until > clock_timestamp() FROM compliance_inbox \
             WHERE inbox = 'tuum' AND key = 'k'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "token-of-the-new-holder");
    assert!(row.get::<_, bool>(1));
    assert!(matches!(
        inbox.complete("k", &abandoned).await,
        Err(InboxError::NotHeld { .. })
    ));
}

/// A database created by schema version 1 (compliance-store 0.1.0) is brought up to date
/// when a newer store connects, its keys kept.
#[tokio::test]
async fn a_version_1_database_is_upgraded_in_place() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    let Claim::Acquired(token) = store.inbox("tuum").claim("k").await.unwrap() else {
        panic!()
    };
    store.inbox("tuum").complete("k", &token).await.unwrap();
    drop(store);
    let admin = admin(&url).await;
    admin
        .batch_execute(
            "DROP TABLE compliance_queue; DROP INDEX compliance_inbox_claimed; \
             DELETE FROM compliance_store_migrations WHERE version > 1",
        )
        .await
        .unwrap();
    assert_eq!(recorded_versions(&admin).await, vec![1]);

    let store = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(
        recorded_versions(&admin).await,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let index = admin
        .query_opt(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'compliance_inbox_claimed'",
            &[],
        )
        .await
        .unwrap();
    assert!(index.is_some());
    assert_eq!(
        store.inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_mid_update_is_an_error_and_nothing_changed() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    let record = ApplicantRecord::new(
        ApplicantKey::new("elkyc", "a-1"),
        "INIT",
        AmlStatus::Pending,
        Timestamp::UNIX_EPOCH,
    );
    let stored = store.put(record, Expected::Absent).await.unwrap();

    let admin = admin(&url).await;
    admin
        .batch_execute("BEGIN; SELECT * FROM compliance_applicants FOR UPDATE")
        .await
        .unwrap();
    let updating = {
        let (store, mut next) = (store.clone(), stored.clone());
        next.provider_status = "APPROVED".into();
        tokio::spawn(async move { store.put(next, Expected::Version(1)).await })
    };
    let observer = self::admin(&url).await;
    terminate(&observer, waiting_store_backend(&observer).await).await;
    let result = updating.await.unwrap();
    assert!(matches!(result, Err(StoreError::Storage(_))), "{result:?}");
    admin.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.get(&stored.key).await.unwrap(), Some(stored));
}

#[tokio::test]
async fn an_unreachable_server_is_a_database_error_naming_the_cause() {
    let Some(pg) = TempPostgres::shared() else {
        return;
    };
    // A port with nothing listening: the server's port plus one is not ours, so find one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_ne!(port, pg.port());
    let err = PostgresStore::connect(&format!("postgres://postgres@127.0.0.1:{port}/x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("connect"), "{err}");
}

#[tokio::test]
async fn a_server_error_shows_the_servers_message() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    admin(&url)
        .await
        .batch_execute("DROP TABLE compliance_inbox")
        .await
        .unwrap();
    let result = store.inbox("tuum").claim("k").await;
    let Err(InboxError::Storage(cause)) = result else {
        panic!("{result:?}")
    };
    let text = cause.to_string();
    assert!(
        text.contains("compliance_inbox") && text.contains("42P01"),
        "{text}"
    );
}

/// A database created by schema version 2 (today's released migrations, applied as
/// compliance-store before the durable queue did, with a processed key in its inbox) gets
/// the queue table when a newer store connects, its keys kept.
#[tokio::test]
async fn a_version_2_database_gets_the_queue_in_place() {
    use compliance_core::webhook::{NewDelivery, StoredRequest};
    use compliance_store::{DeliveryState, Queue};

    let Some(url) = database().await else { return };
    let admin = admin(&url).await;
    admin
        .batch_execute(concat!(
            "CREATE TABLE compliance_store_migrations (version bigint PRIMARY KEY, \
             description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());",
            include_str!("../src/postgres/0001_initial.sql"),
            include_str!("../src/postgres/0002_abandoned_claims.sql"),
            "INSERT INTO compliance_store_migrations (version, description) VALUES \
               (1, 'inbox and applicants'), \
               (2, 'index of claimed keys, for purging abandoned claims'); \
             INSERT INTO compliance_inbox (inbox, key, state, token, lease_until, completed_at) \
               VALUES ('tuum', 'k', 'done', 't', now(), now());"
        ))
        .await
        .unwrap();
    assert_eq!(recorded_versions(&admin).await, vec![1, 2]);

    let store = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(recorded_versions(&admin).await, vec![1, 2, 3]);
    assert_eq!(
        store.inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
    let queue = store.queue("tuum");
    let request = StoredRequest::new(Vec::new(), b"{}".to_vec());
    queue
        .enqueue(NewDelivery::new("NTF-1", request))
        .await
        .unwrap();
    let row = queue.get("NTF-1").await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Queued);
}
