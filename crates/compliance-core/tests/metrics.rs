//! Every row of `metrics::CATALOGUE`, against a recording recorder (`metrics-util`'s
//! debugging recorder, installed for the test's thread only): each metric moves when, and
//! only when, it should, with the labels the catalogue lists. Label sets stay bounded
//! whatever ids the calls and deliveries carry.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::http::{
    Auth, AuthContext, AuthVerdict, CredentialSet, Request, Response, RetryPolicy, TokenCache,
    Transport, TransportConfig,
};
use compliance_core::metrics::{CATALOGUE, label, name};
use compliance_core::rt::{BoxFuture, ManualClock, Runtime, TokioRuntime};
use compliance_core::webhook::{
    BoxError, MemoryQueue, NewDelivery, Processor, Queue, Rejection, RejectionKind, RequestInfo,
    RetrySchedule, StoredRequest, Verified, Verifier, Worker, handler_fn,
};
use compliance_core::{Claim, ClaimToken, Error, Inbox, InboxError, MemoryInbox};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tokio::io::AsyncReadExt;

/// One metric as recorded: name, labels, value.
#[derive(Debug)]
struct Seen {
    name: String,
    labels: BTreeMap<String, String>,
    value: DebugValue,
}

/// What a test emitted.
#[derive(Debug)]
struct Recorded(Vec<Seen>);

impl Recorded {
    fn of<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = &'a Seen> + 'a {
        self.0.iter().filter(move |s| s.name == metric)
    }

    /// The sum of a counter over its label sets (0 when it never moved).
    fn count(&self, metric: &str) -> u64 {
        self.of(metric)
            .map(|s| match &s.value {
                DebugValue::Counter(n) => *n,
                other => panic!("{metric} is not a counter: {other:?}"),
            })
            .sum()
    }

    /// Every observation of a histogram, over its label sets.
    fn observations(&self, metric: &str) -> Vec<f64> {
        self.of(metric)
            .flat_map(|s| match &s.value {
                DebugValue::Histogram(v) => v.iter().map(|x| x.into_inner()).collect::<Vec<_>>(),
                other => panic!("{metric} is not a histogram: {other:?}"),
            })
            .collect()
    }

    /// A gauge's value under `labels`.
    fn gauge(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.of(metric)
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| match &s.value {
                DebugValue::Gauge(g) => g.into_inner(),
                other => panic!("{metric} is not a gauge: {other:?}"),
            })
    }

    /// The label sets a metric was recorded under.
    fn label_sets(&self, metric: &str) -> BTreeSet<Vec<(String, String)>> {
        self.of(metric)
            .map(|s| s.labels.clone().into_iter().collect())
            .collect()
    }

    /// The labels of `metric`'s only label set.
    fn labels(&self, metric: &str) -> BTreeMap<String, String> {
        let sets: Vec<_> = self.of(metric).collect();
        assert_eq!(sets.len(), 1, "{metric}: {sets:?}");
        sets[0].labels.clone()
    }

    /// Every label of every metric recorded is one the catalogue lists for it.
    fn check_against_catalogue(&self) {
        for seen in &self.0 {
            let row = CATALOGUE
                .iter()
                .find(|m| m.name == seen.name)
                .unwrap_or_else(|| panic!("{} is not in the catalogue", seen.name));
            for key in seen.labels.keys() {
                assert!(
                    row.labels.contains(&key.as_str()),
                    "{}: label {key} is not in the catalogue",
                    seen.name
                );
            }
        }
    }
}

/// Runs `test` on a current-thread runtime (so every task it spawns runs on this thread)
/// with a fresh recording recorder, and returns what it recorded.
fn record<F: Future<Output = ()>>(paused: bool, test: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if paused {
        builder.start_paused(true);
    }
    let runtime = builder.build().unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test()));
    let recorded = Recorded(
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            // What never moved: a processor registers its handles when it is built.
            .filter(|(_, _, _, value)| match value {
                DebugValue::Counter(n) => *n > 0,
                DebugValue::Histogram(values) => !values.is_empty(),
                DebugValue::Gauge(_) => true,
            })
            .map(|(key, _, _, value)| {
                let (_, key) = key.into_parts();
                Seen {
                    name: key.name().to_owned(),
                    labels: key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect(),
                    value,
                }
            })
            .collect(),
    );
    recorded.check_against_catalogue();
    recorded
}

