//! Durable mode with the in-memory queue and inbox: intake acknowledges only what it stored,
//! the worker processes each stored event once, retries with back-off, gives up as dead,
//! replays, keeps sequences, and shuts down gracefully. The SQL queues run the same
//! contract in compliance-store's conformance suite.

#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::webhook::{
    BoxError, DeliveryInfo, DeliveryState, Enqueued, Failure, Handler, MemoryQueue, NewDelivery,
    Outcome, ProcessError, Processor, Queue, QueueDepth, Rejection, RejectionKind, RequestInfo,
    RetrySchedule, Stage, Taken, Verified, Verifier, Worker,
};
use compliance_core::{ClaimToken, InboxError, MemoryInbox};
use http::{HeaderMap, HeaderValue};

/// `x-token: secret` authenticates (a shared secret: never kept); `x-sig` must equal the
/// body's length (a signature over the body: kept). Bodies: `key`, `key seq final|provisional`,
/// `unknown key` (authentic, nobody handles it).
struct Toy;

#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
struct Refused(&'static str);

impl Rejection for Refused {
    fn kind(&self) -> RejectionKind {
        RejectionKind::Unauthenticated
    }
}

impl Verifier for Toy {
    type Event = String;
    type Error = Refused;
    const KEPT_HEADERS: &'static [&'static str] = &["x-sig"];

    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), Refused> {
        match request.headers().get("x-token") {
            Some(v) if v == "secret" => Ok(()),
            _ => Err(Refused("token")),
        }
    }

    fn verify_delivery(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<String>, Refused> {
        let sig = request
            .headers()
            .get("x-sig")
            .ok_or(Refused("no signature"))?;
        if sig.as_bytes() != body.len().to_string().as_bytes() {
            return Err(Refused("signature"));
        }
        let text = std::str::from_utf8(body).map_err(|_| Refused("utf-8"))?;
        let words: Vec<&str> = text.split(' ').collect();
        Ok(match words[..] {
            ["unknown", key] => Verified::ignored(key, "unknown type"),
            [key, seq, stage] => {
                let stage = if stage == "final" {
                    Stage::Final
                } else {
                    Stage::Provisional
                };
                Verified::event(key, text.to_owned()).in_sequence(seq, stage)
            }
            _ => Verified::event(words[0], text.to_owned()),
        })
    }
}

fn headers(body: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-token", HeaderValue::from_static("secret"));
    h.insert(
        "x-sig",
        HeaderValue::from_str(&body.len().to_string()).unwrap(),
    );
    h
}

async fn deliver(intake: &Processor<Toy>, body: &str) -> Result<Outcome, ProcessError<Refused>> {
    let h = headers(body);
    intake
        .process(&RequestInfo::new(&h, None), body.as_bytes())
        .await
}

/// Counts handler runs per event; fails while `down`, panics on bodies containing `poison`
/// while `poisoned`.
#[derive(Default)]
struct Counter {
    runs: Mutex<Vec<String>>,
    down: AtomicBool,
    poisoned: AtomicBool,
    hang: AtomicBool,
}

#[async_trait]
impl Handler<String> for Counter {
    async fn handle(&self, event: String) -> Result<(), BoxError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err("downstream unavailable".into());
        }
        if event.contains("poison") && self.poisoned.load(Ordering::SeqCst) {
            panic!("poison");
        }
        self.runs.lock().unwrap().push(event);
        Ok(())
    }
}

impl Counter {
    fn runs(&self) -> Vec<String> {
        self.runs.lock().unwrap().clone()
    }
}

struct Setup {
    queue: Arc<MemoryQueue>,
    intake: Processor<Toy>,
    worker: Worker<Toy>,
    counter: Arc<Counter>,
}

fn setup(schedule: RetrySchedule) -> Setup {
    let queue = Arc::new(MemoryQueue::new().with_lease(Duration::from_secs(5)));
    setup_with(queue.clone(), queue, schedule)
}

