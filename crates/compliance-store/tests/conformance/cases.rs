//! The cases: the contract in `compliance_core::inbox` and the compare-and-swap of
//! `compliance_core::store`, each written once and run against every backend.
//!
//! Leases here are real time (the SQL stores use their database's clock, which a test cannot
//! pause): a case sleeps well past a short lease to let it run out, and where a lease must
//! still hold, it is seconds long against a next statement that follows at once.

use std::sync::Arc;
use std::time::Duration;

use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, Claim, ClaimToken, Expected, Inbox, InboxError,
    StoreError, Timestamp,
};
use tokio::sync::Barrier;

use super::backends::Backend;

const LONG: Duration = Duration::from_secs(300);
/// A lease short enough to run out during [`PAST_SHORT`].
const SHORT: Duration = Duration::from_millis(50);
const PAST_SHORT: Duration = Duration::from_millis(250);

async fn acquire(inbox: &dyn Inbox, key: &str) -> ClaimToken {
    match inbox.claim(key).await.unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("claim of {key}: expected Acquired, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_held(result: Result<(), InboxError>, what: &str) {
    assert!(
        matches!(result, Err(InboxError::NotHeld { .. })),
        "{what}: expected NotHeld, got {result:?}"
    );
}

/// Runs `n` claims of each key at once (a barrier lines them up) and returns the answers.
async fn claim_all_at_once(
    inbox: Arc<dyn Inbox>,
    keys: &[String],
    n: usize,
) -> Vec<(String, Claim)> {
    let barrier = Arc::new(Barrier::new(keys.len() * n));
    let mut tasks = Vec::new();
    for key in keys {
        for _ in 0..n {
            let (inbox, barrier, key) = (inbox.clone(), barrier.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let claim = inbox.claim(&key).await.unwrap();
                (key, claim)
            }));
        }
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

pub async fn concurrent_claims_of_one_key_acquire_once<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    let keys: Vec<String> = (0..8).map(|i| format!("NTF-{i}")).collect();
    let answers = claim_all_at_once(inbox.clone(), &keys, 8).await;
    for key in &keys {
        let acquired: Vec<&ClaimToken> = answers
            .iter()
            .filter(|(k, _)| k == key)
            .filter_map(|(_, c)| match c {
                Claim::Acquired(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(acquired.len(), 1, "{key}: {answers:?}");
        let others = answers
            .iter()
            .filter(|(k, c)| k == key && *c == Claim::InProgress)
            .count();
        assert_eq!(others, 7, "{key}: {answers:?}");
        inbox.complete(key, acquired[0]).await.unwrap();
    }
    let again = claim_all_at_once(inbox, &keys, 8).await;
    assert!(
        again.iter().all(|(_, c)| *c == Claim::AlreadyDone),
        "{again:?}"
    );
}

pub async fn an_expired_lease_is_taken_over<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", SHORT).await;
    let first = acquire(&*inbox, "k").await;
    tokio::time::sleep(PAST_SHORT).await;
    let second = acquire(&*inbox, "k").await;
    assert_ne!(first, second);
    // The first holder was taken over: it can no longer renew, complete or release.
    assert_not_held(inbox.renew("k", &first).await, "renew with the stale token");
    assert_not_held(
        inbox.complete("k", &first).await,
        "complete with the stale token",
    );
    assert_not_held(
        inbox.release("k", &first).await,
        "release with the stale token",
    );
    inbox.complete("k", &second).await.unwrap();
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
}

pub async fn stale_and_foreign_tokens_are_refused<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    let other = backend.inbox("heleket", LONG).await;

    let released = acquire(&*inbox, "k").await;
    inbox.release("k", &released).await.unwrap();
    assert_not_held(inbox.release("k", &released).await, "second release");
    let held = acquire(&*inbox, "k").await;
    for (name, result) in [
        ("renew", inbox.renew("k", &released).await),
        ("complete", inbox.complete("k", &released).await),
        ("release", inbox.release("k", &released).await),
    ] {
        assert_not_held(result, &format!("{name} with a released token"));
    }
    let made_up = ClaimToken::new("not-a-token");
    assert_not_held(inbox.complete("k", &made_up).await, "made-up token");
    assert_not_held(
        inbox.renew("unknown", &held).await,
        "renew of an unknown key",
    );
    assert_not_held(
        inbox.complete("unknown", &held).await,
        "complete of an unknown key",
    );
    assert_not_held(
        inbox.release("unknown", &held).await,
        "release of an unknown key",
    );
    // A token of another inbox holds nothing here, even for the same key.
    let foreign = acquire(&*other, "k").await;
    assert_not_held(inbox.complete("k", &foreign).await, "another inbox's token");
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);

    inbox.renew("k", &held).await.unwrap();
    inbox.complete("k", &held).await.unwrap();
    // A retried completion (its first answer lost) is still a success...
    inbox.complete("k", &held).await.unwrap();
    // ...but a done key can be neither renewed nor released.
    assert_not_held(inbox.renew("k", &held).await, "renew of a done key");
    assert_not_held(inbox.release("k", &held).await, "release of a done key");
    assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
    assert_eq!(other.claim("k").await.unwrap(), Claim::InProgress);
}

