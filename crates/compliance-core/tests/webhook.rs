//! The webhook processor: deduplication, failures, panics, the heartbeat, the drop guard,
//! inbox failures and sequences, with a toy verifier.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::rt::{BoxFuture, ManualClock, ManualRuntime, Runtime, TokioRuntime};
use compliance_core::webhook::{
    BoxError, Handler, Outcome, ProcessError, Processor, Rejection, RejectionKind, RequestInfo,
    Stage, Verified, Verifier,
};
use compliance_core::{Claim, ClaimToken, Inbox, InboxError, MemoryInbox};
use http::StatusCode;

/// Bodies are `key`, or `key seq final|provisional`; `forged` is unauthenticated and an
/// empty body invalid.
struct Toy;

#[derive(Debug, thiserror::Error)]
enum ToyError {
    #[error("forged")]
    Forged,
    #[error("empty body")]
    Empty,
}

impl Rejection for ToyError {
    fn kind(&self) -> RejectionKind {
        match self {
            ToyError::Forged => RejectionKind::Unauthenticated,
            ToyError::Empty => RejectionKind::Invalid,
        }
    }
}

impl Verifier for Toy {
    type Event = String;
    type Error = ToyError;

    fn verify_delivery(
        &self,
        _: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<String>, ToyError> {
        let text = std::str::from_utf8(body).map_err(|_| ToyError::Empty)?;
        let mut words = text.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some(""), ..) | (None, ..) => Err(ToyError::Empty),
            (Some("forged"), ..) => Err(ToyError::Forged),
            (Some(key), Some(seq), Some(stage)) => {
                let stage = if stage == "final" {
                    Stage::Final
                } else {
                    Stage::Provisional
                };
                Ok(Verified::event(key, text.to_owned()).in_sequence(seq, stage))
            }
            (Some(key), ..) => Ok(Verified::event(key, text.to_owned())),
        }
    }
}

/// Records runs; fails or panics on request; can be held until released.
#[derive(Default)]
struct Recorder {
    started: AtomicUsize,
    succeeded: Mutex<Vec<String>>,
    fail_next: AtomicBool,
    panic_next: AtomicBool,
    gate: Mutex<Option<tokio::sync::watch::Receiver<bool>>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

#[async_trait]
impl Handler<String> for Recorder {
    async fn handle(&self, event: String) -> Result<(), BoxError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _leave = Leave(&self.running);
        if self.panic_next.swap(false, Ordering::SeqCst) {
            panic!("bug in the handler");
        }
        let gate = self.gate.lock().unwrap().clone();
        if let Some(mut gate) = gate {
            gate.wait_for(|open| *open).await?;
        }
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err("downstream unavailable".into());
        }
        self.succeeded.lock().unwrap().push(event);
        Ok(())
    }
}

fn processor(recorder: &Arc<Recorder>, inbox: impl Inbox + 'static) -> Processor<Toy> {
    Processor::builder(Toy)
        .handler(recorder.clone())
        .inbox(inbox)
        .build()
        .unwrap()
}

async fn deliver(p: &Processor<Toy>, body: &str) -> Result<Outcome, ProcessError<ToyError>> {
    p.process(&RequestInfo::empty(), body.as_bytes()).await
}

#[tokio::test]
async fn processed_once_then_duplicates_and_the_status_table() {
    let recorder = Arc::new(Recorder::default());
    let p = processor(&recorder, MemoryInbox::new());
    let first = deliver(&p, "k1").await.unwrap();
    assert_eq!(first, Outcome::Processed { key: "k1".into() });
    assert_eq!(first.status(), StatusCode::OK);
    for _ in 0..3 {
        let again = deliver(&p, "k1").await.unwrap();
        assert_eq!(again, Outcome::Duplicate { key: "k1".into() });
        assert!(again.is_acknowledged());
    }
    assert_eq!(recorder.started.load(Ordering::SeqCst), 1);

    let forged = deliver(&p, "forged").await.unwrap_err();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(!forged.is_retryable());
    let empty = deliver(&p, "").await.unwrap_err();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.code(), "invalid_event");
}