fn setup_with(
    queue: Arc<MemoryQueue>,
    worker_queue: Arc<dyn Queue>,
    schedule: RetrySchedule,
) -> Setup {
    let intake = Processor::builder(Toy)
        .queue(queue.clone())
        .build()
        .unwrap();
    let counter = Arc::new(Counter::default());
    let processor = Processor::builder(Toy)
        .inbox(MemoryInbox::with_lease(Duration::from_secs(5)))
        .handler(counter.clone())
        .build()
        .unwrap();
    let worker = Worker::builder(processor, worker_queue)
        .retry(schedule)
        .concurrency(4)
        .poll_interval(Duration::from_millis(5))
        .busy_delay(Duration::ZERO)
        .grace_period(Duration::from_millis(100))
        .build()
        .unwrap();
    Setup {
        queue,
        intake,
        worker,
        counter,
    }
}

fn quick() -> RetrySchedule {
    RetrySchedule::new()
        .first_delay(Duration::ZERO)
        .jitter(false)
        .max_attempts(Some(3))
}

async fn state(queue: &MemoryQueue, key: &str) -> DeliveryInfo {
    queue.get(key).await.unwrap().unwrap()
}

async fn drain(worker: &Worker<Toy>) {
    for _ in 0..50 {
        if worker.run_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the queue did not drain");
}

#[tokio::test]
async fn intake_acknowledges_once_stored_keeps_no_second_row_and_no_secret() {
    let s = setup(quick());
    assert_eq!(
        deliver(&s.intake, "NTF-1").await.unwrap(),
        Outcome::Queued {
            key: "NTF-1".into()
        }
    );
    assert_eq!(
        deliver(&s.intake, "NTF-1").await.unwrap(),
        Outcome::Duplicate {
            key: "NTF-1".into()
        }
    );
    assert_eq!(s.queue.list(None, 10).await.unwrap().len(), 1);
    assert!(s.counter.runs().is_empty(), "intake never runs the handler");

    let row = state(&s.queue, "NTF-1").await;
    let request = row.request.unwrap();
    assert_eq!(request.body().as_ref(), b"NTF-1");
    assert_eq!(
        request.headers(),
        &[("x-sig".to_owned(), "5".to_owned())],
        "the shared secret is never stored"
    );

    // Forged: refused, nothing stored.
    let mut forged = headers("NTF-2");
    forged.insert("x-sig", HeaderValue::from_static("9"));
    let err = s
        .intake
        .process(&RequestInfo::new(&forged, None), b"NTF-2")
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Rejected(_)));
    assert!(s.queue.get("NTF-2").await.unwrap().is_none());

    // Authentic but unhandled: kept as ignored with its bytes, never taken.
    let ignored = deliver(&s.intake, "unknown NTF-3").await.unwrap();
    assert!(matches!(ignored, Outcome::Ignored { .. }), "{ignored:?}");
    let row = state(&s.queue, "NTF-3").await;
    assert_eq!(row.state, DeliveryState::Ignored);
    assert_eq!(row.request.unwrap().body().as_ref(), b"unknown NTF-3");

    drain(&s.worker).await;
    assert_eq!(s.counter.runs(), ["NTF-1"]);
    assert_eq!(state(&s.queue, "NTF-1").await.state, DeliveryState::Done);
    assert_eq!(state(&s.queue, "NTF-3").await.state, DeliveryState::Ignored);
}

/// An ignored delivery replayed while nothing handles its type yet stays ignored (with its
/// bytes and the reason), never done: done would claim a handler ran.
#[tokio::test]
async fn a_replayed_delivery_still_unhandled_stays_ignored_not_done() {
    let s = setup(quick());
    deliver(&s.intake, "unknown NTF-9").await.unwrap();
    assert!(s.queue.replay("NTF-9").await.unwrap());
    assert_eq!(state(&s.queue, "NTF-9").await.state, DeliveryState::Queued);
    drain(&s.worker).await;
    let row = state(&s.queue, "NTF-9").await;
    assert_eq!(row.state, DeliveryState::Ignored);
    assert_eq!(row.last_error.as_deref(), Some("unknown type"));
    assert_eq!(row.request.unwrap().body().as_ref(), b"unknown NTF-9");
    assert!(s.counter.runs().is_empty());
}

