//! `compliance.store.operation.duration`: every inbox operation of the SQLite store is timed
//! once, by backend, operation and outcome, and nothing else is recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use compliance_core::metrics::{label, name};
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
