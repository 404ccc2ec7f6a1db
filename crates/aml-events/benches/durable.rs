//! Durable mode beside the bare SQL it stands for, on a SQLite file and on PostgreSQL, with
//! Tuum's real verifier (shared-secret header, typed parse) and the seed's
//! `AML_SUBPROCESS_CREATED` delivery (1.5 KB), each with a new `notificationId`:
//!
//! - **intake** (`intake_sqlite_file`, `intake_postgres`; target at most 1.3×): one
//!   delivery acknowledged by a durable intake, as the receiver does it after reading the
//!   body (`authenticate`, `verify_delivery`, `Processor::enqueue` into the store's queue,
//!   answered once committed), beside a bare intake that compares the header, parses the
//!   body to a `serde_json::Value`, takes its `notificationId` and runs the queue's own
//!   `INSERT ... ON CONFLICT DO NOTHING` of the same row on a bare connection. Measured at
//!   the processor, not over HTTP: the HTTP server and client would be the same on both
//!   sides and only hide the difference (the inline receiver's HTTP row is `receiver.rs`'s).
//! - **worker** (`worker_sqlite_file`, `worker_postgres`; target at least 0.8× the bare
//!   throughput): `Worker::run_once` with a no-op handler (take 8, verify each again, the
//!   processor's inbox claim + complete, the handler, mark the row done), beside a bare
//!   loop on the same table: the queue's own take statement for 8 rows, then its complete
//!   statement for each. The worker's processor has the default inbox (in memory). The
//!   `_store_inbox` rows (for information) give it the store's inbox in the same database
//!   instead, as a deployment with several worker processes does: two more commits per
//!   delivery.
//!
//! Both worker sides refill their table the same way, with the same bare statement, when
//! their last row was taken: 1,024 new rows in one transaction (SQLite) or one statement
//! (PostgreSQL). The refill is timed on both sides alike.
//!
//! `cargo bench -p aml-events --bench durable`; `cargo xtask bench --store` prints the
//! ratios. SQLite is a file in the temporary directory with the store's settings (WAL,
//! `synchronous = FULL`), the bare side on a file of its own with the same settings;
//! PostgreSQL is a throwaway server from `TempPostgres` (`fsync=off`: round trips, not
//! disk flushes, dominate, so the overhead shows).

#![allow(missing_docs)]

#[path = "support/deliveries.rs"]
mod deliveries;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aml_events::auth::SharedSecretHeader;
use aml_events::{AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookVerifier, handler_fn};
use bench_pair::compare_async;
use bytes::Bytes;
use compliance_core::webhook::{Outcome, Queue, RequestInfo, Verifier, Worker, constant_time_eq};
use compliance_core::{Inbox, MemoryInbox};
use compliance_store::postgres::sql as pg_sql;
use compliance_store::postgres::tokio_postgres::{self, Client, NoTls};
use compliance_store::sqlite::rusqlite::Connection;
use compliance_store::sqlite::sql as lite_sql;
use compliance_store::test_util::TempPostgres;
use compliance_store::{PostgresStore, SqliteStore};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use deliveries::Deliveries;
use tokio::runtime::Runtime;

const HEADER: &str = "x-webhook-token";
const SECRET: &str = "shared-with-tuum-0123456789abcdef";
const QUEUE: &str = "tuum";
/// Deliveries a worker side takes at once (the worker's default concurrency).
const BATCH: usize = 8;
/// Rows a worker side adds when its last row was taken.
const REFILL: usize = 1024;
/// The bare take's token: as long as the store's random ones.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const LEASE_MICROS: i64 = 300_000_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

impl Deliveries {
    /// The next `n`: keys and bodies.
    fn batch(&mut self, n: usize) -> (Vec<String>, Vec<Vec<u8>>) {
        let mut keys = Vec::with_capacity(n);
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            keys.push(self.next_key());
            bodies.push(self.next().to_vec());
        }
        (keys, bodies)
    }
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SharedSecretHeader::new(HEADER, SecretString::from(SECRET)).unwrap())
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER, HeaderValue::from_static(SECRET));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers
}

/// One delivery through a durable intake: what `Receiver` does once the body is read.
async fn intake(processor: &WebhookProcessor, headers: &HeaderMap, body: Bytes) {
    let info = RequestInfo::new(headers, None);
    processor.authenticate(&info).unwrap();
    let verified = processor.verifier().verify_delivery(&info, &body).unwrap();
    let outcome = processor.enqueue(&info, body, verified).await.unwrap();
    assert!(matches!(outcome, Outcome::Queued { .. }), "{outcome:?}");
}

