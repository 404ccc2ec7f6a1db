//! Exactly-once processing: deduplication, concurrency, failures and redelivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aml_events::auth::{InsecureAcceptAll, SharedSecretHeader};
use aml_events::{
    AmlEvent, BoxError, Claim, ClaimToken, Error, EventBody, Handler, Inbox, InboxError,
    MemoryInbox, Outcome, ProcessError, RequestInfo, SecretString, WebhookProcessor,
    WebhookVerifier, handler_fn,
};
use async_trait::async_trait;
use http::HeaderMap;

fn delivery(id: &str) -> Vec<u8> {
    format!(
        r#"{{"notificationId":"{id}","notificationTypeCode":"AML_PAYMENT_RESULTS_PUBLISHED",
            "originalMessageDateTime":"2024-09-13T11:06:32.924Z",
            "data":{{"amlProcessId":"P-{id}","amlProcessResultCode":"APPROVED"}}}}"#
    )
    .into_bytes()
}

fn unknown_delivery(id: &str) -> Vec<u8> {
    format!(r#"{{"notificationId":"{id}","notificationTypeCode":"AML_FUTURE","data":{{"x":1}}}}"#)
        .into_bytes()
}

/// Counts successful runs per notification; fails the first `fail_first` calls.
#[derive(Default)]
struct Recorder {
    runs: Mutex<HashMap<String, usize>>,
    calls: AtomicUsize,
    fail_first: usize,
    delay: Option<Duration>,
}

#[async_trait]
impl Handler<AmlEvent> for Recorder {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if call < self.fail_first {
            return Err("screening service unavailable".into());
        }
        *self
            .runs
            .lock()
            .unwrap()
            .entry(event.notification_id().to_owned())
            .or_default() += 1;
        Ok(())
    }
}

fn processor(handler: Arc<Recorder>) -> WebhookProcessor {
    WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
        .handler(handler)
        .build()
        .unwrap()
}

#[tokio::test]
async fn duplicates_are_acknowledged_without_running_the_handler() {
    let recorder = Arc::new(Recorder::default());
    let p = processor(recorder.clone());
    let first = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-1"))
        .await
        .unwrap();
    assert_eq!(first, Outcome::Processed { key: "n-1".into() });
    for _ in 0..3 {
        let again = p
            .process_authenticated(&RequestInfo::empty(), &delivery("n-1"))
            .await
            .unwrap();
        assert_eq!(again, Outcome::Duplicate { key: "n-1".into() });
        assert!(again.is_acknowledged());
    }
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_deliveries_of_twenty_notifications_run_each_handler_once() {
    let recorder = Arc::new(Recorder {
        delay: Some(Duration::from_millis(20)),
        ..Recorder::default()
    });
    let p = processor(recorder.clone());
    let tasks: Vec<_> = (0..1_000)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move {
                p.process_authenticated(&RequestInfo::empty(), &delivery(&format!("n-{}", i % 20)))
                    .await
            })
        })
        .collect();
    let mut processed = 0;
    let mut in_progress = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Outcome::Processed { .. } => processed += 1,
            Outcome::InProgress { .. } => in_progress += 1,
            Outcome::Duplicate { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(processed, 20);
    assert!(in_progress > 0, "the deliveries did overlap");
    let runs = recorder.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 20);
    assert!(runs.values().all(|&n| n == 1), "{runs:?}");
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 20);

    // Nothing lost: Tuum's retries of the "in progress" answers are now plain duplicates.
    for i in 0..20 {
        let again = p
            .process_authenticated(&RequestInfo::empty(), &delivery(&format!("n-{i}")))
            .await
            .unwrap();
        assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    }
}

