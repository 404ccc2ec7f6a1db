//! The stores beside the bare SQL they run, through the same driver and the same database
//! settings: inbox claim + complete, and an applicant compare-and-swap, on SQLite and on
//! PostgreSQL. The store's overhead is the ratio `store / bare` of each pair (target: at
//! most 1.2×; the crate README lists measured ratios).
//!
//! `cargo bench -p compliance-store --features postgres,test-util`. PostgreSQL is a
//! throwaway server from `TempPostgres` (`fsync=off`, so round trips, not disk flushes,
//! dominate and the overhead shows); SQLite is a file in the temporary directory with the
//! store's settings (WAL, `synchronous = FULL`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox, Timestamp,
};
use compliance_store::postgres::tokio_postgres::{self, NoTls};
use compliance_store::sqlite::rusqlite::Connection;
use compliance_store::test_util::TempPostgres;
use compliance_store::{PostgresStore, SqliteStore};
use compliance_store::{postgres::sql as pg_sql, sqlite::sql as lite_sql};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_key() -> String {
    format!("NTF-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn record(status: &str) -> ApplicantRecord {
    ApplicantRecord::new(
        ApplicantKey::new("elkyc", "bench"),
        status,
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
fn bare_sqlite(path: &Path, rt: &Runtime) -> Connection {
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
    let bare = bare_sqlite(&dir.0.join("bare.db"), &rt);
    sqlite(c, "sqlite file", &rt, &store, &bare);
}

/// In memory there is no disk flush to hide behind: what is left is the store's own cost
/// (the hop to the blocking pool, the token, the mapping).
fn sqlite_memory(c: &mut Criterion) {
    let rt = runtime();
    let store = rt.block_on(SqliteStore::open_in_memory()).unwrap();
    let bare = Connection::open_in_memory().unwrap();
    bare.execute_batch(include_str!("../src/sqlite/0001_initial.sql"))
        .unwrap();
    sqlite(c, "sqlite in memory", &rt, &store, &bare);
}

fn sqlite(c: &mut Criterion, label: &str, rt: &Runtime, store: &SqliteStore, bare: &Connection) {
    let inbox = store.inbox("bench");

    let mut group = c.benchmark_group(format!("{label}: inbox claim + complete"));
    group.bench_function("store", |b| {
        b.to_async(rt).iter(|| async {
            let key = next_key();
            let Claim::Acquired(token) = inbox.claim(&key).await.unwrap() else {
                panic!()
            };
            inbox.complete(&key, &token).await.unwrap();
        })
    });
    group.bench_function("bare SQL", |b| {
        b.iter(|| {
            let key = next_key();
            let now = now_micros();
            let token: String = bare
                .prepare_cached(lite_sql::CLAIM)
                .unwrap()
                .query_row(("bench", &key, "token", now, now + 300_000_000), |row| {
                    row.get(0)
                })
                .unwrap();
            let done = bare
                .prepare_cached(lite_sql::COMPLETE)
                .unwrap()
                .execute(("bench", &key, &token, now_micros()))
                .unwrap();
            black_box(done);
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("{label}: applicant compare-and-swap"));
    let current = rt
        .block_on(store.put(record("0"), Expected::Absent))
        .unwrap();
    let version = AtomicU64::new(current.version);
    group.bench_function("store", |b| {
        b.to_async(rt).iter(|| async {
            let expected = version.load(Ordering::Relaxed);
            let written = store
                .put(current.clone(), Expected::Version(expected))
                .await
                .unwrap();
            version.store(written.version, Ordering::Relaxed);
        })
    });
    let epoch = "1970-01-01T00:00:00.000000000Z";
    let mut version: i64 = bare
        .prepare_cached(lite_sql::INSERT)
        .unwrap()
        .query_row(
            (
                "elkyc",
                "bench",
                "user-bench",
                "0",
                r#"{"status":"pending"}"#,
                None::<String>,
                epoch,
                epoch,
            ),
            |r| r.get(1),
        )
        .unwrap();
    group.bench_function("bare SQL", |b| {
        b.iter(|| {
            version = bare
                .prepare_cached(lite_sql::UPDATE)
                .unwrap()
                .query_row(
                    (
                        "elkyc",
                        "bench",
                        "user-bench",
                        "0",
                        r#"{"status":"pending"}"#,
                        None::<String>,
                        epoch,
                        version,
                    ),
                    |r| r.get(1),
                )
                .unwrap();
        })
    });
    group.finish();
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

    let mut group = c.benchmark_group("postgres: inbox claim + complete");
    group.bench_function("store", |b| {
        b.to_async(&rt).iter(|| async {
            let key = next_key();
            let Claim::Acquired(token) = inbox.claim(&key).await.unwrap() else {
                panic!()
            };
            inbox.complete(&key, &token).await.unwrap();
        })
    });
    group.bench_function("bare SQL", |b| {
        b.to_async(&rt).iter(|| async {
            let key = next_key();
            let row = bare
                .query_one(&claim, &[&"bench", &key, &"token", &300_000_000i64])
                .await
                .unwrap();
            let token: &str = row.get(0);
            let done = bare
                .execute(&complete, &[&"bench", &key, &token])
                .await
                .unwrap();
            black_box(done);
        })
    });
    group.finish();

    let mut group = c.benchmark_group("postgres: applicant compare-and-swap");
    let current = rt
        .block_on(store.put(record("0"), Expected::Absent))
        .unwrap();
    let version = AtomicU64::new(current.version);
    group.bench_function("store", |b| {
        b.to_async(&rt).iter(|| async {
            let expected = version.load(Ordering::Relaxed);
            let written = store
                .put(current.clone(), Expected::Version(expected))
                .await
                .unwrap();
            version.store(written.version, Ordering::Relaxed);
        })
    });
    let none: Option<String> = None;
    let epoch = "1970-01-01T00:00:00.000000000Z";
    let first: i64 = rt
        .block_on(bare.query_one(
            &insert,
            &[
                &"elkyc",
                &"bench",
                &"user-bench",
                &"0",
                &r#"{"status":"pending"}"#,
                &none,
                &epoch,
                &epoch,
            ],
        ))
        .unwrap()
        .get(1);
    let version = AtomicU64::new(first as u64);
    group.bench_function("bare SQL", |b| {
        b.to_async(&rt).iter(|| async {
            let expected = version.load(Ordering::Relaxed) as i64;
            let row = bare
                .query_one(
                    &update,
                    &[
                        &"elkyc",
                        &"bench",
                        &"user-bench",
                        &"0",
                        &r#"{"status":"pending"}"#,
                        &none,
                        &epoch,
                        &expected,
                    ],
                )
                .await
                .unwrap();
            version.store(row.get::<_, i64>(1) as u64, Ordering::Relaxed);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = sqlite_file, sqlite_memory, postgres
}
criterion_main!(benches);