/// The bare intake's checks: the header compared, the body parsed, its id taken.
fn bare_verify<'a>(headers: &HeaderMap, event: &'a Value) -> &'a str {
    let token = headers.get(HEADER).unwrap();
    assert!(constant_time_eq(token.as_bytes(), SECRET.as_bytes()));
    event["notificationId"].as_str().unwrap()
}

fn intake_processor(queue: impl Queue + 'static) -> WebhookProcessor {
    WebhookProcessor::builder(verifier())
        .queue(queue)
        .build()
        .unwrap()
}

fn worker(queue: impl Queue + 'static, inbox: Option<Arc<dyn Inbox>>) -> Worker<WebhookVerifier> {
    let builder = WebhookProcessor::builder(verifier())
        .handler(handler_fn(|event: AmlEvent| async move {
            black_box(event);
            Ok::<_, BoxError>(())
        }))
        .inbox(inbox.unwrap_or_else(|| Arc::new(MemoryInbox::new())));
    Worker::builder(builder.build().unwrap(), queue)
        .concurrency(BATCH)
        .build()
        .unwrap()
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
    sqlite_connection(path)
}

fn sqlite_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn
}

/// The queue's own insert of one queued row: the bare side's only statement.
fn sqlite_insert(conn: &Connection, key: &str, body: &[u8]) -> Option<i64> {
    let mut stmt = conn.prepare_cached(lite_sql::QUEUE_ENQUEUE).unwrap();
    let mut rows = stmt
        .query((
            QUEUE,
            key,
            "queued",
            None::<&str>,
            "[]",
            body,
            None::<&str>,
            now_micros(),
        ))
        .unwrap();
    let id = rows.next().unwrap().map(|row| row.get(0).unwrap());
    drop(rows);
    id
}

