//! The stores beside the bare SQL they run, through the same driver and the same database
//! settings: inbox claim + complete, and an applicant compare-and-swap, on SQLite and on
//! PostgreSQL. The store's overhead is the ratio `store / bare` of each pair (target: at
//! most 1.2×; the crate README lists measured ratios).
//!
//! `cargo bench -p compliance-store --features postgres,test-util`. PostgreSQL is a
//! throwaway server from `TempPostgres` (`fsync=off`, so round trips, not disk flushes,
//! dominate and the overhead shows); SQLite is a file in the temporary directory with the
//! store's settings (WAL, `synchronous = FULL`), and a database in memory.
//!
//! Each pair runs through `bench-pair`, the workspace's harness: store and bare operations
//! alternate, so whatever else the machine does slows both alike; criterion reports each
//! side, and the row's line (`bench-pair row=store_postgres_inbox ratio=...`) gives the median
//! ratio store / bare of the paired samples. `cargo xtask bench --store` prints them as a
//! table.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bench_pair::compare_async;
use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox, Timestamp,
};
use compliance_store::postgres::sql as pg_sql;
use compliance_store::postgres::tokio_postgres::{self, NoTls};
use compliance_store::sqlite::rusqlite::Connection;
use compliance_store::sqlite::sql as lite_sql;
use compliance_store::test_util::TempPostgres;
use compliance_store::{PostgresStore, SqliteStore};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const EPOCH: &str = "1970-01-01T00:00:00.000000000Z";
const PENDING: &str = r#"{"status":"pending"}"#;
const LEASE_MICROS: i64 = 300_000_000;
/// The bare statements' claim token: as long as the store's random ones (32 hex digits), so
/// both sides write rows of the same size. Generating it is the store's cost, not the bare
/// statements'.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Fresh delivery keys, `prefix-000000000001`... (prefixes of one length on both sides, so
/// the rows are the same size).
struct Keys(&'static str, u64);

impl Keys {
    fn next(&mut self) -> String {
        self.1 += 1;
        format!("{}-{:012}", self.0, self.1)
    }
}

fn record() -> ApplicantRecord {
    ApplicantRecord::new(
        ApplicantKey::new("elkyc", "bench"),
        "0",
        AmlStatus::Pending,
        Timestamp::UNIX_EPOCH,
    )
    .with_external_user_id("user-bench")
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// A directory for the SQLite files, deleted at the end.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection with the store's settings, on a file the store has migrated.
fn bare_sqlite_file(path: &Path, rt: &Runtime) -> Connection {
    drop(rt.block_on(SqliteStore::open(path)).unwrap());
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn
}

fn sqlite_file(c: &mut Criterion) {
    let rt = runtime();
    let dir =
        Dir(std::env::temp_dir().join(format!("compliance-store-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let store = rt
        .block_on(SqliteStore::open(dir.0.join("store.db")))
        .unwrap();
    let bare = bare_sqlite_file(&dir.0.join("bare.db"), &rt);
    sqlite(c, "store_sqlite_file", &rt, &store, &bare);
}

/// In memory there is no disk flush to hide behind: what is left is the store's own cost
/// (the token, the mapping, the async calls), with no hand-off to another thread.
fn sqlite_memory(c: &mut Criterion) {
    let rt = runtime();
    let store = rt.block_on(SqliteStore::open_in_memory()).unwrap();
    let bare = Connection::open_in_memory().unwrap();
    // The store's whole schema, indexes included: each is work a write does.
    for migration in [
        include_str!("../src/sqlite/0001_initial.sql"),
        include_str!("../src/sqlite/0002_abandoned_claims.sql"),
    ] {
        bare.execute_batch(migration).unwrap();
    }
    sqlite(c, "store_sqlite_memory", &rt, &store, &bare);
}

fn sqlite(c: &mut Criterion, label: &str, rt: &Runtime, store: &SqliteStore, bare: &Connection) {
    let inbox = store.inbox("bench");
    let (mut store_keys, mut bare_keys) = (Keys("store", 0), Keys("bare-", 0));
    compare_async(
        c,
        &format!("{label}_inbox"),
        rt,
        async || {
            let key = store_keys.next();
            let Claim::Acquired(token) = inbox.claim(&key).await.unwrap() else {
                panic!()
            };
            inbox.complete(&key, &token).await.unwrap();
        },
        async || {
            let key = bare_keys.next();
            let now = now_micros();
            let token: String = bare
                .prepare_cached(lite_sql::CLAIM)
                .unwrap()
                .query_row(("bench", &key, TOKEN, now, now + LEASE_MICROS), |row| {
                    row.get(0)
                })
                .unwrap();
            let done = bare
                .prepare_cached(lite_sql::COMPLETE)
                .unwrap()
                .execute(("bench", &key, &token, now_micros()))
                .unwrap();
            black_box(done);
        },
    );

    let current = rt.block_on(store.put(record(), Expected::Absent)).unwrap();
    let mut store_version = current.version;
    let mut bare_version: i64 = bare
        .prepare_cached(lite_sql::INSERT)
        .unwrap()
        .query_row(
            (
                "elkyc",
                "bench",
                "user-bench",
                "0",
                PENDING,
                None::<String>,
                EPOCH,
                EPOCH,
            ),
            |r| r.get(1),
        )
        .unwrap();
    compare_async(
        c,
        &format!("{label}_cas"),
        rt,
        async || {
            let written = store
                .put(current.clone(), Expected::Version(store_version))
                .await
                .unwrap();
            store_version = written.version;
        },
        async || {
            bare_version = bare
                .prepare_cached(lite_sql::UPDATE)
                .unwrap()
                .query_row(
                    (
                        "elkyc",
                        "bench",
                        "user-bench",
                        "0",
                        PENDING,
                        None::<String>,
                        EPOCH,
                        bare_version,
                    ),
                    |r| r.get(1),
                )
                .unwrap();
        },
    );
}

fn postgres(c: &mut Criterion) {
    let Some(pg) = TempPostgres::shared() else {
        return;
    };
    let rt = runtime();
    let (store, bare) = rt.block_on(async {
        let store = PostgresStore::connect(&pg.create_database().await.unwrap())
            .await
            .unwrap();
        let bare_url = pg.create_database().await.unwrap();
        drop(PostgresStore::connect(&bare_url).await.unwrap());
        let (bare, connection) = tokio_postgres::connect(&bare_url, NoTls).await.unwrap();
        tokio::spawn(connection);
        (store, bare)
    });
    let inbox = store.inbox("bench");
    let (claim, complete, insert, update) = rt.block_on(async {
        (
            bare.prepare(pg_sql::CLAIM).await.unwrap(),
            bare.prepare(pg_sql::COMPLETE).await.unwrap(),
            bare.prepare(pg_sql::INSERT).await.unwrap(),
            bare.prepare(pg_sql::UPDATE).await.unwrap(),
        )
    });

    let (mut store_keys, mut bare_keys) = (Keys("store", 0), Keys("bare-", 0));
    compare_async(
        c,
        "store_postgres_inbox",
        &rt,
        async || {
            let key = store_keys.next();
            let Claim::Acquired(token) = inbox.claim(&key).await.unwrap() else {
                panic!()
            };
            inbox.complete(&key, &token).await.unwrap();
        },
        async || {
            let key = bare_keys.next();
            let row = bare
                .query_one(&claim, &[&"bench", &key, &TOKEN, &LEASE_MICROS])
                .await
                .unwrap();
            let token: &str = row.get(0);
            let done = bare
                .execute(&complete, &[&"bench", &key, &token])
                .await
                .unwrap();
            black_box(done);
        },
    );

    let current = rt.block_on(store.put(record(), Expected::Absent)).unwrap();
    let mut store_version = current.version;
    let none: Option<String> = None;
    let mut bare_version: i64 = rt
        .block_on(bare.query_one(
            &insert,
            &[
                &"elkyc",
                &"bench",
                &"user-bench",
                &"0",
                &PENDING,
                &none,
                &EPOCH,
                &EPOCH,
            ],
        ))
        .unwrap()
        .get(1);
    compare_async(
        c,
        "store_postgres_cas",
        &rt,
        async || {
            let written = store
                .put(current.clone(), Expected::Version(store_version))
                .await
                .unwrap();
            store_version = written.version;
        },
        async || {
            let row = bare
                .query_one(
                    &update,
                    &[
                        &"elkyc",
                        &"bench",
                        &"user-bench",
                        &"0",
                        &PENDING,
                        &none,
                        &EPOCH,
                        &bare_version,
                    ],
                )
                .await
                .unwrap();
            bare_version = row.get(1);
        },
    );
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion()
        .sample_size(60)
        .measurement_time(Duration::from_secs(10));
    targets = sqlite_file, sqlite_memory, postgres
}
criterion_main!(benches);
