//! Durable intake end to end, under the faults of issue #24: a handler down past the
//! provider's whole retry schedule, storage down at intake and at the worker, a poison
//! event, a full SQLite file, an oversized or forged delivery, an elKYC row at rest, a
//! worker process killed with SIGKILL mid-handler, and three worker processes with three
//! intake instances on one PostgreSQL.
//!
//! Tuum's deliveries are the vehicle (aml-events' verifier) except for the elKYC row.
//! The PostgreSQL tests use the throwaway server of `compliance_store::test_util` and skip
//! (one line on stderr) where PostgreSQL is not installed, as the store's own tests do.
//! Worker processes are this test binary run again with `durable_child_worker` selected
//! and its instructions in the environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aml_events::auth::SharedSecretHeader;
use aml_events::{AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookVerifier};
use async_trait::async_trait;
use compliance_core::Inbox;
use compliance_core::webhook::{DeliveryState, Handler, Queue, RetrySchedule, Worker};
use compliance_e2e::serve;
use compliance_store::postgres::tokio_postgres::{self, Client, NoTls};
use compliance_store::sqlite::rusqlite;
use compliance_store::test_util::TempPostgres;
use compliance_store::{PostgresStore, SqliteOptions, SqliteStore};

const HEADER: &str = "x-tuum-secret";
const SECRET: &str = "shared-with-tuum-0123456789abcdef";

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SharedSecretHeader::new(HEADER, SecretString::from(SECRET)).unwrap())
}

fn body(id: &str) -> Vec<u8> {
    format!(
        r#"{{"notificationId":"{id}","notificationTypeCode":"AML_PAYMENT_RESULTS_PUBLISHED",
            "originalMessageDateTime":"2024-09-13T11:06:32.924Z",
            "data":{{"amlProcessId":"P-{id}","amlProcessResultCode":"APPROVED"}}}}"#
    )
    .into_bytes()
}

/// A durable intake over HTTP storing into `queue`; its URL.
async fn intake(queue: impl Queue + 'static) -> String {
    let processor = WebhookProcessor::builder(verifier())
        .queue(queue)
        .build()
        .unwrap();
    format!("{}/", serve(aml_events::server::router(processor)).await)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    secret: &str,
) -> reqwest::Response {
    client
        .post(url)
        .header(HEADER, secret)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Counts completed runs per notification; fails while `down`; panics on `poison` ids while
/// `poisoned`.
#[derive(Default)]
struct Runs {
    done: Mutex<HashMap<String, usize>>,
    down: AtomicBool,
    poisoned: AtomicBool,
}

#[async_trait]
impl Handler<AmlEvent> for Runs {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        let id = event.notification_id().to_owned();
        if self.down.load(Ordering::SeqCst) {
            return Err("the screening service is unavailable".into());
        }
        if id.contains("poison") && self.poisoned.load(Ordering::SeqCst) {
            panic!("cannot handle {id}");
        }
        *self.done.lock().unwrap().entry(id).or_default() += 1;
        Ok(())
    }
}

impl Runs {
    fn counts(&self) -> HashMap<String, usize> {
        self.done.lock().unwrap().clone()
    }
}

fn worker(
    queue: impl Queue + 'static,
    inbox: impl Inbox + 'static,
    runs: Arc<Runs>,
    schedule: RetrySchedule,
) -> Worker<WebhookVerifier> {
    let processor = WebhookProcessor::builder(verifier())
        .inbox(inbox)
        .handler(runs)
        .build()
        .unwrap();
    Worker::builder(processor, queue)
        .retry(schedule)
        .concurrency(8)
        .poll_interval(Duration::from_millis(10))
        .busy_delay(Duration::from_millis(10))
        .build()
}

