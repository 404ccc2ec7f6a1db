//! What only the SQLite store has: its file, its migrations, its lock, its connection's thread.
#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use compliance_core::{Claim, Inbox, InboxError};
use compliance_store::sqlite::rusqlite::Connection;
use compliance_store::{Error, SCHEMA_VERSION, SqliteOptions, SqliteStore};

/// A fresh directory, deleted at the end.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "compliance-store-sqlite-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(random)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("state.db")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn recorded_versions(path: &Path) -> Vec<i64> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version FROM compliance_store_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(" <- {s}"));
        source = s.source();
    }
    text
}

async fn acquire(inbox: &dyn Inbox, key: &str) -> compliance_core::ClaimToken {
    match inbox.claim(key).await.unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn opening_twice_migrates_once_and_uses_wal() {
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(store.path(), Some(dir.db().as_path()));
    drop(store);
    SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(
        recorded_versions(&dir.db()),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let conn = Connection::open(dir.db()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_opening_a_new_file_at_once_apply_each_migration_once() {
    let dir = Dir::new();
    let path = dir.db();
    let opens: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStore::open(path).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("every instance opens"));
    }
    assert_eq!(
        recorded_versions(&path),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    // And they share one inbox.
    let token = acquire(&stores[0].inbox("tuum"), "k").await;
    assert_eq!(
        stores[7].inbox("tuum").claim("k").await.unwrap(),
        Claim::InProgress
    );
    stores[3].inbox("tuum").complete("k", &token).await.unwrap();
    assert_eq!(
        stores[5].inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
}

/// A file created by schema version 1 (compliance-store 0.1.0) is brought up to date when
/// a newer store opens it, its keys kept.
#[tokio::test]
async fn a_version_1_file_is_upgraded_in_place() {
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let token = acquire(&store.inbox("tuum"), "k").await;
    store.inbox("tuum").complete("k", &token).await.unwrap();
    drop(store);
    Connection::open(dir.db())
        .unwrap()
        .execute_batch(
            "DROP TABLE compliance_queue; DROP INDEX compliance_inbox_claimed; \
             DELETE FROM compliance_store_migrations WHERE version > 1",
        )
        .unwrap();
    assert_eq!(recorded_versions(&dir.db()), vec![1]);

    let store = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(
        recorded_versions(&dir.db()),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let indexes: i64 = Connection::open(dir.db())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master \
             WHERE type = 'index' AND name = 'compliance_inbox_claimed'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 1);
    assert_eq!(
        store.inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_as_it_is() {
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let token = acquire(&store.inbox("tuum"), "k").await;
    store.inbox("tuum").complete("k", &token).await.unwrap();
    drop(store);
    Connection::open(dir.db())
        .unwrap()
        .execute(
            "INSERT INTO compliance_store_migrations (version, description, applied_at) \
             VALUES (?1, 'from the future', '2100-01-01T00:00:00.000000000Z')",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();

    let err = SqliteStore::open(dir.db()).await.unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("upgrade compliance-store"),
        "{err}"
    );
    assert_eq!(
        recorded_versions(&dir.db()),
        (1..=SCHEMA_VERSION + 1).collect::<Vec<_>>()
    );
    let kept: i64 = Connection::open(dir.db())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM compliance_inbox WHERE state = 'done'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn a_write_that_could_not_happen_is_an_error_and_did_not_happen() {
    let dir = Dir::new();
    let store = SqliteStore::open_with(
        dir.db(),
        SqliteOptions::new().busy_timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let inbox = store.inbox("tuum");
    let token = acquire(&inbox, "k").await;

    // Another process holds the write lock longer than the busy timeout.
    let other = Connection::open(dir.db()).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let result = inbox.complete("k", &token).await;
    let Err(InboxError::Storage(cause)) = result else {
        panic!("expected a storage error, got {result:?}")
    };
    assert!(chain(&*cause).contains("locked"), "{}", chain(&*cause));
    assert!(matches!(
        inbox.claim("other").await,
        Err(InboxError::Storage(_))
    ));
    other.execute_batch("ROLLBACK").unwrap();

    // Nothing was written: the key is still claimed, and the holder can complete it now.
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
    inbox.complete("k", &token).await.unwrap();
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
}

#[tokio::test(flavor = "current_thread")]
async fn a_waiting_statement_does_not_block_the_runtime() {
    let dir = Dir::new();
    let store = SqliteStore::open_with(
        dir.db(),
        SqliteOptions::new().busy_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let other = Connection::open(dir.db()).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();

    // One runtime thread: if the claim waited for the lock on it, the ticker could not run.
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let result = store.inbox("tuum").claim("k").await;
    ticker.abort();
    assert!(matches!(result, Err(InboxError::Storage(_))), "{result:?}");
    assert!(ticks.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn a_missing_directory_is_named_in_the_error() {
    let dir = Dir::new();
    let missing = dir.0.join("no-such-dir");
    let err = SqliteStore::open(missing.join("state.db"))
        .await
        .unwrap_err();
    // Configuration: retrying cannot create the directory.
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("directory {} does not exist", missing.display()))
            && text.contains("create it"),
        "{text}"
    );
    assert!(!missing.exists(), "the store must not create directories");
}

#[tokio::test]
async fn in_memory_stores_are_private_to_their_instance() {
    let a = SqliteStore::open_in_memory().await.unwrap();
    let b = SqliteStore::open_in_memory().await.unwrap();
    assert_eq!(a.path(), None);
    acquire(&a.inbox("tuum"), "k").await;
    assert_eq!(a.inbox("tuum").claim("k").await.unwrap(), Claim::InProgress);
    acquire(&b.inbox("tuum"), "k").await;
}

#[tokio::test]
async fn close_waits_until_the_file_is_closed() {
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let inbox = store.inbox("tuum");
    let token = acquire(&inbox, "k").await;
    inbox.complete("k", &token).await.unwrap();
    let wal = dir.0.join("state.db-wal");
    assert!(wal.exists());
    // An inbox still holds the store: closing it now would pull the file from under it.
    let err = store.clone().close().await.unwrap_err();
    assert!(err.to_string().contains("still in use"), "{err}");
    drop(inbox);
    store.close().await.unwrap();
    // SQLite removes the log when its last connection closes.
    assert!(!wal.exists(), "the connection is still open");
    let reopened = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(
        reopened.inbox("tuum").claim("k").await.unwrap(),
        Claim::AlreadyDone
    );
}

#[tokio::test]
async fn a_claim_whose_caller_left_does_not_hold_the_key() {
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let inbox = store.inbox("tuum");
    for i in 0..20 {
        let key = format!("k-{i}");
        // Polled once (the claim is sent to the connection's thread), then dropped, as a
        // timeout or a dropped request would.
        let mut claim = Box::pin(inbox.claim(&key));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(claimed) = claim.as_mut().poll(&mut cx) {
            // The connection's thread, awake from the last operation, answered before the
            // first poll ended: the caller heard, so it gives the key back itself.
            let Ok(Claim::Acquired(token)) = claimed else {
                panic!("{key}: {claimed:?}");
            };
            inbox.release(&key, &token).await.unwrap();
        }
        drop(claim);
        // The thread runs operations in the order sent: the dropped claim is done with
        // (skipped, or acquired and released) before this one runs.
        acquire(&inbox, &key).await;
    }
}

#[tokio::test]
async fn a_store_that_never_spins_answers_alike() {
    let dir = Dir::new();
    let store = SqliteStore::open_with(dir.db(), SqliteOptions::new().spin(Duration::ZERO))
        .await
        .unwrap();
    let inbox = store.inbox("tuum");
    let token = acquire(&inbox, "k").await;
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
    inbox.complete("k", &token).await.unwrap();
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
}

/// Runs `future` to its end on this thread, with no async runtime at all.
fn block_on<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[test]
fn a_file_store_needs_no_tokio_runtime() {
    let dir = Dir::new();
    block_on(async {
        let store = SqliteStore::open(dir.db()).await.unwrap();
        let inbox = store.inbox("tuum");
        let token = acquire(&inbox, "k").await;
        inbox.complete("k", &token).await.unwrap();
        assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
    });
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_and_its_log_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    let inbox = store.inbox("tuum");
    let token = acquire(&inbox, "applicant-1").await;
    inbox.complete("applicant-1", &token).await.unwrap();
    let mode = |suffix: &str| {
        let path = PathBuf::from(format!("{}{suffix}", dir.db().display()));
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(suffix), 0o600, "state.db{suffix}: {:o}", mode(suffix));
    }
    drop(inbox);
    store.close().await.unwrap();

    // An existing file keeps the mode its owner chose.
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let store = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(mode(""), 0o640);
    store.close().await.unwrap();
}

/// A file created by schema version 2 (today's released migrations, applied as
/// compliance-store before the durable queue did, with a processed key in its inbox) gets
/// the queue table when a newer store opens it, its keys kept.
#[tokio::test]
async fn a_version_2_file_gets_the_queue_in_place() {
    use compliance_core::webhook::{NewDelivery, StoredRequest};
    use compliance_store::{DeliveryState, Queue};

    let dir = Dir::new();
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(concat!(
        "CREATE TABLE compliance_store_migrations (version INTEGER PRIMARY KEY, \
         description TEXT NOT NULL, applied_at TEXT NOT NULL);",
        include_str!("../src/sqlite/0001_initial.sql"),
        include_str!("../src/sqlite/0002_abandoned_claims.sql"),
        "INSERT INTO compliance_store_migrations VALUES \
           (1, 'inbox and applicants', '2025-01-01T00:00:00Z'), \
           (2, 'index of claimed keys, for purging abandoned claims', '2025-01-01T00:00:00Z'); \
         INSERT INTO compliance_inbox (inbox, key, state, token, lease_until, completed_at) \
           VALUES ('tuum', 'k', 'done', 't', 0, 1);"
    ))
    .unwrap();
    drop(conn);
    assert_eq!(recorded_versions(&dir.db()), vec![1, 2]);

    let store = SqliteStore::open(dir.db()).await.unwrap();
    assert_eq!(SCHEMA_VERSION, 3);
    assert_eq!(recorded_versions(&dir.db()), vec![1, 2, 3]);
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