/// `REFILL` new rows in one transaction, by the bare statement (both worker sides).
fn sqlite_refill(conn: &Connection, deliveries: &mut Deliveries) {
    let (keys, bodies) = deliveries.batch(REFILL);
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for (key, body) in keys.iter().zip(&bodies) {
        sqlite_insert(conn, key, body).unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// The bare worker: take `BATCH` rows with the queue's statement, complete each.
fn sqlite_claim_update(conn: &Connection) -> usize {
    let now = now_micros();
    let taken: Vec<(String, String)> = conn
        .prepare_cached(lite_sql::QUEUE_TAKE)
        .unwrap()
        .query_map(
            (QUEUE, now, TOKEN, now + LEASE_MICROS, BATCH as i64),
            |row| Ok((row.get(1)?, row.get(2)?)),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (key, token) in &taken {
        let done = conn
            .prepare_cached(lite_sql::QUEUE_COMPLETE)
            .unwrap()
            .execute((QUEUE, key, token, now_micros()))
            .unwrap();
        assert_eq!(done, 1);
    }
    taken.len()
}

fn sqlite_file(c: &mut Criterion) {
    let rt = runtime();
    let dir = Dir(std::env::temp_dir().join(format!("aml-events-durable-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let headers = headers();

    let store = rt
        .block_on(SqliteStore::open(dir.0.join("intake.db")))
        .unwrap();
    let processor = intake_processor(store.queue(QUEUE));
    let bare = bare_sqlite_file(&dir.0.join("intake-bare.db"), &rt);
    let (mut ours, mut theirs) = (Deliveries::new('p'), Deliveries::new('b'));
    compare_async(
        c,
        "intake_sqlite_file",
        &rt,
        async || intake(&processor, &headers, ours.next()).await,
        async || {
            let body = theirs.next();
            let event: Value = serde_json::from_slice(&body).unwrap();
            let key = bare_verify(&headers, &event);
            black_box(sqlite_insert(&bare, key, &body).unwrap());
        },
    );

    for (row, store_inbox) in [
        ("worker_sqlite_file", false),
        ("worker_sqlite_file_store_inbox", true),
    ] {
        let path = dir.0.join(format!("{row}.db"));
        let store = rt.block_on(SqliteStore::open(&path)).unwrap();
        let inbox: Option<Arc<dyn Inbox>> =
            store_inbox.then(|| Arc::new(store.inbox(QUEUE)) as Arc<dyn Inbox>);
        let worker = worker(store.queue(QUEUE), inbox);
        // The worker side's refills go through a connection of their own to its file.
        let filler = sqlite_connection(&path);
        let bare = bare_sqlite_file(&dir.0.join(format!("{row}-bare.db")), &rt);
        let (mut ours, mut theirs) = (Deliveries::new('p'), Deliveries::new('b'));
        let (mut ours_left, mut theirs_left) = (0, 0);
        compare_async(
            c,
            row,
            &rt,
            async || {
                if ours_left == 0 {
                    sqlite_refill(&filler, &mut ours);
                    ours_left = REFILL;
                }
                let taken = worker.run_once().await.unwrap();
                assert_eq!(taken, BATCH);
                ours_left -= taken;
            },
            async || {
                if theirs_left == 0 {
                    sqlite_refill(&bare, &mut theirs);
                    theirs_left = REFILL;
                }
                let taken = sqlite_claim_update(&bare);
                assert_eq!(taken, BATCH);
                theirs_left -= taken;
            },
        );
    }
}

/// `REFILL` new rows in one statement (both worker sides).
const PG_REFILL: &str = "INSERT INTO compliance_queue (queue, key, state, headers, body, \
     run_at, received_at, updated_at) \
     SELECT $1, k, 'queued', '[]', b, clock_timestamp(), clock_timestamp(), clock_timestamp() \
     FROM unnest($2::text[], $3::bytea[]) AS t(k, b)";

async fn pg_refill(client: &Client, deliveries: &mut Deliveries) {
    let (keys, bodies) = deliveries.batch(REFILL);
    let added = client
        .execute(PG_REFILL, &[&QUEUE, &keys, &bodies])
        .await
        .unwrap();
    assert_eq!(added, REFILL as u64);
}

async fn pg_client(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn postgres(c: &mut Criterion) {
    let Some(pg) = TempPostgres::shared() else {
        return;
    };
    let rt = runtime();
    let headers = headers();

    // A database each: the store's and the bare side's, migrated by the store.
    let database = || {
        rt.block_on(async {
            let url = pg.create_database().await.unwrap();
            let store = PostgresStore::connect(&url).await.unwrap();
            let client = pg_client(&url).await;
            (store, client)
        })
    };

    let (store, _) = database();
    let processor = intake_processor(store.queue(QUEUE));
    let (_, bare) = database();
    let insert = rt.block_on(bare.prepare(pg_sql::QUEUE_ENQUEUE)).unwrap();
    let (mut ours, mut theirs) = (Deliveries::new('p'), Deliveries::new('b'));
    let none: Option<&str> = None;
    compare_async(
        c,
        "intake_postgres",
        &rt,
        async || intake(&processor, &headers, ours.next()).await,
        async || {
            let body = theirs.next();
            let event: Value = serde_json::from_slice(&body).unwrap();
            let key = bare_verify(&headers, &event);
            let row = bare
                .query_opt(
                    &insert,
                    &[&QUEUE, &key, &"queued", &none, &"[]", &body.as_ref(), &none],
                )
                .await
                .unwrap();
            assert!(row.is_some());
        },
    );

    for (row, store_inbox) in [
        ("worker_postgres", false),
        ("worker_postgres_store_inbox", true),
    ] {
        let (store, filler) = database();
        let inbox: Option<Arc<dyn Inbox>> =
            store_inbox.then(|| Arc::new(store.inbox(QUEUE)) as Arc<dyn Inbox>);
        let worker = worker(store.queue(QUEUE), inbox);
        let (_, bare) = database();
        let (take, complete) = rt.block_on(async {
            (
                bare.prepare(pg_sql::QUEUE_TAKE).await.unwrap(),
                bare.prepare(pg_sql::QUEUE_COMPLETE).await.unwrap(),
            )
        });
        let (mut ours, mut theirs) = (Deliveries::new('p'), Deliveries::new('b'));
        let (mut ours_left, mut theirs_left) = (0, 0);
        compare_async(
            c,
            row,
            &rt,
            async || {
                if ours_left == 0 {
                    pg_refill(&filler, &mut ours).await;
                    ours_left = REFILL;
                }
                let taken = worker.run_once().await.unwrap();
                assert_eq!(taken, BATCH);
                ours_left -= taken;
            },
            async || {
                if theirs_left == 0 {
                    pg_refill(&bare, &mut theirs).await;
                    theirs_left = REFILL;
                }
                let rows = bare
                    .query(&take, &[&QUEUE, &TOKEN, &LEASE_MICROS, &(BATCH as i64)])
                    .await
                    .unwrap();
                assert_eq!(rows.len(), BATCH);
                for row in &rows {
                    let (key, token): (&str, &str) = (row.get(1), row.get(2));
                    let done = bare
                        .execute(&complete, &[&QUEUE, &key, &token])
                        .await
                        .unwrap();
                    assert_eq!(done, 1);
                }
                theirs_left -= rows.len();
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion()
        .sample_size(40)
        .measurement_time(Duration::from_secs(8));
    targets = sqlite_file, postgres
}
criterion_main!(benches);