/// Runs `worker` until `done` or `limit`, then shuts it down; whether `done` held.
async fn run_until(
    worker: &Worker<WebhookVerifier>,
    limit: Duration,
    done: impl AsyncFn() -> bool,
) -> bool {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    let start = Instant::now();
    let mut ok = false;
    while start.elapsed() < limit {
        if done().await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();
    ok
}

async fn count(queue: &dyn Queue, state: DeliveryState) -> usize {
    queue.list(Some(state), 100_000).await.unwrap().len()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "compliance-e2e-durable-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- SQLite ---------------------------------------------------------------------------

/// The simulated Tuum delivers 40 notifications (a third of them twice) to a durable
/// receiver while the handler's downstream is down for longer than Tuum's whole retry
/// schedule (the sandbox's: 4 retries, 20 ms apart). Intake acknowledges every delivery at
/// its first attempt; the worker keeps retrying; when the downstream is back, every
/// acknowledged notification is processed exactly once, none dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_handler_down_past_tuums_whole_schedule_loses_nothing_and_runs_each_event_once() {
    use compliance_sandbox::{DeliveryOptions, Sandbox, SandboxConfig, TuumEvent};

    let dir = TempDir::new("outage");
    let store = SqliteStore::open(dir.0.join("state.db")).await.unwrap();
    let mut config = SandboxConfig::default();
    config.tuum.auth_header = Some((HEADER.into(), SECRET.into()));
    let sandbox = Sandbox::start(config).await.unwrap();
    sandbox.tuum().subscribe(intake(store.queue("tuum")).await);

    let runs = Arc::new(Runs::default());
    runs.down.store(true, Ordering::SeqCst);
    let schedule = RetrySchedule::new()
        .first_delay(Duration::from_millis(10))
        .cap(Duration::from_millis(80))
        .max_attempts(Some(1000));
    let worker = worker(
        store.queue("tuum"),
        store.inbox("tuum"),
        runs.clone(),
        schedule,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    let mut acknowledged = Vec::new();
    for i in 0..40 {
        let options = if i % 3 == 0 {
            DeliveryOptions::duplicated()
        } else {
            DeliveryOptions::default()
        };
        let reports = sandbox
            .tuum()
            .send(TuumEvent::SubprocessCreated, options)
            .await
            .unwrap();
        for report in &reports {
            assert_eq!(
                report.statuses(),
                [Some(200)],
                "acknowledged at the first attempt: {report:?}"
            );
        }
        acknowledged.push(reports[0].sent.notification_id.clone());
    }
    // Longer than the provider's whole schedule (5 attempts, 20 ms apart) many times over.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let queue = store.queue("tuum");
    assert!(runs.counts().is_empty());
    assert!(
        count(&queue, DeliveryState::Retrying).await > 0,
        "the worker kept retrying"
    );

    runs.down.store(false, Ordering::SeqCst);
    let start = Instant::now();
    while count(&queue, DeliveryState::Done).await < 40 && start.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();

    let counts = runs.counts();
    assert_eq!(counts.len(), 40, "{counts:?}");
    for id in &acknowledged {
        assert_eq!(counts.get(id), Some(&1), "{id} processed exactly once");
    }
    assert_eq!(count(&queue, DeliveryState::Done).await, 40);
    assert_eq!(count(&queue, DeliveryState::Dead).await, 0);
}

/// A poison notification (its handler panics) is retried up to the limit, then dead with
/// its error kept, while the others go through; after the fix, one replay runs it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_is_dead_after_the_limit_and_runs_once_after_the_fix_and_a_replay() {
    let dir = TempDir::new("poison");
    let store = SqliteStore::open(dir.0.join("state.db")).await.unwrap();
    let url = intake(store.queue("tuum")).await;
    let client = reqwest::Client::new();
    for id in ["NTF-1", "NTF-poison", "NTF-2"] {
        assert_eq!(post(&client, &url, body(id), SECRET).await.status(), 200);
    }
    let runs = Arc::new(Runs::default());
    runs.poisoned.store(true, Ordering::SeqCst);
    let schedule = RetrySchedule::new()
        .first_delay(Duration::from_millis(5))
        .max_attempts(Some(4));
    let queue = store.queue("tuum");
    let worker = worker(
        store.queue("tuum"),
        store.inbox("tuum"),
        runs.clone(),
        schedule,
    );
    let dead = run_until(&worker, Duration::from_secs(10), async || {
        count(&queue, DeliveryState::Dead).await == 1
            && count(&queue, DeliveryState::Done).await == 2
    })
    .await;
    assert!(dead);
    let row = queue.get("NTF-poison").await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (DeliveryState::Dead, 4));
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("handler panicked: cannot handle NTF-poison")
    );

    runs.poisoned.store(false, Ordering::SeqCst);
    assert!(queue.replay("NTF-poison").await.unwrap());
    let done = run_until(&worker, Duration::from_secs(10), async || {
        count(&queue, DeliveryState::Done).await == 3
    })
    .await;
    assert!(done);
    let counts = runs.counts();
    assert_eq!(counts.get("NTF-poison"), Some(&1));
    assert_eq!(counts.values().sum::<usize>(), 3);
}