pub async fn an_expired_token_still_settles_while_nobody_else_claimed<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", SHORT).await;
    let slow = acquire(&*inbox, "slow").await;
    let failed = acquire(&*inbox, "failed").await;
    tokio::time::sleep(PAST_SHORT).await;
    // Both leases ran out, but no redelivery claimed the keys: the tokens still hold them.
    inbox.renew("slow", &slow).await.unwrap();
    inbox.complete("slow", &slow).await.unwrap();
    inbox.complete("slow", &slow).await.unwrap();
    assert_eq!(inbox.claim("slow").await.unwrap(), Claim::AlreadyDone);
    inbox.release("failed", &failed).await.unwrap();
    let again = acquire(&*inbox, "failed").await;
    assert_ne!(again, failed);
}

pub async fn renewal_holds_the_key_past_its_first_lease<B: Backend>(backend: B) {
    let lease = Duration::from_secs(2);
    let inbox = backend.inbox("tuum", lease).await;
    let renewed = acquire(&*inbox, "renewed").await;
    let _abandoned = acquire(&*inbox, "abandoned").await;
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    // Both leases ran out; only one is renewed, for another two seconds from now.
    inbox.renew("renewed", &renewed).await.unwrap();
    assert_eq!(inbox.claim("renewed").await.unwrap(), Claim::InProgress);
    assert!(matches!(
        inbox.claim("abandoned").await.unwrap(),
        Claim::Acquired(_)
    ));
    inbox.complete("renewed", &renewed).await.unwrap();
}