/// A worker needs a handler: the durable intake's processor (a queue, no handler) is
/// refused when the worker is built, with a message that says what to give it.
#[tokio::test]
async fn a_worker_refuses_a_processor_without_a_handler() {
    let queue = Arc::new(MemoryQueue::new());
    let intake = Processor::builder(Toy)
        .queue(queue.clone())
        .build()
        .unwrap();
    let err = Worker::builder(intake, queue).build().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no handler") && text.contains(".handler("),
        "{text}"
    );
}

/// A queue whose storage is down while `down` is set (every call), or whose completions
/// fail while `complete_down` is set.
struct Faulty {
    inner: Arc<MemoryQueue>,
    down: AtomicBool,
    complete_down: AtomicBool,
}

fn storage() -> InboxError {
    InboxError::Storage("storage down".into())
}

#[async_trait]
impl Queue for Faulty {
    fn lease(&self) -> Duration {
        self.inner.lease()
    }
    async fn enqueue(&self, d: NewDelivery) -> Result<Enqueued, InboxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(storage());
        }
        self.inner.enqueue(d).await
    }
    async fn take(&self, limit: usize) -> Result<Vec<Taken>, InboxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(storage());
        }
        self.inner.take(limit).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        if self.down.load(Ordering::SeqCst) || self.complete_down.load(Ordering::SeqCst) {
            return Err(storage());
        }
        self.inner.complete(key, token).await
    }
    async fn fail(&self, key: &str, token: &ClaimToken, f: Failure) -> Result<(), InboxError> {
        self.inner.fail(key, token, f).await
    }
    async fn release(
        &self,
        key: &str,
        token: &ClaimToken,
        after: Duration,
    ) -> Result<(), InboxError> {
        self.inner.release(key, token, after).await
    }
    async fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, InboxError> {
        self.inner.list(state, limit).await
    }
    async fn get(&self, key: &str) -> Result<Option<DeliveryInfo>, InboxError> {
        self.inner.get(key).await
    }
    async fn replay(&self, key: &str) -> Result<bool, InboxError> {
        self.inner.replay(key).await
    }
    async fn depth(&self) -> Result<QueueDepth, InboxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(storage());
        }
        self.inner.depth().await
    }
    async fn purge(&self, age: Duration, states: &[DeliveryState]) -> Result<u64, InboxError> {
        self.inner.purge(age, states).await
    }
}

#[tokio::test]
async fn storage_down_at_intake_acknowledges_nothing() {
    let memory = Arc::new(MemoryQueue::new());
    let faulty = Arc::new(Faulty {
        inner: memory.clone(),
        down: AtomicBool::new(true),
        complete_down: AtomicBool::new(false),
    });
    let intake = Processor::builder(Toy)
        .queue(faulty.clone())
        .build()
        .unwrap();
    let err = deliver(&intake, "NTF-1").await.unwrap_err();
    assert_eq!(
        err.status(),
        http::StatusCode::SERVICE_UNAVAILABLE,
        "{err:?}"
    );
    assert!(memory.list(None, 10).await.unwrap().is_empty());
    faulty.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        deliver(&intake, "NTF-1").await.unwrap(),
        Outcome::Queued { .. }
    ));

    let full = Processor::builder(Toy)
        .queue(MemoryQueue::new().capacity(1))
        .build()
        .unwrap();
    deliver(&full, "a").await.unwrap();
    let err = deliver(&full, "b").await.unwrap_err();
    assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(
        err,
        ProcessError::Inbox {
            source: InboxError::Full { .. },
            ..
        }
    ));
}