/// A SQLite file at its size cap refuses the write: intake answers 503 with `Retry-After`
/// and acknowledges nothing, the error says the database is full, and what was stored
/// before is intact.
#[tokio::test]
async fn a_full_sqlite_file_answers_503_and_says_why() {
    let dir = TempDir::new("full");
    let path = dir.0.join("state.db");
    let store = SqliteStore::open_with(&path, SqliteOptions::new().max_page_count(40))
        .await
        .unwrap();
    let queue = store.queue("tuum");
    let url = intake(queue.clone()).await;
    let client = reqwest::Client::new();
    let mut accepted = 0;
    let mut refused = None;
    for i in 0..400 {
        // Bodies of ~4 KiB: each needs about a page.
        let mut b = body(&format!("NTF-{i}"));
        b.truncate(b.len() - 1);
        b.extend_from_slice(format!(r#","pad":"{}"}}"#, "x".repeat(4000)).as_bytes());
        let answer = post(&client, &url, b, SECRET).await;
        match answer.status().as_u16() {
            200 => accepted += 1,
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                refused = Some(format!("NTF-{i}"));
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let refused = refused.expect("the cap was reached");
    assert!(accepted > 0);
    assert!(
        queue.get(&refused).await.unwrap().is_none(),
        "nothing stored for the 503"
    );
    assert_eq!(queue.list(None, 1000).await.unwrap().len(), accepted);

    // The error a store reports, as the intake logs it.
    let err = queue
        .enqueue(compliance_core::webhook::NewDelivery::new(
            "NTF-direct",
            compliance_core::webhook::StoredRequest::new(Vec::new(), vec![b'x'; 8000]),
        ))
        .await
        .unwrap_err();
    let text = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(text.contains("full"), "{text}");
}

/// A body over the receiver's cap (413) and forged deliveries (401: wrong secret, no
/// secret) are never stored; an authentic one is.
#[tokio::test]
async fn an_oversized_or_forged_delivery_is_never_stored() {
    let dir = TempDir::new("refused");
    let store = SqliteStore::open(dir.0.join("state.db")).await.unwrap();
    let queue = store.queue("tuum");
    let url = intake(queue.clone()).await;
    let client = reqwest::Client::new();

    let mut huge = body("NTF-huge");
    huge.truncate(huge.len() - 1);
    huge.extend_from_slice(format!(r#","pad":"{}"}}"#, "x".repeat(300 * 1024)).as_bytes());
    assert_eq!(post(&client, &url, huge, SECRET).await.status(), 413);
    assert_eq!(
        post(&client, &url, body("NTF-forged"), "guessed")
            .await
            .status(),
        401
    );
    let unsigned = client
        .post(&url)
        .body(body("NTF-bare"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(
        post(&client, &url, body("NTF-ok"), SECRET).await.status(),
        200
    );

    let keys: Vec<String> = queue
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["NTF-ok"]);
    // Nor is the shared secret, which authenticated the one stored.
    let raw: String = rusqlite::Connection::open(dir.0.join("state.db"))
        .unwrap()
        .query_row("SELECT headers FROM compliance_queue", [], |r| r.get(0))
        .unwrap();
    assert_eq!(raw, "[]");
}

/// An elKYC delivery queued on SQLite is, read straight from the file's row, the envelope
/// as received: encrypted, no personal data in clear; only the signature header is kept.
#[tokio::test]
async fn a_queued_elkyc_row_is_still_encrypted_at_rest() {
    use compliance_core::time::Timestamp;
    use kyc_public_api::encryption::{Cipher, EncryptionSettings, SIGNATURE_HEADER};
    use kyc_public_api::{Envelope, WebhookProcessor as ElkycProcessor, WebhookVerifier as Elkyc};

    let settings =
        EncryptionSettings::gcm("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    let dir = TempDir::new("elkyc");
    let path = dir.0.join("state.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let intake = ElkycProcessor::builder(Elkyc::builder(settings.clone()).build().unwrap())
        .queue(store.queue("elkyc"))
        .build()
        .unwrap();
    let url = format!(
        "{}/",
        serve(kyc_public_api::WebhookReceiver::new(intake).router()).await
    );

    let payload = serde_json::json!({
        "type": "applicantApproved",
        "id": "3f6c7c1e-8d0b-4a57-9b1e-0a4f3c2d1e00",
        "externalUserId": "jane.doe@example.com",
        "appKey": "app-1"
    });
    let (sealed, signature) = Envelope::new(200, payload)
        .seal(&Cipher::new(&settings).unwrap(), Timestamp::now())
        .unwrap();
    let answer = reqwest::Client::new()
        .post(&url)
        .header(SIGNATURE_HEADER, &signature)
        .header("content-type", "application/json")
        .body(sealed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let (stored_body, headers): (Vec<u8>, String) = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT body, headers FROM compliance_queue WHERE queue = 'elkyc'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        stored_body, sealed,
        "the envelope byte for byte as received"
    );
    let text = String::from_utf8_lossy(&stored_body);
    for clear in ["jane.doe", "applicantApproved", "3f6c7c1e"] {
        assert!(!text.contains(clear), "`{clear}` in clear at rest: {text}");
    }
    assert_eq!(
        headers,
        serde_json::json!([[SIGNATURE_HEADER, signature]]).to_string()
    );
}

// --- PostgreSQL ---------------------------------------------------------------------------

async fn pg() -> Option<String> {
    Some(TempPostgres::shared()?.create_database().await.unwrap())
}

async fn admin(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Takes the database down for everyone but `admin` (new connections refused, existing
/// ones cut), or brings it back. Run from the server's `postgres` database: a database
/// cannot refuse connections from within itself.
async fn database_down(url: &str, admin: &Client, down: bool) {
    let name: String = admin
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    let keep: i32 = admin
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.dbname("postgres");
    let (server, connection) = config.connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    server
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {}",
            !down
        ))
        .await
        .unwrap();
    if down {
        server
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> $2",
                &[&name, &keep],
            )
            .await
            .unwrap();
    }
}

/// With PostgreSQL down, intake answers 503 with `Retry-After` to every delivery and
/// stores nothing; back up, the provider's redelivery is stored and acknowledged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_down_at_intake_answers_503_and_acknowledges_nothing() {
    let Some(url) = pg().await else { return };
    let admin = admin(&url).await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let intake_url = intake(store.queue("tuum")).await;
    let client = reqwest::Client::new();

    database_down(&url, &admin, true).await;
    for id in ["NTF-1", "NTF-2"] {
        let answer = post(&client, &intake_url, body(id), SECRET).await;
        assert_eq!(answer.status(), 503, "{id}");
        assert!(answer.headers().contains_key("retry-after"));
    }
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM compliance_queue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing stored, nothing acknowledged");

    database_down(&url, &admin, false).await;
    assert_eq!(
        post(&client, &intake_url, body("NTF-1"), SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&client, &intake_url, body("NTF-1"), SECRET)
            .await
            .status(),
        200
    );
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM compliance_queue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

/// With PostgreSQL down, a worker takes nothing and marks nothing done; when it goes down
/// while a handler runs, the handler's success cannot be recorded and the row is not done.
/// Back up, every row ends done, and each done row's handler ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_down_at_the_worker_marks_nothing_done_that_did_not_run() {
    let Some(url) = pg().await else { return };
    let admin = admin(&url).await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let lease = Duration::from_millis(600);
    let queue = store.queue("tuum").with_lease(lease);
    let intake_url = intake(queue.clone()).await;
    let client = reqwest::Client::new();
    for id in ["NTF-1", "NTF-2", "NTF-3"] {
        assert_eq!(
            post(&client, &intake_url, body(id), SECRET).await.status(),
            200
        );
    }

    /// Blocks every handler until `open`; counts runs.
    struct Gate {
        open: tokio::sync::watch::Receiver<bool>,
        runs: Arc<Runs>,
        started: tokio::sync::mpsc::UnboundedSender<()>,
    }
    #[async_trait]
    impl Handler<AmlEvent> for Gate {
        async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
            let _ = self.started.send(());
            let mut open = self.open.clone();
            let _ = open.wait_for(|o| *o).await;
            self.runs.handle(event).await
        }
    }
    let runs = Arc::new(Runs::default());
    let (gate, open) = tokio::sync::watch::channel(false);
    let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    let processor = WebhookProcessor::builder(verifier())
        .inbox(store.inbox("tuum").with_lease(lease))
        .handler(Gate {
            open,
            runs: runs.clone(),
            started,
        })
        .build()
        .unwrap();
    let worker = Worker::builder(processor, queue.clone())
        .retry(RetrySchedule::new().first_delay(Duration::from_millis(10)))
        .busy_delay(Duration::from_millis(50))
        .build();

    // Down before taking: nothing taken.
    database_down(&url, &admin, true).await;
    assert!(worker.run_once().await.is_err());
    database_down(&url, &admin, false).await;

    // Down while the handlers run: they succeed, nothing can be recorded.
    let once = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.run_once().await })
    };
    for _ in 0..3 {
        started_rx.recv().await.unwrap();
    }
    database_down(&url, &admin, true).await;
    gate.send(true).unwrap();
    assert_eq!(once.await.unwrap().unwrap(), 3);
    assert_eq!(runs.counts().len(), 3);
    database_down(&url, &admin, false).await;
    let done: i64 = admin
        .query_one(
            "SELECT count(*) FROM compliance_queue WHERE state = 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        done, 0,
        "no row marked done while its success could not be recorded"
    );

    // Back up: after the leases, every row ends done; no done row whose handler did not
    // run (a handler whose success was lost with the storage may run once more).
    let ok = run_until(&worker, Duration::from_secs(15), async || {
        count(&queue, DeliveryState::Done).await == 3
    })
    .await;
    assert!(ok);
    let counts = runs.counts();
    for row in queue.list(Some(DeliveryState::Done), 10).await.unwrap() {
        assert!(
            counts.get(&row.key).is_some_and(|n| *n >= 1),
            "{} done without a run",
            row.key
        );
    }
}

/// What a child worker process is told, through the environment.
const CHILD_URL: &str = "COMPLIANCE_E2E_DURABLE_URL";
const CHILD_DIR: &str = "COMPLIANCE_E2E_DURABLE_DIR";
const CHILD_MODE: &str = "COMPLIANCE_E2E_DURABLE_MODE";
const LEASE: Duration = Duration::from_millis(1500);

/// Starts this test binary again as a worker process (see [`durable_child_worker`]). Its
/// standard input is a pipe from this process: when this process ends, however it ends,
/// the pipe closes and the child stops too.
fn spawn_child(url: &str, dir: &Path, mode: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durable_child_worker",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Records a completed run in the database itself, so that runs in every process are
/// counted in one place.
struct Recorded {
    store: PostgresStore,
    hang: bool,
    dir: PathBuf,
}

#[async_trait]
impl Handler<AmlEvent> for Recorded {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        let id = event.notification_id().to_owned();
        if self.hang {
            // Written whole, then renamed: the parent never reads half a file.
            let name = format!("started-{}", std::process::id());
            std::fs::write(self.dir.join(format!("{name}.tmp")), &id)?;
            std::fs::rename(self.dir.join(format!("{name}.tmp")), self.dir.join(name))?;
            std::future::pending::<()>().await;
        }
        let client = self.store.pool().get().await?;
        client
            .execute(
                "INSERT INTO handled (key, pid) VALUES ($1, $2)",
                &[&id, &(std::process::id() as i32)],
            )
            .await?;
        Ok(())
    }
}

fn pg_worker(store: &PostgresStore, handler: Recorded) -> Worker<WebhookVerifier> {
    let processor = WebhookProcessor::builder(verifier())
        .inbox(store.inbox("tuum").with_lease(LEASE))
        .handler(handler)
        .build()
        .unwrap();
    Worker::builder(processor, store.queue("tuum").with_lease(LEASE))
        .concurrency(4)
        .poll_interval(Duration::from_millis(20))
        .busy_delay(Duration::from_millis(100))
        .grace_period(Duration::from_secs(2))
        .build()
}

/// Not a test of its own: the body of a worker process the PostgreSQL tests start. Without
/// their environment it returns at once.
#[test]
fn durable_child_worker() {
    let (Ok(url), Ok(dir), Ok(mode)) = (
        std::env::var(CHILD_URL),
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_MODE),
    ) else {
        return;
    };
    let dir = PathBuf::from(dir);
    // The parent gone (its end of our stdin closed): stop at once, whatever runs.
    std::thread::spawn(|| {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        std::process::exit(3);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = PostgresStore::connect(&url).await.unwrap();
        let handler = Recorded {
            store: store.clone(),
            hang: mode == "hang",
            dir: dir.clone(),
        };
        let worker = pg_worker(&store, handler);
        let stop = dir.join("stop");
        worker
            .run(async move {
                while !stop.exists() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await;
    });
}

async fn handled(admin: &Client) -> HashMap<String, i64> {
    admin
        .query("SELECT key, count(*) FROM handled GROUP BY key", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// A worker process killed with SIGKILL in the middle of its handler loses nothing: once
/// its leases ran out another worker takes the delivery over and processes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_process_killed_mid_handler_is_taken_over_after_its_lease() {
    let Some(url) = pg().await else { return };
    let admin = admin(&url).await;
    let store = PostgresStore::connect(&url).await.unwrap();
    admin
        .batch_execute("CREATE TABLE handled (key text NOT NULL, pid integer NOT NULL)")
        .await
        .unwrap();
    let intake_url = intake(store.queue("tuum")).await;
    assert_eq!(
        post(
            &reqwest::Client::new(),
            &intake_url,
            body("NTF-kill"),
            SECRET
        )
        .await
        .status(),
        200
    );

    let dir = TempDir::new("sigkill");
    let mut child = spawn_child(&url, &dir.0, "hang");
    let started = dir.0.join(format!("started-{}", child.id()));
    let start = Instant::now();
    while !started.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the child never started the handler"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::read_to_string(&started).unwrap(), "NTF-kill");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let queue = store.queue("tuum");
    assert_eq!(
        queue.get("NTF-kill").await.unwrap().unwrap().state,
        DeliveryState::Running
    );

    let handler = Recorded {
        store: store.clone(),
        hang: false,
        dir: dir.0.clone(),
    };
    let worker = pg_worker(&store, handler);
    let ok = run_until(&worker, Duration::from_secs(15), async || {
        count(&queue, DeliveryState::Done).await == 1
    })
    .await;
    assert!(ok, "taken over after the lease");
    assert_eq!(
        handled(&admin).await,
        HashMap::from([("NTF-kill".to_owned(), 1)])
    );
    let row = queue.get("NTF-kill").await.unwrap().unwrap();
    assert_eq!(row.attempts, 2, "the killed attempt and the takeover");
}

/// Three worker processes and three intake instances (each its own connection pool and
/// HTTP server) on one PostgreSQL: 1,000 deliveries of 200 notifications, every one
/// delivered five times, each round to a different instance, interleaved; every
/// notification's handler completes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_worker_processes_and_three_intakes_on_one_postgres_run_each_handler_once() {
    let Some(url) = pg().await else { return };
    let admin = admin(&url).await;
    admin
        .batch_execute("CREATE TABLE handled (key text NOT NULL, pid integer NOT NULL)")
        .await
        .unwrap();
    let mut intakes = Vec::new();
    for _ in 0..3 {
        let store = PostgresStore::connect(&url).await.unwrap();
        intakes.push(intake(store.queue("tuum")).await);
    }
    let dir = TempDir::new("three");
    let mut children: Vec<_> = (0..3).map(|_| spawn_child(&url, &dir.0, "work")).collect();

    let client = reqwest::Client::new();
    let mut sends = Vec::new();
    for round in 0..5 {
        for i in 0..200 {
            let (client, url) = (client.clone(), intakes[(i + round) % 3].clone());
            sends.push(tokio::spawn(async move {
                post(&client, &url, body(&format!("NTF-{i:03}")), SECRET)
                    .await
                    .status()
                    .as_u16()
            }));
        }
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM compliance_queue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 200, "one row per notification");

    let start = Instant::now();
    loop {
        let done: i64 = admin
            .query_one(
                "SELECT count(*) FROM compliance_queue WHERE state = 'done'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if done == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "only {done} of 200 done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Their pipes stay open until they stopped (`wait` would close them first).
    let pipes: Vec<_> = children.iter_mut().map(|c| c.stdin.take()).collect();
    std::fs::write(dir.0.join("stop"), "").unwrap();
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a graceful stop");
    }
    drop(pipes);
    let counts = handled(&admin).await;
    assert_eq!(counts.len(), 200);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let pids: i64 = admin
        .query_one("SELECT count(DISTINCT pid) FROM handled", &[])
        .await
        .unwrap()
        .get(0);
    assert!(pids >= 2, "the work was shared between processes ({pids})");
}

/// Waits until `queue` has `n` done rows (at most 10 s).
async fn until_done(queue: &dyn Queue, n: usize) {
    let start = Instant::now();
    while count(queue, DeliveryState::Done).await < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "only {} of {n} done",
            count(queue, DeliveryState::Done).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn outage_schedule() -> RetrySchedule {
    RetrySchedule::new()
        .first_delay(Duration::from_millis(10))
        .cap(Duration::from_millis(80))
        .max_attempts(Some(1000))
}

/// Heleket (repeats until a 2xx; the sandbox's schedule compressed): 8 payments moving
/// `check` → `paid`, acknowledged at once while the handler is down; after the outage each
/// final `paid` runs exactly once and no `check` runs after its payment's `paid` (the final
/// state stays sticky in durable mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heleket_a_handler_outage_loses_nothing_and_the_final_state_stays_sticky() {
    use compliance_sandbox::{InstantSleeper, NewPayment, Sandbox, SandboxConfig};
    use heleket_aml::{
        HeleketWebhook, WebhookProcessor as Heleket, WebhookVerifier as HeleketVerifier,
    };

    let sandbox = Sandbox::start(SandboxConfig::default().seed(24).sleeper(InstantSleeper))
        .await
        .unwrap();
    let heleket = sandbox.heleket();
    let c = heleket.credentials();
    let verifier =
        || HeleketVerifier::new(c.payment_key.clone()).with_payout_key(c.payout_key.clone());
    let dir = TempDir::new("heleket");
    let store = SqliteStore::open(dir.0.join("state.db")).await.unwrap();
    let intake = Heleket::builder(verifier())
        .queue(store.queue("heleket"))
        .build()
        .unwrap();
    let url = format!(
        "{}/",
        serve(heleket_aml::WebhookReceiver::new(intake).router()).await
    );

    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let down = Arc::new(AtomicBool::new(true));
    let (record, is_down) = (seen.clone(), down.clone());
    let processor = Heleket::builder(verifier())
        .inbox(store.inbox("heleket"))
        .handler(heleket_aml::handler_fn(move |webhook: HeleketWebhook| {
            let (record, is_down) = (record.clone(), is_down.clone());
            async move {
                if is_down.load(Ordering::SeqCst) {
                    return Err("ledger unavailable");
                }
                record
                    .lock()
                    .unwrap()
                    .push((webhook.uuid().to_owned(), webhook.status().to_string()));
                Ok(())
            }
        }))
        .build()
        .unwrap();
    let worker = Worker::builder(processor, store.queue("heleket"))
        .retry(outage_schedule())
        .poll_interval(Duration::from_millis(10))
        .busy_delay(Duration::from_millis(10))
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    let mut uuids = Vec::new();
    for i in 0..8 {
        let uuid = heleket.create_payment(
            NewPayment::new(format!("order-{i}"), "12.50", "USDT")
                .status("process")
                .callback(url.clone()),
        );
        heleket.set_payment_status(&uuid, "check").await.unwrap();
        heleket.set_payment_status(&uuid, "paid").await.unwrap();
        uuids.push(uuid);
    }
    heleket.settle_webhooks().await;
    for delivery in heleket.deliveries() {
        let statuses: Vec<_> = delivery.attempts.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(200)], "acknowledged at the first attempt");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(seen.lock().unwrap().is_empty());
    down.store(false, Ordering::SeqCst);
    let queue = store.queue("heleket");
    until_done(&queue, 16).await;
    let _ = stop.send(());
    running.await.unwrap();

    let seen = seen.lock().unwrap().clone();
    for uuid in &uuids {
        let statuses: Vec<&str> = seen
            .iter()
            .filter(|(u, _)| u == uuid)
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == "paid").count(),
            1,
            "{uuid}: {statuses:?}"
        );
        assert_eq!(
            statuses.last(),
            Some(&"paid"),
            "{uuid}: nothing after the final state: {statuses:?}"
        );
        assert!(statuses.len() <= 2, "{uuid}: {statuses:?}");
    }
}

/// elKYC (10 retries from 30 s, doubling: 8.5 h; compressed): every applicant event of 6
/// applicants acknowledged at once while the handler is down, each processed exactly once
/// after the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn elkyc_a_handler_outage_loses_nothing_and_runs_each_event_once() {
    use compliance_sandbox::elkyc::ApplicantStatus;
    use compliance_sandbox::{InstantSleeper, Provider, Sandbox, SandboxConfig};
    use kyc_public_api::{
        CreateApplicant, KycClient, WebhookEvent, WebhookProcessor as Elkyc,
        WebhookVerifier as ElkycVerifier,
    };

    let sandbox = Sandbox::start(SandboxConfig::default().seed(24).sleeper(InstantSleeper))
        .await
        .unwrap();
    let elkyc = sandbox.elkyc();
    let creds = elkyc.credentials();
    let settings = compliance_e2e::elkyc_settings(&creds).unwrap();
    let verifier = || ElkycVerifier::builder(settings.clone()).build().unwrap();
    let dir = TempDir::new("elkyc-outage");
    let store = SqliteStore::open(dir.0.join("state.db")).await.unwrap();
    let intake = Elkyc::builder(verifier())
        .queue(store.queue("elkyc"))
        .build()
        .unwrap();
    elkyc.set_webhook_url(format!(
        "{}/",
        serve(kyc_public_api::WebhookReceiver::new(intake).router()).await
    ));

    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let down = Arc::new(AtomicBool::new(true));
    let (record, is_down) = (seen.clone(), down.clone());
    let processor = Elkyc::builder(verifier())
        .inbox(store.inbox("elkyc"))
        .handler(kyc_public_api::handler_fn(move |event: WebhookEvent| {
            let (record, is_down) = (record.clone(), is_down.clone());
            async move {
                if is_down.load(Ordering::SeqCst) {
                    return Err("case management unavailable");
                }
                *record.lock().unwrap().entry(event.dedup_key).or_default() += 1;
                Ok(())
            }
        }))
        .build()
        .unwrap();
    let worker = Worker::builder(processor, store.queue("elkyc"))
        .retry(outage_schedule())
        .poll_interval(Duration::from_millis(10))
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    let kyc = KycClient::builder()
        .base_url(sandbox.endpoint(Provider::Elkyc).url())
        .api_key(creds.api_key.clone())
        .encryption(settings.clone())
        .build()
        .unwrap();
    for i in 0..6 {
        let id = format!("outage-{i}");
        kyc.create_applicant(&CreateApplicant::new(id.clone(), "basic-kyc"))
            .await
            .unwrap();
        elkyc
            .set_status(&id, ApplicantStatus::InProgress)
            .await
            .unwrap();
    }
    elkyc.settle_webhooks().await;
    let deliveries = elkyc.deliveries();
    assert_eq!(deliveries.len(), 12);
    for delivery in &deliveries {
        let statuses: Vec<_> = delivery.attempts.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(200)], "acknowledged at the first attempt");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(seen.lock().unwrap().is_empty());
    down.store(false, Ordering::SeqCst);
    let queue = store.queue("elkyc");
    until_done(&queue, 12).await;
    let _ = stop.send(());
    running.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 12);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}