pub async fn purge_forgets_old_completed_keys_and_keeps_live_claims<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    let other = backend.inbox("heleket", LONG).await;
    let old = acquire(&*inbox, "old").await;
    inbox.complete("old", &old).await.unwrap();
    let other_old = acquire(&*other, "old").await;
    other.complete("old", &other_old).await.unwrap();
    let _held = acquire(&*inbox, "held").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let new = acquire(&*inbox, "new").await;
    inbox.complete("new", &new).await.unwrap();

    // Only "old" in this inbox was completed more than two seconds ago.
    assert_eq!(inbox.purge(Duration::from_secs(2)).await.unwrap(), 1);
    assert!(matches!(
        inbox.claim("old").await.unwrap(),
        Claim::Acquired(_)
    ));
    assert_eq!(inbox.claim("new").await.unwrap(), Claim::AlreadyDone);
    assert_eq!(inbox.claim("held").await.unwrap(), Claim::InProgress);
    assert_eq!(other.claim("old").await.unwrap(), Claim::AlreadyDone);

    assert_eq!(inbox.purge(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // "new" is the only done key left here ("old" is claimed again, "held" never finished).
    assert_eq!(inbox.purge(Duration::ZERO).await.unwrap(), 1);
    assert!(matches!(
        inbox.claim("new").await.unwrap(),
        Claim::Acquired(_)
    ));
    assert_eq!(other.claim("old").await.unwrap(), Claim::AlreadyDone);
}

/// The contract's last row, second half: a claim whose lease ran out more than `age` ago
/// (its holder died and the delivery never came again) is forgotten too; a claim that ran
/// out less than `age` ago, or was renewed, is kept and its token still holds it.
pub async fn purge_forgets_claims_abandoned_longer_than_its_age<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", SHORT).await;
    let other = backend.inbox("heleket", SHORT).await;
    let abandoned = acquire(&*inbox, "abandoned").await;
    let renewed = acquire(&*inbox, "renewed").await;
    let other_abandoned = acquire(&*other, "abandoned").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Every lease ran out about 2.45 s ago; one holder is alive after all and renews, and a
    // new claim is taken whose lease will run out in a moment.
    inbox.renew("renewed", &renewed).await.unwrap();
    let lapsed = acquire(&*inbox, "lapsed").await;

    // Only "abandoned" in this inbox ran out more than two seconds ago.
    assert_eq!(inbox.purge(Duration::from_secs(2)).await.unwrap(), 1);
    // Gone: its holder, should it wake up, holds nothing, and the next delivery claims it.
    assert_not_held(
        inbox.complete("abandoned", &abandoned).await,
        "complete of a purged claim",
    );
    let again = acquire(&*inbox, "abandoned").await;
    assert_ne!(again, abandoned);
    // Kept: their tokens still settle them.
    inbox.complete("renewed", &renewed).await.unwrap();
    inbox.release("lapsed", &lapsed).await.unwrap();
    other.complete("abandoned", &other_abandoned).await.unwrap();

    tokio::time::sleep(PAST_SHORT).await;
    // Both kinds count: the claim taken again above (its short lease has run out) and the
    // completed "renewed". "lapsed" was released; the other inbox is untouched.
    assert_eq!(inbox.purge(Duration::ZERO).await.unwrap(), 2);
    assert_not_held(
        inbox.release("abandoned", &again).await,
        "release after purge",
    );
    assert!(matches!(
        inbox.claim("renewed").await.unwrap(),
        Claim::Acquired(_)
    ));
    assert_eq!(other.claim("abandoned").await.unwrap(), Claim::AlreadyDone);
}

pub async fn inboxes_with_different_names_are_independent<B: Backend>(backend: B) {
    let tuum = backend.inbox("tuum", LONG).await;
    let heleket = backend.inbox("heleket", LONG).await;
    let t = acquire(&*tuum, "42").await;
    let h = acquire(&*heleket, "42").await;
    tuum.complete("42", &t).await.unwrap();
    assert_eq!(tuum.claim("42").await.unwrap(), Claim::AlreadyDone);
    assert_eq!(heleket.claim("42").await.unwrap(), Claim::InProgress);
    heleket.release("42", &h).await.unwrap();
    assert!(matches!(
        heleket.claim("42").await.unwrap(),
        Claim::Acquired(_)
    ));
}

pub async fn restart_keeps_completed_keys_done<B: Backend>(mut backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    let done = acquire(&*inbox, "done").await;
    inbox.complete("done", &done).await.unwrap();
    let held = acquire(&*inbox, "held").await;
    let stored = backend
        .applicants()
        .await
        .put(record("a-1", "INIT"), Expected::Absent)
        .await
        .unwrap();
    drop(inbox);

    backend.reopen().await;

    let inbox = backend.inbox("tuum", LONG).await;
    assert_eq!(inbox.claim("done").await.unwrap(), Claim::AlreadyDone);
    assert_eq!(inbox.claim("held").await.unwrap(), Claim::InProgress);
    // The claim survives the restart with its token: its holder can still complete it.
    inbox.complete("held", &held).await.unwrap();
    assert_eq!(inbox.claim("held").await.unwrap(), Claim::AlreadyDone);
    let applicants = backend.applicants().await;
    assert_eq!(applicants.get(&stored.key).await.unwrap(), Some(stored));
}

