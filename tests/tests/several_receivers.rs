//! Several receivers, one database: three webhook receiver instances, each with its own
//! runtime, HTTP server and connection pool (as three processes behind a load balancer would
//! have), sharing one PostgreSQL inbox through `compliance-store`.
//!
//! Each test is a plain `#[test]`: the instances and the "provider" sending deliveries each
//! run their own tokio runtime, so one instance can be killed the way a crash kills a
//! process (every task dropped where it stands, nothing released).
//!
//! The instances run the shared pipeline's receiver (`aml_events::WebhookReceiver`): a
//! claim is renewed in the database while a handler runs, so a handler longer than the lease
//! is never run a second time by another instance, while a crashed instance's claim runs
//! out and the redelivery is processed.
//!
//! 1,000 concurrent deliveries need about 2,000 file descriptors in this one process
//! (both ends of every connection).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aml_events::auth::SharedSecretHeader;
use aml_events::{
    AmlEvent, BoxError, Handler, SecretString, WebhookProcessor, WebhookReceiver, WebhookVerifier,
    handler_fn,
};
use compliance_core::Inbox;
use compliance_store::PostgresStore;
use compliance_store::test_util::TempPostgres;
use tokio::runtime::Runtime;

const HEADER: &str = "x-tuum-secret";
const SECRET: &str = "shared-with-tuum";

/// The receiver under test, built in this one place: the shared pipeline's HTTP receiver
/// with Tuum's verifier, over `inbox`.
fn receiver_router(
    inbox: Arc<dyn Inbox>,
    handler: impl Handler<AmlEvent> + 'static,
) -> axum::Router {
    let verifier =
        WebhookVerifier::new(SharedSecretHeader::new(HEADER, SecretString::from(SECRET)).unwrap());
    let processor = WebhookProcessor::builder(verifier)
        .inbox(inbox)
        .handler(handler)
        .build()
        .unwrap();
    WebhookReceiver::new(processor).router()
}

/// What the handlers of every instance did, per notification.
#[derive(Default)]
struct Runs {
    started: Mutex<HashMap<String, usize>>,
    finished: Mutex<HashMap<String, usize>>,
}

impl Runs {
    fn count(map: &Mutex<HashMap<String, usize>>) -> (usize, usize) {
        let map = map.lock().unwrap();
        (map.values().sum(), map.len())
    }
}

/// A handler that takes a moment (so duplicates overlap it) and records each run. With
/// `hang_on`, it reports on `started` and never finishes for that notification.
fn handler(
    runs: Arc<Runs>,
    hang_on: Option<(String, SyncSender<()>)>,
) -> impl Handler<AmlEvent> + 'static {
    handler_fn(move |event: AmlEvent| {
        let (runs, hang_on) = (runs.clone(), hang_on.clone());
        async move {
            let id = event.notification_id().to_owned();
            *runs.started.lock().unwrap().entry(id.clone()).or_default() += 1;
            if let Some((hang_id, started)) = hang_on
                && hang_id == id
            {
                started.send(()).unwrap();
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            *runs.finished.lock().unwrap().entry(id).or_default() += 1;
            Ok::<_, BoxError>(())
        }
    })
}

/// One receiver instance: its own runtime, its own pool to the shared database, its own
/// HTTP server on a loopback port.
struct Instance {
    url: String,
    runtime: Option<Runtime>,
}

impl Instance {
    fn start(database: &str, lease: Duration, handler: impl Handler<AmlEvent> + 'static) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = runtime.block_on(async {
            let store = PostgresStore::connect(database).await.unwrap();
            let inbox: Arc<dyn Inbox> = Arc::new(store.inbox("tuum").with_lease(lease));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app =
                receiver_router(inbox, handler).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}/")
        });
        Self {
            url,
            runtime: Some(runtime),
        }
    }

    /// Kills the instance as a crash would: its server, its in-flight handlers and its pool
    /// are dropped mid-run; no claim is released.
    fn crash(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.crash();
    }
}