// ---------------------------------------------------------------------------------------
// client calls

/// Back-off sleeps return at once.
#[derive(Debug)]
struct NoSleep;

impl Runtime for NoSleep {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }

    fn spawn(&self, task: BoxFuture<()>) -> bool {
        TokioRuntime.spawn(task)
    }
}

fn transport(url: &str, config: TransportConfig) -> Transport {
    Transport::builder(url)
        .provider("acme")
        .config(config)
        .runtime(Arc::new(NoSleep))
        .build()
        .unwrap()
}

/// A server answering `statuses` in turn to `GET /thing`, then 200.
async fn server(statuses: &[(u16, Option<&str>)]) -> mockito::ServerGuard {
    let mut server = mockito::Server::new_async().await;
    for (status, retry_after) in statuses {
        let mut mock = server.mock("GET", "/thing").with_status(*status as usize);
        if let Some(after) = retry_after {
            mock = mock.with_header("retry-after", after);
        }
        mock.expect(1).create_async().await;
    }
    server
        .mock("GET", "/thing")
        .with_status(200)
        .create_async()
        .await;
    server
}

fn thing() -> Request {
    Request::get("/thing").operation("get_thing")
}

/// A call that fails before any attempt: its auth cannot sign.
struct Unsignable;

#[async_trait]
impl Auth for Unsignable {
    type Identity = ();
    type Error = Error;

    async fn resolve(&self) -> Result<(), Error> {
        Ok(())
    }

    fn sign(&self, _: &(), _: &mut AuthContext<'_>) -> Result<(), Error> {
        Err(Error::Config("no key".into()))
    }

    fn classify(&self, _: &(), _: &Response) -> AuthVerdict<Error> {
        AuthVerdict::Accept
    }

    fn invalidate(&self, _: &(), _: CredentialSet) {}
}