fn record(id: &str, status: &str) -> ApplicantRecord {
    ApplicantRecord::new(
        ApplicantKey::new("elkyc", id),
        status,
        AmlStatus::Pending,
        "2024-12-16T11:18:19.955123456Z".parse().unwrap(),
    )
    .with_external_user_id(format!("user-{id}"))
}

pub async fn applicant_records_round_trip_exactly<B: Backend>(backend: B) {
    let store = backend.applicants().await;
    let provider_time: Timestamp = "2022-07-08T09:04:37.108561789+02:00".parse().unwrap();
    let first = store
        .put(
            record("a-1", "INIT").with_provider_updated_at(Some(provider_time)),
            Expected::Absent,
        )
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(store.get(&first.key).await.unwrap().as_ref(), Some(&first));
    assert!(matches!(
        store.put(record("a-1", "INIT"), Expected::Absent).await,
        Err(StoreError::Conflict {
            expected: Expected::Absent,
            found: Some(1),
            ..
        })
    ));

    // An update keeps the stored creation time whatever the record says, and bumps the
    // version.
    let mut update = first.clone();
    update.provider_status = "APPROVED".into();
    update.aml_status = AmlStatus::Unknown {
        raw: "APPROVED_WITH_NOTES".into(),
    };
    update.created_at = Timestamp::UNIX_EPOCH;
    update.updated_at = "2025-01-01T00:00:00.000000001Z".parse().unwrap();
    let second = store
        .put(update.clone(), Expected::Version(1))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.updated_at, update.updated_at);
    assert_eq!(store.get(&first.key).await.unwrap().as_ref(), Some(&second));

    assert_eq!(
        store
            .find_by_external_id("elkyc", "user-a-1")
            .await
            .unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store
            .find_by_external_id("btcdirect", "user-a-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(&ApplicantKey::new("elkyc", "nobody"))
            .await
            .unwrap(),
        None
    );
    for (expected, found) in [
        (Expected::Version(1), Some(2)),
        (Expected::Version(u64::MAX), Some(2)),
    ] {
        let result = store.put(record("a-1", "X"), expected).await;
        assert!(
            matches!(&result, Err(StoreError::Conflict { found: f, .. }) if *f == found),
            "{expected}: {result:?}"
        );
    }
    let missing = store.put(record("a-2", "X"), Expected::Version(1)).await;
    assert!(
        matches!(missing, Err(StoreError::Conflict { found: None, .. })),
        "{missing:?}"
    );
}