#[tokio::test]
async fn a_failing_handler_releases_the_claim_and_the_redelivery_is_processed_once() {
    let recorder = Arc::new(Recorder {
        fail_first: 1,
        ..Recorder::default()
    });
    let p = processor(recorder.clone());
    let err = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-7"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Handler { ref key, .. } if key == "n-7"));
    assert!(err.is_retryable());
    assert!(recorder.runs.lock().unwrap().is_empty());

    let redelivery = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-7"))
        .await
        .unwrap();
    assert!(matches!(redelivery, Outcome::Processed { .. }));
    let replay = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-7"))
        .await
        .unwrap();
    assert!(matches!(replay, Outcome::Duplicate { .. }));
    assert_eq!(recorder.runs.lock().unwrap()["n-7"], 1);
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_panicking_handler_is_an_error_and_releases_the_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let p = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
        .handler(handler_fn(move |_event: AmlEvent| {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if call == 0 {
                    panic!("bug in the handler");
                }
                Ok::<_, BoxError>(())
            }
        }))
        .build()
        .unwrap();
    let err = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-p"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bug in the handler"), "{err}");
    let again = p
        .process_authenticated(&RequestInfo::empty(), &delivery("n-p"))
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Processed { .. }));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_types_are_ignored_by_default_and_handled_when_asked() {
    let recorder = Arc::new(Recorder::default());
    let p = processor(recorder.clone());
    let outcome = p
        .process_authenticated(&RequestInfo::empty(), &unknown_delivery("u-1"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Ignored {
            key: "u-1".into(),
            reason: "Tuum AML event of unknown type `AML_FUTURE`".into()
        }
    );
    assert!(outcome.is_acknowledged());
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 0);

    let unknown = Arc::new(AtomicUsize::new(0));
    let seen = unknown.clone();
    let p = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll).process_unknown(true))
        .handler(handler_fn(move |event: AmlEvent| {
            let seen = seen.clone();
            async move {
                assert!(matches!(event.body(), EventBody::Unknown { type_code, .. } if type_code == "AML_FUTURE"));
                seen.fetch_add(1, Ordering::SeqCst);
                Ok::<_, BoxError>(())
            }
        }))
        .build()
        .unwrap();
    for expected in ["processed", "duplicate"] {
        let outcome = p
            .process_authenticated(&RequestInfo::empty(), &unknown_delivery("u-2"))
            .await
            .unwrap();
        assert_eq!(outcome.as_str(), expected);
    }
    assert_eq!(unknown.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn authentication_runs_before_anything_else() {
    let recorder = Arc::new(Recorder::default());
    let p = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-token", SecretString::from("right-secret")).unwrap(),
    ))
    .handler(recorder.clone())
    .build()
    .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-token", "wrong-secret".parse().unwrap());
    let err = p
        .process(&RequestInfo::new(&headers, None), b"not even json")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProcessError::Rejected(Error::Unauthenticated(_))
    ));
    assert!(!err.is_retryable());

    headers.insert("x-token", "right-secret".parse().unwrap());
    let err = p
        .process(&RequestInfo::new(&headers, None), b"not even json")
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Rejected(Error::Parse { .. })));
    let ok = p
        .process(&RequestInfo::new(&headers, None), &delivery("a-1"))
        .await
        .unwrap();
    assert!(matches!(ok, Outcome::Processed { .. }));
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_builder_requires_a_handler() {
    let err = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
        .build()
        .unwrap_err();
    assert!(matches!(Error::from(err), Error::Config(_)));
}

/// An inbox whose storage is down for `claim` or for `complete`.
struct BrokenInbox {
    inner: MemoryInbox,
    claim_fails: bool,
}

fn storage_down() -> InboxError {
    InboxError::Storage("database unreachable".into())
}

#[async_trait]
impl Inbox for BrokenInbox {
    fn lease(&self) -> std::time::Duration {
        self.inner.lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        if self.claim_fails {
            return Err(storage_down());
        }
        self.inner.claim(key).await
    }
    async fn complete(&self, _key: &str, _token: &ClaimToken) -> Result<(), InboxError> {
        Err(storage_down())
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.release(key, token).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.renew(key, token).await
    }
    async fn purge(&self, older_than: std::time::Duration) -> Result<u64, InboxError> {
        self.inner.purge(older_than).await
    }
}

#[tokio::test]
async fn inbox_failures() {
    // Claim fails: the handler does not run, and the error asks for a retry.
    let recorder = Arc::new(Recorder::default());
    let p = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
        .inbox(Arc::new(BrokenInbox {
            inner: MemoryInbox::new(),
            claim_fails: true,
        }))
        .handler(recorder.clone())
        .build()
        .unwrap();
    let err = p
        .process_authenticated(&RequestInfo::empty(), &delivery("i-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Inbox { .. }));
    assert!(err.is_retryable());
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 0);

    // Complete fails after the handler succeeded: acknowledged (the work is done), and the
    // claim still blocks an immediate redelivery from running the handler again.
    let recorder = Arc::new(Recorder::default());
    let p = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
        .inbox(Arc::new(BrokenInbox {
            inner: MemoryInbox::new(),
            claim_fails: false,
        }))
        .handler(recorder.clone())
        .build()
        .unwrap();
    assert!(matches!(
        p.process_authenticated(&RequestInfo::empty(), &delivery("i-2"))
            .await
            .unwrap(),
        Outcome::Processed { .. }
    ));
    assert!(matches!(
        p.process_authenticated(&RequestInfo::empty(), &delivery("i-2"))
            .await
            .unwrap(),
        Outcome::InProgress { .. }
    ));
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_shared_persistent_inbox_deduplicates_across_processors() {
    let inbox: Arc<dyn Inbox> = Arc::new(MemoryInbox::new());
    let recorder = Arc::new(Recorder::default());
    let build = || {
        WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
            .inbox(inbox.clone())
            .handler(recorder.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    assert!(matches!(
        a.process_authenticated(&RequestInfo::empty(), &delivery("s-1"))
            .await
            .unwrap(),
        Outcome::Processed { .. }
    ));
    assert!(matches!(
        b.process_authenticated(&RequestInfo::empty(), &delivery("s-1"))
            .await
            .unwrap(),
        Outcome::Duplicate { .. }
    ));
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
}