#[tokio::test]
async fn a_failing_or_panicking_handler_is_released_and_the_redelivery_processed_once() {
    let recorder = Arc::new(Recorder::default());
    let p = processor(&recorder, MemoryInbox::new());
    recorder.fail_next.store(true, Ordering::SeqCst);
    let err = deliver(&p, "k").await.unwrap_err();
    assert!(matches!(&err, ProcessError::Handler { key, .. } if key == "k"));
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    recorder.panic_next.store(true, Ordering::SeqCst);
    let err = deliver(&p, "k").await.unwrap_err();
    assert!(err.to_string().contains("bug in the handler"), "{err}");
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        deliver(&p, "k").await.unwrap(),
        Outcome::Processed { key: "k".into() }
    );
    assert_eq!(
        deliver(&p, "k").await.unwrap(),
        Outcome::Duplicate { key: "k".into() }
    );
    assert_eq!(recorder.started.load(Ordering::SeqCst), 3);
    assert_eq!(recorder.succeeded.lock().unwrap().len(), 1);
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    // A guard against a hang (a minute), not a timing assertion.
    for _ in 0..60_000 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("gave up waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_a_handler_three_times_longer_than_the_lease_alone() {
    let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
    let runtime = ManualRuntime::new(clock.clone());
    let inbox = Arc::new(Faulty {
        inner: Arc::new(MemoryInbox::with_lease(Duration::from_secs(30)).clock(clock.clone())),
        ..Faulty::default()
    });
    let recorder = Arc::new(Recorder::default());
    let (open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let p = Processor::builder(Toy)
        .handler(recorder.clone())
        .inbox(inbox.clone())
        .runtime(Arc::new(runtime.clone()))
        .build()
        .unwrap();
    let first = tokio::spawn({
        let p = p.clone();
        async move { deliver(&p, "slow").await }
    });
    wait_for("the handler to start", || {
        recorder.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // 90 s of manual time in 10 s steps: three leases. Each step wakes the heartbeat
    // (every 10 s), which renews before the next step.
    for beat in 1..=9 {
        wait_for("the heartbeat to sleep", || runtime.sleeping() >= 1).await;
        runtime.advance(Duration::from_secs(10));
        wait_for("a renewal", || {
            inbox.renewals.load(Ordering::SeqCst) >= beat
        })
        .await;
        let concurrent = deliver(&p, "slow").await.unwrap();
        assert_eq!(
            concurrent,
            Outcome::InProgress { key: "slow".into() },
            "beat {beat}"
        );
        assert_eq!(concurrent.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    open.send(true).unwrap();
    assert_eq!(
        first.await.unwrap().unwrap(),
        Outcome::Processed { key: "slow".into() }
    );
    assert_eq!(recorder.started.load(Ordering::SeqCst), 1);
    assert_eq!(recorder.max_running.load(Ordering::SeqCst), 1);
    assert_eq!(
        deliver(&p, "slow").await.unwrap(),
        Outcome::Duplicate { key: "slow".into() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_heartbeat_the_lease_runs_out_and_a_lost_claim_stops_the_handler() {
    // The renewals are refused as if another delivery had taken the key over.
    struct Stolen(MemoryInbox);
    #[async_trait]
    impl Inbox for Stolen {
        fn lease(&self) -> Duration {
            self.0.lease()
        }
        async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
            self.0.claim(key).await
        }
        async fn renew(&self, key: &str, _: &ClaimToken) -> Result<(), InboxError> {
            Err(InboxError::NotHeld { key: key.into() })
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
    let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
    let runtime = ManualRuntime::new(clock.clone());
    let recorder = Arc::new(Recorder::default());
    let (_open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let p = Processor::builder(Toy)
        .handler(recorder.clone())
        .inbox(Stolen(
            MemoryInbox::with_lease(Duration::from_secs(30)).clock(clock.clone()),
        ))
        .runtime(Arc::new(runtime.clone()))
        .build()
        .unwrap();
    let first = tokio::spawn({
        let p = p.clone();
        async move { deliver(&p, "k").await }
    });
    wait_for("the heartbeat to sleep", || runtime.sleeping() >= 1).await;
    runtime.advance(Duration::from_secs(10));
    let err = first.await.unwrap().unwrap_err();
    assert!(matches!(err, ProcessError::LeaseLost { .. }), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        recorder.running.load(Ordering::SeqCst),
        0,
        "the handler was stopped"
    );
    assert!(recorder.succeeded.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_handler_future_releases_its_claim() {
    let recorder = Arc::new(Recorder::default());
    let (open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let inbox = Arc::new(MemoryInbox::new());
    let p = processor(&recorder, inbox.clone());
    let task = tokio::spawn({
        let p = p.clone();
        async move { deliver(&p, "k").await }
    });
    wait_for("the handler to start", || {
        recorder.started.load(Ordering::SeqCst) == 1
    })
    .await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    open.send(true).unwrap();
    // The release runs in the background; the next delivery gets the key once it has.
    let mut outcome = deliver(&p, "k").await.unwrap();
    for _ in 0..10_000 {
        if outcome != (Outcome::InProgress { key: "k".into() }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        outcome = deliver(&p, "k").await.unwrap();
    }
    assert_eq!(outcome, Outcome::Processed { key: "k".into() });
    assert_eq!(recorder.started.load(Ordering::SeqCst), 2);
    assert_eq!(recorder.succeeded.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_spawner_the_next_delivery_releases_a_dropped_claim_first() {
    #[derive(Debug)]
    struct NoSpawn;
    impl Runtime for NoSpawn {
        fn sleep(&self, duration: Duration) -> BoxFuture<()> {
            TokioRuntime.sleep(duration)
        }
        fn spawn(&self, _: BoxFuture<()>) -> bool {
            false
        }
    }
    let recorder = Arc::new(Recorder::default());
    let (open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let p = Processor::builder(Toy)
        .handler(recorder.clone())
        .runtime(Arc::new(NoSpawn))
        .build()
        .unwrap();
    {
        let pending = deliver(&p, "k");
        let mut pending = std::pin::pin!(pending);
        // Poll until the handler runs, then drop the future.
        std::future::poll_fn(|cx| {
            let _ = pending.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(recorder.started.load(Ordering::SeqCst), 1);
    }
    open.send(true).unwrap();
    assert_eq!(
        deliver(&p, "k").await.unwrap(),
        Outcome::Processed { key: "k".into() }
    );
}

#[tokio::test]
async fn an_inbox_failure_is_503_and_nothing_is_lost() {
    let recorder = Arc::new(Recorder::default());
    let inbox = Arc::new(Faulty::default());
    let p = processor(&recorder, inbox.clone());
    inbox.claims_fail.store(true, Ordering::SeqCst);
    let err = deliver(&p, "k").await.unwrap_err();
    assert!(matches!(err, ProcessError::Inbox { .. }), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(err.is_retryable());
    assert_eq!(recorder.started.load(Ordering::SeqCst), 0);
    inbox.claims_fail.store(false, Ordering::SeqCst);
    assert_eq!(
        deliver(&p, "k").await.unwrap(),
        Outcome::Processed { key: "k".into() }
    );

    // A full inbox is the same: 503, nothing processed, processed once there is room.
    let p = processor(&recorder, MemoryInbox::new().capacity(1));
    assert!(matches!(
        deliver(&p, "a").await.unwrap(),
        Outcome::Processed { .. }
    ));
    let err = deliver(&p, "b").await.unwrap_err();
    assert!(matches!(
        err,
        ProcessError::Inbox {
            source: InboxError::Full { .. },
            ..
        }
    ));
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn an_intermediate_state_never_overwrites_the_final_one() {
    let recorder = Arc::new(Recorder::default());
    let inbox = Arc::new(MemoryInbox::new());
    let p = processor(&recorder, inbox.clone());
    let ok = |key: &str| Outcome::Processed { key: key.into() };
    assert_eq!(
        deliver(&p, "p1-check pay-1 provisional").await.unwrap(),
        ok("p1-check")
    );
    assert_eq!(
        deliver(&p, "p1-paid pay-1 final").await.unwrap(),
        ok("p1-paid")
    );
    // A `process` that arrives only now (its first delivery failed) is superseded.
    assert_eq!(
        deliver(&p, "p1-process pay-1 provisional").await.unwrap(),
        Outcome::Superseded {
            key: "p1-process".into()
        }
    );
    // And stays so: its redeliveries are duplicates.
    assert_eq!(
        deliver(&p, "p1-process pay-1 provisional").await.unwrap(),
        Outcome::Duplicate {
            key: "p1-process".into()
        }
    );
    // A replayed earlier state is a duplicate; another final state is processed.
    assert_eq!(
        deliver(&p, "p1-check pay-1 provisional").await.unwrap(),
        Outcome::Duplicate {
            key: "p1-check".into()
        }
    );
    assert_eq!(
        deliver(&p, "p1-refund pay-1 final").await.unwrap(),
        ok("p1-refund")
    );
    // Other sequences are independent.
    assert_eq!(
        deliver(&p, "p2-process pay-2 provisional").await.unwrap(),
        ok("p2-process")
    );
    let handled = recorder.succeeded.lock().unwrap().clone();
    assert_eq!(
        handled,
        [
            "p1-check pay-1 provisional",
            "p1-paid pay-1 final",
            "p1-refund pay-1 final",
            "p2-process pay-2 provisional"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequence_is_processed_one_event_at_a_time() {
    let recorder = Arc::new(Recorder::default());
    let (open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let p = processor(&recorder, MemoryInbox::new());
    let provisional = tokio::spawn({
        let p = p.clone();
        async move { deliver(&p, "check pay final-later provisional").await }
    });
    wait_for("the handler to start", || {
        recorder.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The final state waits (503) while an earlier state of its payment is processed.
    let busy = deliver(&p, "paid pay final").await.unwrap();
    assert_eq!(busy, Outcome::InProgress { key: "paid".into() });
    open.send(true).unwrap();
    assert!(matches!(
        provisional.await.unwrap().unwrap(),
        Outcome::Processed { .. }
    ));
    assert!(matches!(
        deliver(&p, "paid pay final").await.unwrap(),
        Outcome::Processed { .. }
    ));
}

/// Delegates to a [`MemoryInbox`], counting renewals, with faults on request: claims fail
/// while `claims_fail` is set, the first completion hangs for `slow_first_complete`, completions of keys ending in `#final` fail while
/// `final_fails` is set, renewals fail while `renew_fails` is set and never answer while
/// `renew_hangs` is.
#[derive(Default)]
struct Faulty {
    inner: Arc<MemoryInbox>,
    slow_first_complete: Option<Duration>,
    claims_fail: AtomicBool,
    renewals: AtomicUsize,
    completes: AtomicUsize,
    final_fails: AtomicBool,
    renew_fails: AtomicBool,
    renew_hangs: AtomicBool,
}

#[async_trait]
impl Inbox for Faulty {
    fn lease(&self) -> Duration {
        self.inner.lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        if self.claims_fail.load(Ordering::SeqCst) {
            return Err(InboxError::Storage("database unreachable".into()));
        }
        self.inner.claim(key).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        if self.renew_fails.load(Ordering::SeqCst) {
            return Err(InboxError::Storage("connection pool exhausted".into()));
        }
        if self.renew_hangs.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let first = self.completes.fetch_add(1, Ordering::SeqCst) == 0;
        if let (true, Some(delay)) = (first, self.slow_first_complete) {
            tokio::time::sleep(delay).await;
        }
        if key.ends_with("#final") && self.final_fails.load(Ordering::SeqCst) {
            return Err(InboxError::Storage("disk full".into()));
        }
        self.inner.complete(key, token).await
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.release(key, token).await
    }
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        self.inner.purge(older_than).await
    }
}

/// Delivers `body` until the answer is no longer "in progress" (a background settlement
/// may still be under way), with a bound against a hang.
async fn deliver_settled(
    p: &Processor<Toy>,
    body: &str,
) -> Result<Outcome, ProcessError<ToyError>> {
    for _ in 0..10_000 {
        match deliver(p, body).await {
            Ok(Outcome::InProgress { .. }) => tokio::time::sleep(Duration::from_millis(1)).await,
            other => return other,
        }
    }
    panic!("`{body}` stayed in progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_dropped_while_completing_is_completed_never_released() {
    #[derive(Debug)]
    struct NoSpawn;
    impl Runtime for NoSpawn {
        fn sleep(&self, duration: Duration) -> BoxFuture<()> {
            TokioRuntime.sleep(duration)
        }
        fn spawn(&self, _: BoxFuture<()>) -> bool {
            false
        }
    }
    // With a spawner the drop guard completes in the background; without one, the next
    // delivery completes the orphan first.
    for runtime in [
        Arc::new(TokioRuntime) as Arc<dyn Runtime>,
        Arc::new(NoSpawn),
    ] {
        let recorder = Arc::new(Recorder::default());
        let inbox = Arc::new(Faulty {
            slow_first_complete: Some(Duration::from_secs(5)),
            ..Faulty::default()
        });
        let p = Processor::builder(Toy)
            .handler(recorder.clone())
            .inbox(inbox.clone())
            .runtime(runtime.clone())
            .build()
            .unwrap();
        // The caller gives up while the first completion hangs: a timeout, a client gone.
        let gave_up = tokio::time::timeout(Duration::from_millis(200), deliver(&p, "k")).await;
        assert!(
            gave_up.is_err(),
            "{runtime:?}: the completion should still hang"
        );
        assert_eq!(recorder.succeeded.lock().unwrap().len(), 1);

        let again = deliver_settled(&p, "k").await.unwrap();
        assert_eq!(again, Outcome::Duplicate { key: "k".into() }, "{runtime:?}");
        assert_eq!(
            recorder.started.load(Ordering::SeqCst),
            1,
            "{runtime:?}: the handler ran twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_renewals_stop_the_handler_before_another_instance_can_take_the_key() {
    // Two instances share one inbox (300 ms leases, manual time). Instance A's renewals all
    // fail (its pool is exhausted); instance B works.
    let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
    let runtime = ManualRuntime::new(clock.clone());
    let shared = Arc::new(MemoryInbox::with_lease(Duration::from_millis(300)).clock(clock.clone()));
    let a_inbox = Arc::new(Faulty {
        inner: shared.clone(),
        ..Faulty::default()
    });
    a_inbox.renew_fails.store(true, Ordering::SeqCst);
    let recorder = Arc::new(Recorder::default());
    let (open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let build = |inbox: Arc<dyn Inbox>| {
        Processor::builder(Toy)
            .handler(recorder.clone())
            .inbox(inbox)
            .runtime(Arc::new(runtime.clone()))
            .build()
            .unwrap()
    };
    let a = build(a_inbox.clone());
    let b = build(shared.clone());
    let first = tokio::spawn({
        let a = a.clone();
        async move { deliver(&a, "k").await }
    });
    wait_for("A's handler to start", || {
        recorder.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // 700 ms of manual time in 50 ms steps; A's handler never finishes by itself.
    for _ in 0..14 {
        if first.is_finished() {
            break;
        }
        wait_for("A's heartbeat to sleep", || runtime.sleeping() >= 1).await;
        runtime.advance(Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    wait_for("A to stop trusting its claim", || first.is_finished()).await;
    let err = first.await.unwrap().unwrap_err();
    assert!(matches!(err, ProcessError::LeaseLost { .. }), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        recorder.running.load(Ordering::SeqCst),
        0,
        "A's handler still runs"
    );

    // B now takes the delivery and processes it, never beside A.
    open.send(true).unwrap();
    assert_eq!(
        deliver(&b, "k").await.unwrap(),
        Outcome::Processed { key: "k".into() }
    );
    assert_eq!(recorder.max_running.load(Ordering::SeqCst), 1);
    assert_eq!(recorder.succeeded.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_that_hangs_stops_the_handler_too() {
    let recorder = Arc::new(Recorder::default());
    let (_open, gate) = tokio::sync::watch::channel(false);
    *recorder.gate.lock().unwrap() = Some(gate);
    let inbox = Faulty {
        inner: Arc::new(MemoryInbox::with_lease(Duration::from_millis(300))),
        ..Faulty::default()
    };
    inbox.renew_hangs.store(true, Ordering::SeqCst);
    let p = processor(&recorder, inbox);
    // Real time: the handler would wait forever; the local deadline (270 ms) stops it.
    let err = tokio::time::timeout(Duration::from_secs(30), deliver(&p, "k"))
        .await
        .expect("a hanging renewal must not keep the handler running")
        .unwrap_err();
    assert!(matches!(err, ProcessError::LeaseLost { .. }), "{err}");
    assert_eq!(recorder.running.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_final_state_that_cannot_be_recorded_is_recorded_by_its_redelivery() {
    let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
    let lease = Duration::from_secs(30);
    let inbox = Arc::new(Faulty {
        inner: Arc::new(MemoryInbox::with_lease(lease).clock(clock.clone())),
        ..Faulty::default()
    });
    let recorder = Arc::new(Recorder::default());
    let p = processor(&recorder, inbox.clone());
    inbox.final_fails.store(true, Ordering::SeqCst);
    let err = deliver(&p, "paid pay-1 final").await.unwrap_err();
    assert!(
        matches!(&err, ProcessError::FinalStateUnrecorded { key, .. } if key == "paid"),
        "{err}"
    );
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(err.is_retryable());
    assert_eq!(recorder.succeeded.lock().unwrap().len(), 1);

    // A late intermediate state waits instead of overwriting the final one.
    assert_eq!(
        deliver(&p, "process pay-1 provisional").await.unwrap(),
        Outcome::InProgress {
            key: "process".into()
        }
    );
    // The storage is back; the redelivery of the final state does not run the handler
    // again. While the failed marker claim's lease lasts it asks again; then it records it.
    inbox.final_fails.store(false, Ordering::SeqCst);
    assert_eq!(
        deliver(&p, "paid pay-1 final").await.unwrap(),
        Outcome::InProgress { key: "paid".into() }
    );
    clock.advance(compliance_core::time::SignedDuration::try_from(lease).unwrap());
    assert_eq!(
        deliver(&p, "paid pay-1 final").await.unwrap(),
        Outcome::Duplicate { key: "paid".into() }
    );
    assert_eq!(
        deliver(&p, "process pay-1 provisional").await.unwrap(),
        Outcome::Superseded {
            key: "process".into()
        }
    );
    assert_eq!(recorder.started.load(Ordering::SeqCst), 1);
}