fn event(notification_id: &str) -> String {
    serde_json::json!({
        "notificationId": notification_id,
        "notificationTypeCode": "AML_PERSON_SUBPROCESS_CREATED",
        "destination": "https://receiver.example/tuum",
        "originalMessageDateTime": "2024-12-16T11:18:19.955Z",
        "data": {
            "messageDTime": "2022-07-08T09:04:37.108561Z",
            "amlProcessId": format!("AML-{notification_id}"),
            "amlSubprocessId": "A000000001000",
            "personId": "ID-1000"
        }
    })
    .to_string()
}

/// Delivers `notification_id` to `url` as Tuum would; the answer's status and JSON
/// `status` field, or `None` when the connection broke.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    notification_id: &str,
) -> Option<(u16, String)> {
    let response = client
        .post(url)
        .header(HEADER, SECRET)
        .header("content-type", "application/json")
        .body(event(notification_id))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.ok()?;
    let field = body["status"]
        .as_str()
        .or(body["error"].as_str())
        .unwrap_or("");
    Some((status, field.to_owned()))
}

/// The provider's HTTP client; its timeout keeps a test from ever hanging on a delivery.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn provider_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The shared database, or `None` (after one line on stderr) when PostgreSQL is not
/// installed outside CI.
fn database(provider: &Runtime) -> Option<String> {
    let pg = TempPostgres::shared()?;
    Some(provider.block_on(pg.create_database()).unwrap())
}

#[test]
fn a_thousand_concurrent_deliveries_over_three_instances_run_each_event_once() {
    let provider = provider_runtime();
    let Some(database) = database(&provider) else {
        return;
    };
    let runs = Arc::new(Runs::default());
    let instances: Vec<Instance> = (0..3)
        .map(|_| {
            Instance::start(
                &database,
                Duration::from_secs(60),
                handler(runs.clone(), None),
            )
        })
        .collect();
    let urls: Vec<String> = instances.iter().map(|i| i.url.clone()).collect();
    let ids: Vec<String> = (1..=50).map(|n| format!("NTF-{n:06}")).collect();

    let answers = provider.block_on(async {
        let client = client();
        let mut deliveries = tokio::task::JoinSet::new();
        for n in 0..1000 {
            let (client, url, id) = (client.clone(), urls[n % 3].clone(), ids[n % 50].clone());
            deliveries.spawn(async move { (id.clone(), deliver(&client, &url, &id).await) });
        }
        deliveries.join_all().await
    });

    let mut processed: HashMap<&str, usize> = HashMap::new();
    for (id, answer) in &answers {
        match answer {
            Some((200, status)) if status == "processed" => {
                *processed.entry(id.as_str()).or_default() += 1
            }
            Some((200, status)) if status == "duplicate" => {}
            // Another instance was processing it at that moment: Tuum retries later.
            Some((503, status)) if status == "in_progress" => {}
            other => panic!("{id}: unexpected answer {other:?}"),
        }
    }
    assert_eq!(processed.len(), 50, "every event processed");
    assert!(processed.values().all(|&n| n == 1), "{processed:?}");
    assert_eq!(
        Runs::count(&runs.started),
        (50, 50),
        "exactly 50 handler runs"
    );
    assert_eq!(Runs::count(&runs.finished), (50, 50));

    // Tuum's retries of the deliveries answered 503 now find each event done.
    let again = provider.block_on(async {
        let client = client();
        let mut answers = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            answers.push(deliver(&client, &urls[n % 3], id).await);
        }
        answers
    });
    assert!(
        again.iter().all(|a| a
            .as_ref()
            .is_some_and(|(code, s)| *code == 200 && s == "duplicate")),
        "{again:?}"
    );
    assert_eq!(Runs::count(&runs.started), (50, 50));
}