#[test]
fn http_client_request_duration_moves_once_per_attempt_with_otel_labels() {
    let recorded = record(false, || async {
        let server = server(&[(503, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(
        recorded
            .observations(name::HTTP_CLIENT_REQUEST_DURATION)
            .len(),
        2
    );
    let sets = recorded.label_sets(name::HTTP_CLIENT_REQUEST_DURATION);
    let has = |status: &str, error: Option<&str>| {
        sets.iter().any(|set| {
            let map: BTreeMap<_, _> = set.iter().cloned().collect();
            map.get(label::STATUS_CODE).map(String::as_str) == Some(status)
                && map.get(label::ERROR_TYPE).map(String::as_str) == error
                && map.get(label::PROVIDER).map(String::as_str) == Some("acme")
                && map.get(label::OPERATION).map(String::as_str) == Some("get_thing")
                && map.get(label::METHOD).map(String::as_str) == Some("GET")
                && map.get(label::SERVER_ADDRESS).map(String::as_str) == Some("127.0.0.1")
        })
    };
    assert!(has("503", Some("503")) && has("200", None), "{sets:?}");

    let nothing_sent = record(false, || async {
        let server = server(&[]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send_with(thing(), &Unsignable).await.unwrap_err();
    });
    assert!(
        nothing_sent
            .observations(name::HTTP_CLIENT_REQUEST_DURATION)
            .is_empty()
    );
}

#[test]
fn client_call_duration_moves_once_per_call_with_its_error_type() {
    let recorded = record(false, || async {
        let server = server(&[(503, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
        let failing = self::server(&[(500, None), (500, None), (500, None)]).await;
        let t = transport(&failing.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(recorded.observations(name::CLIENT_CALL_DURATION).len(), 2);
    let sets = recorded.label_sets(name::CLIENT_CALL_DURATION);
    assert!(
        sets.iter()
            .any(|s| !s.iter().any(|(k, _)| k == label::ERROR_TYPE)),
        "the successful call has no error.type: {sets:?}"
    );
    assert!(
        sets.iter()
            .any(|s| s.contains(&(label::ERROR_TYPE.into(), "500".into()))),
        "{sets:?}"
    );
}

#[test]
fn client_call_attempts_counts_the_attempts_of_each_call() {
    let recorded = record(false, || async {
        let server = server(&[(503, None), (502, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(recorded.observations(name::CLIENT_CALL_ATTEMPTS), vec![3.0]);
}

#[test]
fn client_retries_move_per_retry_by_reason_and_not_on_success() {
    let recorded = record(false, || async {
        let server = server(&[(503, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(recorded.count(name::CLIENT_RETRIES), 1);
    assert_eq!(
        recorded.labels(name::CLIENT_RETRIES)[label::RETRY_REASON],
        "transient_answer"
    );

    let first_time = record(false, || async {
        let server = server(&[]).await;
        transport(&server.url(), TransportConfig::default())
            .send(thing())
            .await
            .unwrap();
    });
    assert_eq!(first_time.count(name::CLIENT_RETRIES), 0);
}

#[test]
fn client_rate_limited_moves_on_each_429_only() {
    let recorded = record(false, || async {
        let server = server(&[(429, Some("0")), (503, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(recorded.count(name::CLIENT_RATE_LIMITED), 1);
}

#[test]
fn client_retry_after_wait_moves_only_when_the_provider_said_how_long() {
    let recorded = record(false, || async {
        let server = server(&[(429, Some("2")), (503, None)]).await;
        let t = transport(&server.url(), TransportConfig::default());
        t.send(thing()).await.unwrap();
    });
    assert_eq!(
        recorded.observations(name::CLIENT_RETRY_AFTER_WAIT),
        vec![2.0]
    );
    assert_eq!(recorded.count(name::CLIENT_RETRIES), 2);
}

/// A server that accepts connections and never answers.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while sock.read(&mut buf).await.is_ok_and(|n| n > 0) {}
            });
        }
    });
    url
}

#[test]
fn client_deadline_exceeded_moves_when_the_deadline_ends_the_call_only() {
    let recorded = record(true, || async {
        let url = silent_server().await;
        let config = TransportConfig::default()
            .attempt_timeout(Duration::from_secs(30))
            .deadline(Duration::from_millis(200));
        transport(&url, config).send(thing()).await.unwrap_err();
    });
    assert_eq!(recorded.count(name::CLIENT_DEADLINE_EXCEEDED), 1);
    assert_eq!(
        recorded.labels(name::CLIENT_CALL_DURATION)[label::ERROR_TYPE],
        "deadline"
    );

    let attempt_timeout = record(true, || async {
        let url = silent_server().await;
        let config = TransportConfig::default()
            .attempt_timeout(Duration::from_millis(100))
            .retry(RetryPolicy::none());
        transport(&url, config).send(thing()).await.unwrap_err();
    });
    assert_eq!(attempt_timeout.count(name::CLIENT_DEADLINE_EXCEEDED), 0);
    assert_eq!(
        attempt_timeout.labels(name::CLIENT_CALL_DURATION)[label::ERROR_TYPE],
        "timeout"
    );
}

// ---------------------------------------------------------------------------------------
// auth

fn renewals(results: Vec<Result<u32, Error>>) -> Recorded {
    record(false, move || async move {
        let cache: TokenCache<u32, Error> = TokenCache::new().provider("acme");
        for result in results {
            let _ = cache.resolve(|_| false, |_| async move { result }).await;
        }
        // Fresh: no renewal.
        let fresh: TokenCache<u32, Error> = TokenCache::with_value(1).provider("acme");
        fresh.resolve(|_| true, |_| async { Ok(2) }).await.unwrap();
    })
}

#[test]
fn auth_renewals_count_each_renewal_by_outcome() {
    let recorded = renewals(vec![Ok(1), Err(Error::Config("refused".into())), Ok(2)]);
    assert_eq!(recorded.count(name::AUTH_RENEWALS), 3);
    let errors: u64 = recorded
        .of(name::AUTH_RENEWALS)
        .filter(|s| s.labels[label::OUTCOME] == "error")
        .map(|s| match s.value {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(errors, 1);
    assert!(
        recorded
            .of(name::AUTH_RENEWALS)
            .all(|s| s.labels[label::PROVIDER] == "acme")
    );
    assert_eq!(renewals(vec![]).count(name::AUTH_RENEWALS), 0);
}

#[test]
fn auth_renewal_duration_moves_when_a_renewal_ends() {
    let recorded = renewals(vec![Ok(1), Err(Error::Config("refused".into()))]);
    assert_eq!(recorded.observations(name::AUTH_RENEWAL_DURATION).len(), 2);
    assert!(
        renewals(vec![])
            .observations(name::AUTH_RENEWAL_DURATION)
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------
// webhooks

/// Bodies are the key; `forged` is refused, `fail` fails, `panic` panics, `slow` sleeps.
struct Toy;

#[derive(Debug, thiserror::Error)]
#[error("forged")]
struct Forged;

impl Rejection for Forged {
    fn kind(&self) -> RejectionKind {
        RejectionKind::Unauthenticated
    }
}

impl Verifier for Toy {
    type Event = String;
    type Error = Forged;
    const PROVIDER: &'static str = "acme";

    fn verify_delivery(
        &self,
        _: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<String>, Forged> {
        let key = String::from_utf8_lossy(body).into_owned();
        if key == "forged" {
            return Err(Forged);
        }
        Ok(Verified::event(key.clone(), key))
    }
}

fn processor(inbox: impl Inbox + 'static) -> Processor<Toy> {
    Processor::builder(Toy)
        .inbox(inbox)
        .handler(handler_fn(|event: String| async move {
            match event.split(':').next() {
                Some("fail") => Err::<(), BoxError>("nothing done".into()),
                Some("panic") => panic!("handler bug"),
                Some("slow") => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(())
                }
                _ => Ok(()),
            }
        }))
        .build()
        .unwrap()
}

async fn deliver(processor: &Processor<Toy>, bodies: &[&str]) {
    for body in bodies {
        let _ = processor
            .process(&RequestInfo::empty(), body.as_bytes())
            .await;
    }
}

fn deliveries(bodies: &'static [&'static str]) -> Recorded {
    record(false, move || async move {
        deliver(&processor(MemoryInbox::new()), bodies).await;
    })
}

fn counted(recorded: &Recorded, metric: &str, key: &str, value: &str) -> u64 {
    recorded
        .of(metric)
        .filter(|s| s.labels.get(key).map(String::as_str) == Some(value))
        .map(|s| match s.value {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
        .sum()
}

#[test]
fn webhook_deliveries_count_each_answer_by_its_row_of_the_table() {
    let recorded = deliveries(&["a", "a", "fail:b", "forged"]);
    assert_eq!(recorded.count(name::WEBHOOK_DELIVERIES), 4);
    for (row, n) in [
        ("processed", 1),
        ("duplicate", 1),
        ("processing_failed", 1),
        ("unauthenticated", 1),
    ] {
        assert_eq!(
            counted(&recorded, name::WEBHOOK_DELIVERIES, label::OUTCOME, row),
            n,
            "{row}"
        );
    }
    assert!(
        recorded
            .of(name::WEBHOOK_DELIVERIES)
            .all(|s| s.labels[label::PROVIDER] == "acme")
    );
}

#[test]
fn webhook_refusals_move_on_refusals_only() {
    let recorded = deliveries(&["forged", "a", "fail:b"]);
    assert_eq!(recorded.count(name::WEBHOOK_REFUSALS), 1);
    assert_eq!(
        recorded.labels(name::WEBHOOK_REFUSALS)[label::REASON],
        "unauthenticated"
    );
    assert_eq!(deliveries(&["a", "a"]).count(name::WEBHOOK_REFUSALS), 0);
}

#[test]
fn webhook_handler_duration_moves_per_handler_run() {
    // The duplicate and the refusal run no handler.
    let recorded = deliveries(&["a", "a", "forged", "fail:b"]);
    assert_eq!(
        recorded.observations(name::WEBHOOK_HANDLER_DURATION).len(),
        2
    );
    let outcomes: BTreeSet<_> = recorded
        .of(name::WEBHOOK_HANDLER_DURATION)
        .map(|s| s.labels[label::OUTCOME].clone())
        .collect();
    assert_eq!(outcomes, BTreeSet::from(["ok".into(), "error".into()]));
}

#[test]
fn webhook_handler_failures_count_errors_and_panics_not_successes() {
    let recorded = deliveries(&["fail:a", "panic:b", "c"]);
    assert_eq!(recorded.count(name::WEBHOOK_HANDLER_FAILURES), 2);
    assert_eq!(
        counted(
            &recorded,
            name::WEBHOOK_HANDLER_FAILURES,
            label::OUTCOME,
            "panic"
        ),
        1
    );
    assert_eq!(
        counted(
            &recorded,
            name::WEBHOOK_HANDLER_FAILURES,
            label::OUTCOME,
            "error"
        ),
        1
    );
    assert_eq!(
        deliveries(&["a", "b"]).count(name::WEBHOOK_HANDLER_FAILURES),
        0
    );
}

/// A memory inbox whose renewals all fail (storage down while the handler runs).
struct Unrenewable(MemoryInbox);

#[async_trait]
impl Inbox for Unrenewable {
    fn lease(&self) -> Duration {
        self.0.lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        self.0.claim(key).await
    }
    async fn renew(&self, _: &str, _: &ClaimToken) -> Result<(), InboxError> {
        Err(InboxError::Storage("storage down".into()))
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.0.complete(key, token).await
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.0.release(key, token).await
    }
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        self.0.purge(older_than).await
    }
}

#[test]
fn webhook_claims_lost_moves_when_no_renewal_succeeds_for_a_lease() {
    let recorded = record(true, || async {
        let inbox = Unrenewable(MemoryInbox::with_lease(Duration::from_secs(3)));
        deliver(&processor(inbox), &["slow:a", "b"]).await;
    });
    assert_eq!(recorded.count(name::WEBHOOK_CLAIMS_LOST), 1);
    assert_eq!(
        counted(
            &recorded,
            name::WEBHOOK_DELIVERIES,
            label::OUTCOME,
            "lease_lost"
        ),
        1
    );
    assert_eq!(
        deliveries(&["fail:a", "b"]).count(name::WEBHOOK_CLAIMS_LOST),
        0
    );
}

// ---------------------------------------------------------------------------------------
// store and queue: the seams the stores and the durable queue call

#[test]
fn store_operation_duration_moves_per_recorded_operation() {
    let recorded = record(false, || async {
        compliance_core::metrics::record_store_operation(
            "sqlite",
            "claim",
            true,
            Duration::from_millis(3),
        );
    });
    assert_eq!(
        recorded.observations(name::STORE_OPERATION_DURATION),
        vec![0.003]
    );
    assert_eq!(
        recorded.labels(name::STORE_OPERATION_DURATION)[label::BACKEND],
        "sqlite"
    );
    // compliance-store's own test (`tests/metrics.rs`) checks that its inboxes call it.
}

/// A durable intake over `queue`.
fn intake(queue: Arc<MemoryQueue>) -> Processor<Toy> {
    Processor::builder(Toy).queue(queue).build().unwrap()
}

/// A worker over `queue` taking one delivery at a time; a failed one is dead after
/// `attempts` attempts, retried a minute later before that.
fn worker(queue: Arc<MemoryQueue>, attempts: u32) -> Worker<Toy> {
    let schedule = RetrySchedule::new()
        .first_delay(Duration::from_secs(60))
        .jitter(false)
        .max_attempts(Some(attempts));
    Worker::builder(processor(MemoryInbox::new()), queue)
        .retry(schedule)
        .concurrency(1)
        .build()
        .unwrap()
}

#[test]
fn webhook_deliveries_count_a_durable_intake_by_its_rows() {
    let recorded = record(false, || async {
        deliver(&intake(Arc::new(MemoryQueue::new())), &["a", "a", "forged"]).await;
        // A full queue (or one whose storage is down) answers 503: its own row.
        deliver(&intake(Arc::new(MemoryQueue::new().capacity(0))), &["b"]).await;
    });
    for (row, n) in [
        ("queued", 1),
        ("duplicate", 1),
        ("unauthenticated", 1),
        ("queue_unavailable", 1),
    ] {
        assert_eq!(
            counted(&recorded, name::WEBHOOK_DELIVERIES, label::OUTCOME, row),
            n,
            "{row}"
        );
    }
    // Nothing ran: intake stores, a worker processes.
    assert_eq!(recorded.count(name::WEBHOOK_DELIVERIES), 4);
    assert!(
        recorded
            .observations(name::WEBHOOK_HANDLER_DURATION)
            .is_empty()
    );
}

#[test]
fn queue_deliveries_and_oldest_age_are_set_by_each_measurement() {
    let recorded = record(false, || async {
        // Now: the worker's retry schedule measures ages on the system clock.
        let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
        let queue = Arc::new(MemoryQueue::new().clock(clock.clone()));
        let intake = intake(queue.clone());
        deliver(&intake, &["fail:a", "b", "c"]).await;
        clock.advance(jiff::SignedDuration::from_secs(90));
        let worker = worker(queue.clone(), 5);
        // Takes `fail:a` (oldest first), which fails: retrying. Then measures.
        assert_eq!(worker.run_once().await.unwrap(), 1);
        // Not measured again: the gauges keep what the worker saw.
        deliver(&intake, &["d"]).await;
    });
    let state = |s| {
        recorded.gauge(
            name::QUEUE_DELIVERIES,
            &[(label::PROVIDER, "acme"), (label::STATE, s)],
        )
    };
    assert_eq!(state("queued"), Some(2.0));
    assert_eq!(state("retrying"), Some(1.0));
    assert_eq!(state("dead"), Some(0.0));
    assert_eq!(
        recorded.gauge(name::QUEUE_OLDEST_QUEUED_AGE, &[(label::PROVIDER, "acme")]),
        Some(90.0)
    );
    // An intake alone measures nothing.
    let intake_only = record(false, || async {
        deliver(&intake(Arc::new(MemoryQueue::new())), &["a"]).await;
    });
    assert!(intake_only.of(name::QUEUE_DELIVERIES).next().is_none());
    assert!(
        intake_only
            .of(name::QUEUE_OLDEST_QUEUED_AGE)
            .next()
            .is_none()
    );
}

#[test]
fn a_worker_measures_its_queue_when_it_stops() {
    // Paused time: the grace period and the interval pass at once.
    let recorded = record(true, || async {
        let queue = Arc::new(MemoryQueue::new());
        let worker = worker(queue.clone(), 5);
        // Started on an empty queue (measured: 0), stopped at 5 s, before the next 10 s
        // measurement; meanwhile `fail:a` arrived and failed once (retry in 60 s).
        let run = worker.run(tokio::time::sleep(Duration::from_secs(5)));
        let meanwhile = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            deliver(&intake(queue.clone()), &["fail:a"]).await;
            tokio::time::sleep(Duration::from_secs(7)).await;
            deliver(&intake(queue.clone()), &["b"]).await;
        };
        tokio::join!(run, meanwhile);
    });
    let state = |s| {
        recorded.gauge(
            name::QUEUE_DELIVERIES,
            &[(label::PROVIDER, "acme"), (label::STATE, s)],
        )
    };
    assert_eq!(
        state("retrying"),
        Some(1.0),
        "fail:a, as the worker left it"
    );
    assert_eq!(state("queued"), Some(0.0), "b arrived after the stop");
}

#[test]
fn a_running_worker_measures_its_queue_even_with_every_slot_busy() {
    // Paused time: the 10 s measuring interval passes at once.
    let recorded = record(true, || async {
        let queue = Arc::new(MemoryQueue::new());
        deliver(&intake(queue.clone()), &["slow:a", "b", "c"]).await;
        let worker = worker(queue.clone(), 5);
        // `slow:a` holds the only slot for a minute; the gauges still follow the queue.
        // Dropped at 15 s (not shut down, which measures once more on its way out).
        let run = async {
            let _ = tokio::time::timeout(
                Duration::from_secs(15),
                worker.run(std::future::pending::<()>()),
            )
            .await;
        };
        let meanwhile = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            deliver(&intake(queue.clone()), &["d"]).await;
        };
        tokio::join!(run, meanwhile);
    });
    assert_eq!(
        recorded.gauge(
            name::QUEUE_DELIVERIES,
            &[(label::PROVIDER, "acme"), (label::STATE, "queued")]
        ),
        Some(3.0),
        "measured at 10 s: b, c and d wait"
    );
}

#[test]
fn queue_dead_lettered_counts_each_delivery_the_worker_gives_up_on() {
    let recorded = record(false, || async {
        let queue = Arc::new(MemoryQueue::new());
        deliver(&intake(queue.clone()), &["fail:a", "b"]).await;
        // Stored by something else, and no longer verifies: dead at once.
        let forged = NewDelivery::new("forged", StoredRequest::new(Vec::new(), "forged"));
        queue.enqueue(forged).await.unwrap();
        let worker = worker(queue.clone(), 1);
        while worker.run_once().await.unwrap() > 0 {}
    });
    assert_eq!(recorded.count(name::QUEUE_DEAD_LETTERED), 2);
    assert_eq!(
        recorded.labels(name::QUEUE_DEAD_LETTERED)[label::PROVIDER],
        "acme"
    );
    assert_eq!(
        recorded.gauge(
            name::QUEUE_DELIVERIES,
            &[(label::PROVIDER, "acme"), (label::STATE, "dead")]
        ),
        Some(2.0)
    );
    let retried = record(false, || async {
        let queue = Arc::new(MemoryQueue::new());
        deliver(&intake(queue.clone()), &["fail:a", "b"]).await;
        let worker = worker(queue.clone(), 3);
        while worker.run_once().await.unwrap() > 0 {}
    });
    assert_eq!(retried.count(name::QUEUE_DEAD_LETTERED), 0);
}

#[test]
fn queue_replayed_counts_each_replay_that_puts_a_delivery_back() {
    let recorded = record(false, || async {
        let queue = Arc::new(MemoryQueue::new());
        deliver(&intake(queue.clone()), &["fail:a"]).await;
        let worker = worker(queue.clone(), 1);
        while worker.run_once().await.unwrap() > 0 {}
        assert!(queue.replay("fail:a").await.unwrap());
        assert!(!queue.replay("absent").await.unwrap());
    });
    assert_eq!(recorded.count(name::QUEUE_REPLAYED), 1);
    assert_eq!(
        recorded.labels(name::QUEUE_REPLAYED)[label::BACKEND],
        "memory"
    );
    // compliance-store's own test checks its queues count replays and time operations.
}

#[test]
fn every_catalogue_row_has_a_test_here() {
    let source = include_str!("metrics.rs");
    for metric in CATALOGUE {
        let constant = compliance_core_name_constant(metric.name);
        assert!(
            source.contains(&format!("name::{constant}")),
            "no test checks {} (name::{constant})",
            metric.name
        );
    }
}

fn compliance_core_name_constant(metric: &str) -> String {
    metric
        .trim_start_matches("compliance.")
        .replace(['.'], "_")
        .to_uppercase()
}

// ---------------------------------------------------------------------------------------
// bounded labels

#[test]
fn label_sets_stay_bounded_under_a_thousand_applicant_ids() {
    let recorded = record(false, || async {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("GET", mockito::Matcher::Regex("^/applicants/".into()))
            .with_status(200)
            .create_async()
            .await;
        let t = transport(&server.url(), TransportConfig::default());
        let processor = processor(MemoryInbox::new());
        for n in 0..1000 {
            let id = format!("applicant-{n}");
            t.send(Request::get(format!("/applicants/{id}")).operation("get_applicant"))
                .await
                .unwrap();
            deliver(&processor, &[id.as_str()]).await;
        }
    });
    let mut total = 0;
    for metric in CATALOGUE {
        let sets = recorded.label_sets(metric.name);
        assert!(
            sets.len() <= 2,
            "{}: {} label sets",
            metric.name,
            sets.len()
        );
        for set in &sets {
            for (_, value) in set {
                assert!(!value.contains("applicant-"), "{}: {value}", metric.name);
            }
        }
        total += sets.len();
    }
    assert!(total >= 5, "{total} label sets recorded");
}