#[tokio::test]
async fn storage_down_at_the_worker_marks_nothing_done_that_did_not_run() {
    let memory = Arc::new(MemoryQueue::new().with_lease(Duration::from_millis(50)));
    let faulty = Arc::new(Faulty {
        inner: memory.clone(),
        down: AtomicBool::new(false),
        complete_down: AtomicBool::new(false),
    });
    let s = setup_with(memory.clone(), faulty.clone(), quick());
    deliver(&s.intake, "NTF-1").await.unwrap();

    faulty.down.store(true, Ordering::SeqCst);
    assert!(
        s.worker.run_once().await.is_err(),
        "nothing taken while the storage is down"
    );
    assert!(s.counter.runs().is_empty());
    assert_eq!(state(&memory, "NTF-1").await.state, DeliveryState::Queued);

    // The handler runs, but the row cannot be marked done: it stays running, then is taken
    // again after its lease and found a duplicate (done, not run again).
    faulty.down.store(false, Ordering::SeqCst);
    faulty.complete_down.store(true, Ordering::SeqCst);
    assert_eq!(s.worker.run_once().await.unwrap(), 1);
    assert_eq!(s.counter.runs(), ["NTF-1"]);
    assert_eq!(state(&memory, "NTF-1").await.state, DeliveryState::Running);
    faulty.complete_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(80)).await;
    drain(&s.worker).await;
    assert_eq!(state(&memory, "NTF-1").await.state, DeliveryState::Done);
    assert_eq!(s.counter.runs(), ["NTF-1"], "processed exactly once");
}

#[tokio::test]
async fn a_handler_outage_past_the_providers_schedule_loses_nothing() {
    let s = setup(
        RetrySchedule::new()
            .first_delay(Duration::ZERO)
            .jitter(false)
            .max_attempts(Some(50)),
    );
    s.counter.down.store(true, Ordering::SeqCst);
    // The provider's whole schedule: each event delivered several times, every one
    // acknowledged (queued, then duplicate) although the handler is down.
    for attempt in 0..5 {
        for i in 0..20 {
            let outcome = deliver(&s.intake, &format!("NTF-{i}")).await.unwrap();
            assert!(
                outcome.is_acknowledged() && outcome.status() == 200,
                "{attempt}: {outcome:?}"
            );
        }
        s.worker.run_once().await.unwrap();
    }
    assert!(s.counter.runs().is_empty());
    let retrying = s
        .queue
        .list(Some(DeliveryState::Retrying), 100)
        .await
        .unwrap();
    assert_eq!(
        retrying.len(),
        20,
        "every event tried, failed and kept for a retry"
    );
    assert!(
        retrying[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("downstream unavailable")
    );

    s.counter.down.store(false, Ordering::SeqCst);
    drain(&s.worker).await;
    let mut runs = s.counter.runs();
    runs.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("NTF-{i}")).collect();
    expected.sort();
    assert_eq!(
        runs, expected,
        "every acknowledged event processed exactly once"
    );
    assert_eq!(
        s.queue
            .list(Some(DeliveryState::Done), 100)
            .await
            .unwrap()
            .len(),
        20
    );
}