#[test]
fn an_instance_crashing_mid_handler_loses_nothing_and_the_redelivery_runs_once() {
    let provider = provider_runtime();
    let Some(database) = database(&provider) else {
        return;
    };
    let lease = Duration::from_secs(4);
    let victim = "NTF-CRASH";
    let runs = Arc::new(Runs::default());
    let (started_tx, started): (SyncSender<()>, Receiver<()>) = sync_channel(1);
    let mut a = Instance::start(
        &database,
        lease,
        handler(runs.clone(), Some((victim.to_owned(), started_tx))),
    );
    let b = Instance::start(&database, lease, handler(runs.clone(), None));
    let c = Instance::start(&database, lease, handler(runs.clone(), None));
    let client = provider.block_on(async { client() });

    // Instance A claims the event and starts the handler...
    let first = {
        let (client, url) = (client.clone(), a.url.clone());
        provider.spawn(async move { deliver(&client, &url, victim).await })
    };
    started
        .recv_timeout(Duration::from_secs(30))
        .expect("instance A started the handler");
    // ...and dies mid-run, without answering or releasing anything.
    a.crash();
    assert_eq!(provider.block_on(first).unwrap(), None, "A never answered");

    provider.block_on(async {
        // Its claim still holds: another instance must not run the event concurrently.
        assert_eq!(
            deliver(&client, &b.url, victim).await,
            Some((503, "in_progress".to_owned()))
        );
        // Tuum keeps retrying; once A's lease runs out, the next delivery is processed.
        let mut answers = Vec::new();
        for attempt in 0..60 {
            let url = if attempt % 2 == 0 { &c.url } else { &b.url };
            let answer = deliver(&client, url, victim).await;
            let settled = matches!(&answer, Some((200, _)));
            answers.push(answer);
            if settled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            answers.last(),
            Some(&Some((200, "processed".to_owned()))),
            "{answers:?}"
        );
        assert!(
            answers[..answers.len() - 1]
                .iter()
                .all(|a| *a == Some((503, "in_progress".to_owned()))),
            "{answers:?}"
        );
        // Later deliveries, to either survivor, are duplicates.
        for url in [&b.url, &c.url] {
            assert_eq!(
                deliver(&client, url, victim).await,
                Some((200, "duplicate".to_owned()))
            );
        }
    });
    let started = runs.started.lock().unwrap()[victim];
    let finished = runs.finished.lock().unwrap()[victim];
    assert_eq!(
        (started, finished),
        (2, 1),
        "A's run died; exactly one ran to the end"
    );
}

#[test]
fn a_handler_running_three_leases_long_keeps_its_claim_across_instances() {
    let provider = provider_runtime();
    let Some(database) = database(&provider) else {
        return;
    };
    // The processor renews every third of the lease, in the database, by the server's clock.
    let lease = Duration::from_secs(2);
    let id = "NTF-LONG";
    let runs = Arc::new(Runs::default());
    let slow = {
        let runs = runs.clone();
        handler_fn(move |event: AmlEvent| {
            let runs = runs.clone();
            async move {
                let id = event.notification_id().to_owned();
                *runs.started.lock().unwrap().entry(id.clone()).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(6500)).await;
                *runs.finished.lock().unwrap().entry(id).or_default() += 1;
                Ok::<_, BoxError>(())
            }
        })
    };
    let a = Instance::start(&database, lease, slow);
    let b = Instance::start(&database, lease, handler(runs.clone(), None));
    let client = provider.block_on(async { client() });

    let first = {
        let (client, url) = (client.clone(), a.url.clone());
        provider.spawn(async move { deliver(&client, &url, id).await })
    };
    provider.block_on(async {
        while runs.started.lock().unwrap().get(id).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Redeliveries to the other instance while A's handler runs, well past its first
        // lease: every one finds the claim held.
        let mut answers = Vec::new();
        while runs.finished.lock().unwrap().get(id).is_none() {
            answers.push(deliver(&client, &b.url, id).await);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Deliveries went on until the handler finished, 3.25 leases after it started.
        assert!(answers.len() >= 4, "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|a| *a == Some((503, "in_progress".to_owned()))
                    || *a == Some((200, "duplicate".to_owned()))),
            "{answers:?}"
        );
        assert!(
            answers[..answers.len() - 1]
                .iter()
                .all(|a| *a == Some((503, "in_progress".to_owned()))),
            "{answers:?}"
        );
    });
    assert_eq!(
        provider.block_on(first).unwrap(),
        Some((200, "processed".to_owned()))
    );
    assert_eq!(
        provider.block_on(async { deliver(&client, &b.url, id).await }),
        Some((200, "duplicate".to_owned()))
    );
    assert_eq!(Runs::count(&runs.started), (1, 1), "one run, on A");
    assert_eq!(Runs::count(&runs.finished), (1, 1));
}
