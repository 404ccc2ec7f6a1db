//! `compliance.store.operation.duration`: every inbox and queue operation of the SQLite store
//! is timed once, by backend, operation and outcome; `compliance.queue.replayed` counts the
//! replays that put a delivery back; nothing else is recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use compliance_core::metrics::{label, name};
use compliance_core::webhook::{Failure, NewDelivery, Queue, StoredRequest};
use compliance_core::{Claim, Inbox};
use compliance_store::SqliteStore;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[test]
fn each_inbox_operation_is_timed_once_by_backend_and_operation() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = SqliteStore::open_in_memory().await.unwrap();
            let inbox = store.inbox("hooks");
            let Claim::Acquired(token) = inbox.claim("k1").await.unwrap() else {
                panic!("a new key is claimed");
            };
            inbox.renew("k1", &token).await.unwrap();
            inbox.complete("k1", &token).await.unwrap();
            assert!(matches!(
                inbox.claim("k1").await.unwrap(),
                Claim::AlreadyDone
            ));
            // Not held any more: an error, timed as one.
            inbox.release("k1", &token).await.unwrap_err();
            inbox.purge(Duration::from_secs(3600)).await.unwrap();
        })
    });
    let mut seen = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        assert_eq!(key.name(), name::STORE_OPERATION_DURATION);
        let labels: BTreeMap<_, _> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        assert_eq!(labels[label::BACKEND], "sqlite");
        let DebugValue::Histogram(values) = value else {
            panic!("a histogram");
        };
        seen.insert(
            (
                labels[label::OPERATION].clone(),
                labels[label::OUTCOME].clone(),
            ),
            values.len(),
        );
    }
    let expected: BTreeMap<_, _> = [
        (("claim", "ok"), 2),
        (("renew", "ok"), 1),
        (("complete", "ok"), 1),
        (("release", "error"), 1),
        (("purge", "ok"), 1),
    ]
    .into_iter()
    .map(|((op, outcome), n)| ((op.to_owned(), outcome.to_owned()), n))
    .collect();
    assert_eq!(seen, expected);
}

/// What a test recorded: each histogram's (operation, outcome) → observations, and the
/// replay counter.
fn recorded(
    snapshotter: &metrics_util::debugging::Snapshotter,
) -> (BTreeMap<(String, String), usize>, u64) {
    let mut timed = BTreeMap::new();
    let mut replayed = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let labels: BTreeMap<_, _> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        assert_eq!(labels[label::BACKEND], "sqlite");
        match value {
            DebugValue::Histogram(values) => {
                assert_eq!(key.name(), name::STORE_OPERATION_DURATION);
                timed.insert(
                    (
                        labels[label::OPERATION].clone(),
                        labels[label::OUTCOME].clone(),
                    ),
                    values.len(),
                );
            }
            DebugValue::Counter(n) => {
                assert_eq!(key.name(), name::QUEUE_REPLAYED);
                replayed += n;
            }
            other => panic!("{}: {other:?}", key.name()),
        }
    }
    (timed, replayed)
}

#[test]
fn each_queue_operation_is_timed_once_and_each_replay_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = SqliteStore::open_in_memory().await.unwrap();
            let queue = store.queue("tuum");
            let delivery = |key: &str| NewDelivery::new(key, StoredRequest::new(vec![], "{}"));
            queue.enqueue(delivery("a")).await.unwrap();
            queue.enqueue(delivery("b")).await.unwrap();
            let taken = queue.take(2).await.unwrap();
            queue.renew("a", &taken[0].token).await.unwrap();
            queue.complete("a", &taken[0].token).await.unwrap();
            let dead = Failure::Dead { error: "x".into() };
            queue.fail("b", &taken[1].token, dead).await.unwrap();
            // Not held any more: an error, timed as one.
            queue
                .release("b", &taken[1].token, Duration::ZERO)
                .await
                .unwrap_err();
            queue.list(None, 10).await.unwrap();
            queue.get("a").await.unwrap();
            assert!(queue.replay("b").await.unwrap());
            assert!(!queue.replay("absent").await.unwrap());
            queue.depth().await.unwrap();
            queue.purge(Duration::from_secs(3600), &[]).await.unwrap();
        })
    });
    let (timed, replayed) = recorded(&snapshotter);
    let expected: BTreeMap<_, _> = [
        (("enqueue", "ok"), 2),
        (("take", "ok"), 1),
        (("renew", "ok"), 1),
        (("complete", "ok"), 1),
        (("fail", "ok"), 1),
        (("release", "error"), 1),
        (("list", "ok"), 1),
        (("get", "ok"), 1),
        (("replay", "ok"), 2),
        (("depth", "ok"), 1),
        (("purge", "ok"), 1),
    ]
    .into_iter()
    .map(|((op, outcome), n)| ((op.to_owned(), outcome.to_owned()), n))
    .collect();
    assert_eq!(timed, expected);
    assert_eq!(replayed, 1, "only the replay that put a delivery back");
}