#[tokio::test]
async fn a_poison_event_is_dead_after_the_limit_and_replayed_once_after_the_fix() {
    let s = setup(quick());
    s.counter.poisoned.store(true, Ordering::SeqCst);
    deliver(&s.intake, "poison-1").await.unwrap();
    deliver(&s.intake, "NTF-ok").await.unwrap();
    drain(&s.worker).await;
    let dead = s.queue.list(Some(DeliveryState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, "poison-1");
    assert_eq!(dead[0].attempts, 3);
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(error.contains("handler panicked: poison"), "{error}");
    assert_eq!(s.counter.runs(), ["NTF-ok"]);

    // The fix, then the replay: runs once.
    s.counter.poisoned.store(false, Ordering::SeqCst);
    assert!(s.queue.replay("poison-1").await.unwrap());
    drain(&s.worker).await;
    assert_eq!(s.counter.runs(), ["NTF-ok", "poison-1"]);
    assert_eq!(state(&s.queue, "poison-1").await.state, DeliveryState::Done);

    // A replay of a done delivery runs it once more.
    assert!(s.queue.replay("NTF-ok").await.unwrap());
    drain(&s.worker).await;
    assert_eq!(s.counter.runs(), ["NTF-ok", "poison-1", "NTF-ok"]);
}

#[tokio::test]
async fn the_final_state_stays_sticky_in_durable_mode() {
    let s = setup(quick());
    deliver(&s.intake, "pay-1:paid pay-1 final").await.unwrap();
    drain(&s.worker).await;
    deliver(&s.intake, "pay-1:process pay-1 provisional")
        .await
        .unwrap();
    drain(&s.worker).await;
    assert_eq!(
        s.counter.runs(),
        ["pay-1:paid pay-1 final"],
        "the late provisional state is superseded"
    );
    assert_eq!(
        state(&s.queue, "pay-1:process").await.state,
        DeliveryState::Done
    );
}

#[tokio::test]
async fn shutdown_gives_running_deliveries_back_after_the_grace_period() {
    let s = setup(quick());
    s.counter.hang.store(true, Ordering::SeqCst);
    deliver(&s.intake, "NTF-1").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = s.worker.clone();
    let run = tokio::spawn(async move {
        worker
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    for _ in 0..100 {
        if state(&s.queue, "NTF-1").await.state == DeliveryState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    let row = state(&s.queue, "NTF-1").await;
    assert_eq!(row.state, DeliveryState::Queued, "given back, not counted");
    assert_eq!(row.attempts, 0);

    s.counter.hang.store(false, Ordering::SeqCst);
    drain(&s.worker).await;
    assert_eq!(s.counter.runs(), ["NTF-1"]);
}

#[tokio::test]
async fn the_worker_loop_processes_concurrently_up_to_its_limit() {
    let s = setup(quick());
    for i in 0..30 {
        deliver(&s.intake, &format!("NTF-{i}")).await.unwrap();
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = s.worker.clone();
    let run = tokio::spawn(async move {
        worker
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    for _ in 0..400 {
        if s.counter.runs().len() == 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tx.send(()).unwrap();
    run.await.unwrap();
    assert_eq!(s.counter.runs().len(), 30);
    assert_eq!(
        s.queue
            .list(Some(DeliveryState::Done), 100)
            .await
            .unwrap()
            .len(),
        30
    );
}

#[cfg(feature = "axum")]
mod http_intake {
    use super::*;
    use axum::body::Body;
    use compliance_core::webhook::Receiver;

    async fn post(
        receiver: &Arc<Receiver<Toy>>,
        body: &str,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let mut request = axum::extract::Request::new(Body::from(body.to_owned()));
        *request.method_mut() = http::Method::POST;
        *request.headers_mut() = headers;
        receiver.handle(request).await
    }

    #[tokio::test]
    async fn the_receiver_answers_by_the_intake_rows_of_the_table() {
        let memory = Arc::new(MemoryQueue::new());
        let faulty = Arc::new(Faulty {
            inner: memory.clone(),
            down: AtomicBool::new(false),
            complete_down: AtomicBool::new(false),
        });
        let intake = Processor::builder(Toy)
            .queue(faulty.clone())
            .build()
            .unwrap();
        let receiver = Arc::new(Receiver::new(intake).body_limit(64));

        assert_eq!(
            post(&receiver, "NTF-1", headers("NTF-1")).await.status(),
            200
        );
        assert_eq!(
            post(&receiver, "NTF-1", headers("NTF-1")).await.status(),
            200
        );
        let mut forged = headers("NTF-2");
        forged.insert("x-token", HeaderValue::from_static("guess"));
        assert_eq!(post(&receiver, "NTF-2", forged).await.status(), 401);
        let big = "x".repeat(100);
        assert_eq!(post(&receiver, &big, headers(&big)).await.status(), 413);
        faulty.down.store(true, Ordering::SeqCst);
        let down = post(&receiver, "NTF-3", headers("NTF-3")).await;
        assert_eq!(down.status(), 503);
        assert!(down.headers().contains_key(http::header::RETRY_AFTER));

        let keys: Vec<String> = memory
            .list(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, ["NTF-1"], "only the acknowledged delivery is stored");
    }
}