pub async fn eight_concurrent_writers_lose_no_update<B: Backend>(backend: B) {
    const WRITERS: usize = 8;
    const INCREMENTS: u64 = 5;
    let store = backend.applicants().await;
    let key = store
        .put(record("counter", "0"), Expected::Absent)
        .await
        .unwrap()
        .key;

    // Eight writers at version 1 at once: exactly one wins.
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .put(record("counter", &format!("w{i}")), Expected::Version(1))
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(written) => {
                assert_eq!(written.version, 2);
                wins += 1;
            }
            Err(StoreError::Conflict { found, .. }) => assert_eq!(found, Some(2)),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1);
    let reset = store.get(&key).await.unwrap().unwrap();
    let mut zero = reset.clone();
    zero.provider_status = "0".into();
    store.put(zero, Expected::Version(2)).await.unwrap();

    // Eight writers each add one, five times, re-reading after every conflict.
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, barrier, key) = (store.clone(), barrier.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut versions = Vec::new();
            for _ in 0..INCREMENTS {
                loop {
                    let current = store.get(&key).await.unwrap().unwrap();
                    let n: u64 = current.provider_status.parse().unwrap();
                    let mut next = current.clone();
                    next.provider_status = (n + 1).to_string();
                    match store.put(next, Expected::Version(current.version)).await {
                        Ok(written) => {
                            versions.push(written.version);
                            break;
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            versions
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.extend(task.await.unwrap());
    }
    versions.sort_unstable();
    let total = WRITERS as u64 * INCREMENTS;
    // Every write got its own version: 4, 5, ... (3 was the reset).
    assert_eq!(versions, (4..4 + total).collect::<Vec<_>>());
    let last = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        last.provider_status,
        total.to_string(),
        "an update was lost"
    );
    assert_eq!(last.version, 3 + total);
}

/// The drop points the "caller left" cases try: dropped after its first poll, then after
/// the future had this long to run (the statement sent, queued, running, or answered).
const DROP_AFTER: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_micros(50),
    Duration::from_micros(200),
    Duration::from_millis(1),
    Duration::from_millis(3),
    Duration::from_millis(10),
];

/// Polls `future` for up to `time`, then drops it unless it finished: what a caller's
/// timeout, a dropped HTTP request or a `select!` does. Its output, if it finished.
async fn drop_after<F: std::future::Future>(time: Duration, future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    if time.is_zero() {
        return std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match future.as_mut().poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await;
    }
    tokio::time::timeout(time, future).await.ok()
}

/// Claims `key` until the claim is no longer in progress (what a caller that left set off
/// may still be settling in the background), within a bound that is far shorter than the
/// lease, so that a key held for its lease fails the case.
async fn claim_settled(inbox: &dyn Inbox, key: &str) -> Claim {
    for _ in 0..5_000 {
        match inbox.claim(key).await.unwrap() {
            Claim::InProgress => tokio::time::sleep(Duration::from_millis(1)).await,
            other => return other,
        }
    }
    panic!("{key} stayed in progress: a caller that left still holds it")
}

pub async fn a_claim_whose_caller_left_does_not_hold_the_key<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    for round in 0..4 {
        for (i, time) in DROP_AFTER.into_iter().enumerate() {
            let key = format!("left-{round}-{i}");
            if let Some(claimed) = drop_after(time, inbox.claim(&key)).await {
                // Answered in time: the caller heard, and gives the key back itself.
                let Claim::Acquired(token) = claimed.unwrap() else {
                    panic!("{key}: a fresh key was not acquired");
                };
                inbox.release(&key, &token).await.unwrap();
            }
            let Claim::Acquired(token) = claim_settled(inbox.as_ref(), &key).await else {
                panic!("{key}: not claimable after its first claim's caller left");
            };
            inbox.complete(&key, &token).await.unwrap();
        }
    }
}

pub async fn a_completion_whose_caller_left_still_completes<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    for round in 0..4 {
        for (i, time) in DROP_AFTER.into_iter().enumerate() {
            let key = format!("done-{round}-{i}");
            let token = acquire(inbox.as_ref(), &key).await;
            if let Some(completed) = drop_after(time, inbox.complete(&key, &token)).await {
                completed.unwrap();
            }
            // Done, whether or not its caller waited for the answer: never claimable again,
            // and not held until the lease runs out either.
            assert_eq!(
                claim_settled(inbox.as_ref(), &key).await,
                Claim::AlreadyDone,
                "{key} (dropped after {time:?})"
            );
        }
    }
}

pub async fn a_release_whose_caller_left_still_releases<B: Backend>(backend: B) {
    let inbox = backend.inbox("tuum", LONG).await;
    for (i, time) in DROP_AFTER.into_iter().enumerate() {
        let key = format!("released-{i}");
        let token = acquire(inbox.as_ref(), &key).await;
        if let Some(released) = drop_after(time, inbox.release(&key, &token)).await {
            released.unwrap();
        }
        assert!(
            matches!(
                claim_settled(inbox.as_ref(), &key).await,
                Claim::Acquired(_)
            ),
            "{key}: still held after its release's caller left"
        );
    }
}

// The durable queue (`compliance_core::webhook::Queue`'s contract).

use compliance_core::webhook::{
    DeliveryState, Enqueued, Failure, NewDelivery, Queue, StoredRequest, Taken,
};

fn delivery(key: &str) -> NewDelivery {
    // Not UTF-8, with a NUL: bodies are bytes.
    let body = [b"\x00\xff".as_slice(), key.as_bytes()].concat();
    NewDelivery::new(
        key,
        StoredRequest::new(
            vec![("x-allpass-signature".into(), format!("sig-{key}"))],
            body,
        ),
    )
}

async fn take_one(queue: &dyn Queue) -> Taken {
    let mut taken = queue.take(1).await.unwrap();
    assert_eq!(taken.len(), 1, "expected one due delivery");
    taken.remove(0)
}

async fn state_of(queue: &dyn Queue, key: &str) -> DeliveryState {
    queue.get(key).await.unwrap().unwrap().state
}

pub async fn queue_enqueue_keeps_one_row_per_key_exactly_and_across_restarts<B: Backend>(
    mut backend: B,
) {
    let queue = backend.queue("elkyc", LONG).await;
    let other = backend.queue("tuum", LONG).await;
    assert_eq!(
        queue.enqueue(delivery("k1")).await.unwrap(),
        Enqueued::Added
    );
    assert_eq!(
        queue.enqueue(delivery("k1")).await.unwrap(),
        Enqueued::Duplicate(DeliveryState::Queued)
    );
    let ignored = delivery("k2").ignored("unknown type `X`");
    assert_eq!(queue.enqueue(ignored).await.unwrap(), Enqueued::Added);
    let seq = delivery("k3").in_sequence(Some("heleket:payment:u1".into()));
    queue.enqueue(seq).await.unwrap();
    assert_eq!(
        other.enqueue(delivery("k1")).await.unwrap(),
        Enqueued::Added,
        "queues with different names are independent"
    );
    drop((queue, other));

    backend.reopen().await;
    let queue = backend.queue("elkyc", LONG).await;
    let rows = queue.list(None, 10).await.unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2", "k3"], "in order of arrival");
    assert!(
        rows.iter().all(|r| r.request.is_none()),
        "lists carry no bodies"
    );
    let k1 = queue.get("k1").await.unwrap().unwrap();
    assert_eq!(k1.state, DeliveryState::Queued);
    assert_eq!((k1.attempts, k1.replays), (0, 0));
    assert_eq!(
        k1.request,
        Some(delivery("k1").request),
        "bytes and headers exactly"
    );
    let k2 = queue.get("k2").await.unwrap().unwrap();
    assert_eq!(k2.state, DeliveryState::Ignored);
    assert_eq!(k2.last_error.as_deref(), Some("unknown type `X`"));
    assert_eq!(
        queue.get("k3").await.unwrap().unwrap().sequence.as_deref(),
        Some("heleket:payment:u1")
    );
    assert!(queue.get("absent").await.unwrap().is_none());
    let ignored = queue.list(Some(DeliveryState::Ignored), 10).await.unwrap();
    assert_eq!(ignored.len(), 1);

    // Ignored rows are never taken; the others, oldest first.
    let taken = queue.take(10).await.unwrap();
    let keys: Vec<&str> = taken.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k3"]);
    assert_eq!(taken[0].attempts, 1);
    assert_eq!(taken[0].request, delivery("k1").request);
    assert_ne!(taken[0].token, taken[1].token);
    assert_eq!(
        queue.enqueue(delivery("k1")).await.unwrap(),
        Enqueued::Duplicate(DeliveryState::Running)
    );
}

pub async fn queue_concurrent_takes_take_each_row_once<B: Backend>(backend: B) {
    let queue = backend.queue("tuum", LONG).await;
    for i in 0..40 {
        queue
            .enqueue(delivery(&format!("NTF-{i:02}")))
            .await
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (queue, barrier) = (queue.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let taken = queue.take(3).await.unwrap();
                if taken.is_empty() {
                    return mine;
                }
                for t in taken {
                    queue.complete(&t.key, &t.token).await.unwrap();
                    mine.push(t.key);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = (0..40).map(|i| format!("NTF-{i:02}")).collect();
    assert_eq!(all, expected, "each row taken exactly once");
    assert_eq!(
        queue
            .list(Some(DeliveryState::Done), 100)
            .await
            .unwrap()
            .len(),
        40
    );
}

pub async fn queue_an_expired_lease_is_taken_over_and_the_stale_token_refused<B: Backend>(
    backend: B,
) {
    let queue = backend.queue("heleket", SHORT).await;
    queue.enqueue(delivery("k")).await.unwrap();
    let first = take_one(&*queue).await;
    assert!(
        queue.take(1).await.unwrap().is_empty(),
        "held while the lease runs"
    );
    queue.renew("k", &first.token).await.unwrap();
    tokio::time::sleep(PAST_SHORT).await;
    let second = take_one(&*queue).await;
    assert_ne!(first.token, second.token);
    assert_eq!(second.attempts, 2, "a takeover counts as an attempt");
    for (what, result) in [
        ("renew", queue.renew("k", &first.token).await),
        ("complete", queue.complete("k", &first.token).await),
        (
            "fail",
            queue
                .fail("k", &first.token, Failure::Dead { error: "x".into() })
                .await,
        ),
        (
            "release",
            queue.release("k", &first.token, Duration::ZERO).await,
        ),
    ] {
        assert_not_held(result, what);
    }
    queue.complete("k", &second.token).await.unwrap();
    assert_eq!(state_of(&*queue, "k").await, DeliveryState::Done);
    assert_not_held(queue.complete("k", &second.token).await, "complete twice");
}

pub async fn queue_failures_releases_and_replays_follow_the_table<B: Backend>(backend: B) {
    let queue = backend.queue("tuum", LONG).await;
    queue.enqueue(delivery("k")).await.unwrap();

    // Retry: due after the delay, the error kept bounded.
    let t = take_one(&*queue).await;
    let long_error = format!("downstream said:\n{}", "e".repeat(5000));
    let retry = Failure::Retry {
        after: Duration::from_secs(3600),
        error: long_error,
    };
    queue.fail("k", &t.token, retry).await.unwrap();
    let row = queue.get("k").await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Retrying);
    let error = row.last_error.unwrap();
    assert!(
        error.starts_with("downstream said: e") && error.len() <= 1030,
        "{}",
        error.len()
    );
    assert!(
        queue.take(1).await.unwrap().is_empty(),
        "not due for an hour"
    );

    // Replay makes it due now, attempts from zero.
    assert!(queue.replay("k").await.unwrap());
    let t = take_one(&*queue).await;
    assert_eq!((t.attempts, t.replays), (1, 1));
    assert!(
        !queue.replay("k").await.unwrap(),
        "a running row is not replayed"
    );

    // Release: back, the attempt not counted.
    queue.release("k", &t.token, Duration::ZERO).await.unwrap();
    let row = queue.get("k").await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (DeliveryState::Queued, 0));

    // A retry due at once, then dead.
    let t = take_one(&*queue).await;
    let retry = Failure::Retry {
        after: Duration::ZERO,
        error: "again".into(),
    };
    queue.fail("k", &t.token, retry).await.unwrap();
    let t = take_one(&*queue).await;
    assert_eq!(t.attempts, 2);
    queue.release("k", &t.token, Duration::ZERO).await.unwrap();
    assert_eq!(state_of(&*queue, "k").await, DeliveryState::Retrying);
    let t = take_one(&*queue).await;
    let dead = Failure::Dead {
        error: "poison".into(),
    };
    queue.fail("k", &t.token, dead).await.unwrap();
    let row = queue.get("k").await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Dead);
    assert_eq!(row.last_error.as_deref(), Some("poison"));
    assert!(
        queue.take(1).await.unwrap().is_empty(),
        "dead rows are not taken"
    );
    assert_eq!(
        queue
            .list(Some(DeliveryState::Dead), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Done rows are replayed too (run once more), and absent keys are not.
    assert!(queue.replay("k").await.unwrap());
    let t = take_one(&*queue).await;
    queue.complete("k", &t.token).await.unwrap();
    assert!(queue.replay("k").await.unwrap());
    let t = take_one(&*queue).await;
    assert_eq!(t.replays, 3);
    // A replay still unhandled settles back to ignored (never done), its reason kept, and
    // is not taken again.
    let ignored = Failure::Ignored {
        reason: "no handler for this type".into(),
    };
    queue.fail("k", &t.token, ignored).await.unwrap();
    let row = queue.get("k").await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Ignored);
    assert_eq!(row.last_error.as_deref(), Some("no handler for this type"));
    assert!(queue.take(1).await.unwrap().is_empty());
    assert!(!queue.replay("absent").await.unwrap());
}

pub async fn queue_purge_forgets_only_the_states_asked_for<B: Backend>(backend: B) {
    let queue = backend.queue("heleket", LONG).await;
    for key in ["done", "dead", "queued", "running"] {
        queue.enqueue(delivery(key)).await.unwrap();
    }
    queue
        .enqueue(delivery("ignored").ignored("x"))
        .await
        .unwrap();
    let taken = queue.take(4).await.unwrap();
    for t in taken {
        match t.key.as_str() {
            "done" => queue.complete(&t.key, &t.token).await.unwrap(),
            "dead" => {
                let dead = Failure::Dead { error: "x".into() };
                queue.fail(&t.key, &t.token, dead).await.unwrap()
            }
            "queued" => queue
                .release(&t.key, &t.token, Duration::ZERO)
                .await
                .unwrap(),
            _ => {}
        }
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let routine = [DeliveryState::Done, DeliveryState::Ignored];
    assert_eq!(
        queue
            .purge(Duration::from_secs(3600), &routine)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        queue
            .purge(Duration::from_millis(10), &routine)
            .await
            .unwrap(),
        2
    );
    let keys: Vec<String> = queue
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(
        keys,
        ["dead", "queued", "running"],
        "dead and live rows kept unless asked"
    );
    assert_eq!(
        queue
            .purge(Duration::from_millis(10), &[DeliveryState::Dead])
            .await
            .unwrap(),
        1
    );
}

pub async fn queue_depth_counts_queued_retrying_and_dead_and_ages_the_oldest_queued<B: Backend>(
    backend: B,
) {
    let queue = backend.queue("tuum", LONG).await;
    let empty = queue.depth().await.unwrap();
    assert_eq!(
        (
            empty.queued,
            empty.retrying,
            empty.dead,
            empty.oldest_queued_age
        ),
        (0, 0, 0, None)
    );
    for key in ["old", "retrying", "dead", "done", "running"] {
        queue.enqueue(delivery(key)).await.unwrap();
    }
    queue
        .enqueue(delivery("ignored").ignored("x"))
        .await
        .unwrap();
    queue.enqueue(delivery("new")).await.unwrap();
    // Another queue's rows are not counted.
    let other = backend.queue("heleket", LONG).await;
    other.enqueue(delivery("elsewhere")).await.unwrap();
    // Everything due is taken, then settled into each state (two put back: queued).
    let taken = queue.take(6).await.unwrap();
    assert_eq!(taken.len(), 6);
    for t in taken {
        match t.key.as_str() {
            "old" | "new" => queue
                .release(&t.key, &t.token, Duration::ZERO)
                .await
                .unwrap(),
            "retrying" => {
                let retry = Failure::Retry {
                    after: Duration::from_secs(3600),
                    error: "x".into(),
                };
                queue.fail(&t.key, &t.token, retry).await.unwrap()
            }
            "dead" => {
                let dead = Failure::Dead { error: "x".into() };
                queue.fail(&t.key, &t.token, dead).await.unwrap()
            }
            "done" => queue.complete(&t.key, &t.token).await.unwrap(),
            _ => {}
        }
    }
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        (depth.queued, depth.retrying, depth.dead),
        (2, 1, 1),
        "running, done and ignored rows are not counted"
    );
    let age = depth.oldest_queued_age.expect("two rows are queued");
    assert!(age < Duration::from_secs(60), "{age:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let later = queue.depth().await.unwrap().oldest_queued_age.unwrap();
    assert!(
        later >= age + Duration::from_millis(50),
        "{age:?} then {later:?}"
    );
    // A replay queues a dead row again.
    assert!(queue.replay("dead").await.unwrap());
    let replayed = queue.depth().await.unwrap();
    assert_eq!((replayed.queued, replayed.dead), (3, 0));
}
