//! `compliance inbox` run as the built binary against a store the test fills through
//! compliance-store's queue API: a temporary SQLite file (and one PostgreSQL case on a
//! throwaway server): what each command prints, what it changes in the store, and its exit
//! codes.

#[allow(dead_code)]
#[path = "../cli/common.rs"]
mod common;

use compliance_core::webhook::{Failure, NewDelivery, StoredRequest};
use compliance_store::{DeliveryState, Queue, SqliteStore};

use common::{TempFile, compliance};

const DEAD: &str = "tuum:NTF-poison";
const QUEUED: &str = "tuum:NTF-2";
const IGNORED: &str = "tuum:NTF-unknown-type";
const DONE: &str = "heleket:payment:p-1:paid";
const RETRYING: &str = "elkyc:applicant:a-1:v1";
const BODY: &str = r#"{"notificationId":"NTF-poison","data":{"personId":"p-9"}}"#;

fn delivery(key: &str, body: &str) -> NewDelivery {
    NewDelivery::new(
        key,
        StoredRequest::new(
            vec![("x-kept".into(), "v".into())],
            body.as_bytes().to_vec(),
        ),
    )
}

/// One row in each settled or waiting state, across the three providers' queues.
async fn fill(store: &SqliteStore) {
    let tuum = store.queue("tuum");
    tuum.enqueue(delivery(DEAD, BODY)).await.unwrap();
    let taken = tuum.take(1).await.unwrap().remove(0);
    tuum.fail(
        DEAD,
        &taken.token,
        Failure::Dead {
            error: "handler: downstream refused person p-9".into(),
        },
    )
    .await
    .unwrap();
    tuum.enqueue(delivery(QUEUED, "{}")).await.unwrap();
    tuum.enqueue(delivery(IGNORED, "{}").ignored("no handler takes AML_FUTURE_EVENT"))
        .await
        .unwrap();
    let heleket = store.queue("heleket");
    heleket.enqueue(delivery(DONE, "{}")).await.unwrap();
    let taken = heleket.take(1).await.unwrap().remove(0);
    heleket.complete(DONE, &taken.token).await.unwrap();
    let elkyc = store.queue("elkyc");
    elkyc.enqueue(delivery(RETRYING, "{}")).await.unwrap();
    let taken = elkyc.take(1).await.unwrap().remove(0);
    elkyc
        .fail(
            RETRYING,
            &taken.token,
            Failure::Retry {
                after: std::time::Duration::from_secs(3600),
                error: "timeout".into(),
            },
        )
        .await
        .unwrap();
}

async fn sqlite() -> (TempFile, String, SqliteStore) {
    let file = TempFile::new("placeholder", "");
    let path = file.path.with_file_name("state.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    fill(&store).await;
    (file, format!("sqlite:{}", path.display()), store)
}

fn keys(doc: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = doc["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

fn state(store: &SqliteStore, queue: &str, key: &str) -> Option<DeliveryState> {
    let queue = store.queue(queue);
    let key = key.to_owned();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current()
            .block_on(async move { queue.get(&key).await.unwrap().map(|i| i.state) })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_state_and_provider() {
    let (_dir, store, _) = sqlite().await;
    let all = compliance(&["inbox", "list", "--json", "--store", &store])
        .run()
        .expect(0)
        .json();
    assert_eq!(keys(&all), [RETRYING, DONE, QUEUED, DEAD, IGNORED]);
    let dead = compliance(&[
        "inbox", "list", "--state", "dead", "--json", "--store", &store,
    ])
    .run()
    .expect(0)
    .json();
    assert_eq!(keys(&dead), [DEAD]);
    assert_eq!(dead["deliveries"][0]["attempts"], 1);
    assert_eq!(
        dead["deliveries"][0]["last_error"],
        "handler: downstream refused person p-9"
    );
    // $COMPLIANCE_STORE stands for --store; the text lists one line per delivery.
    let tuum = compliance(&["inbox", "list", "--provider", "tuum"])
        .env("COMPLIANCE_STORE", &store)
        .run()
        .expect(0);
    assert_eq!(tuum.stdout.lines().count(), 3, "{}", tuum.stdout);
    assert!(tuum.stdout.contains("dead") && tuum.stdout.contains(DEAD));
    assert!(!tuum.stdout.contains(DONE));
    assert!(!tuum.stdout.contains(BODY), "list never prints bodies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_prints_the_body_only_when_asked() {
    let (_dir, store, _) = sqlite().await;
    let shown = compliance(&["inbox", "show", DEAD, "--store", &store])
        .run()
        .expect(0);
    assert!(
        shown.stdout.contains("state        dead"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("downstream refused person p-9"));
    assert!(shown.stdout.contains("attempts     1"));
    assert!(!shown.stdout.contains("personId"), "no body without --body");
    let with_body = compliance(&["inbox", "show", DEAD, "--body", "--json", "--store", &store])
        .run()
        .expect(0)
        .json();
    assert_eq!(with_body["body"], BODY);
    assert_eq!(with_body["provider"], "tuum");
    assert_eq!(with_body["headers"][0]["name"], "x-kept");
    let ignored = compliance(&["inbox", "show", IGNORED, "--store", &store])
        .run()
        .expect(0);
    assert!(ignored.stdout.contains("no handler takes AML_FUTURE_EVENT"));
    // Not there, or in another provider's queue: refused, exit 1.
    let missing = compliance(&["inbox", "show", "tuum:nope", "--json", "--store", &store])
        .run()
        .expect(1)
        .json();
    assert_eq!(missing["error"]["kind"], "not_found");
    compliance(&[
        "inbox",
        "show",
        DEAD,
        "--provider",
        "heleket",
        "--store",
        &store,
    ])
    .run()
    .expect(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_queues_dead_and_done_deliveries_again() {
    let (_dir, store_arg, store) = sqlite().await;
    let replayed = compliance(&["inbox", "replay", "--dead", "--store", &store_arg])
        .run()
        .expect(0);
    assert!(
        replayed
            .stdout
            .contains(&format!("queued again: {DEAD} (tuum, was dead)")),
        "{}",
        replayed.stdout
    );
    assert_eq!(state(&store, "tuum", DEAD), Some(DeliveryState::Queued));
    assert_eq!(state(&store, "tuum", QUEUED), Some(DeliveryState::Queued));
    // A done delivery runs once more; a key that is nowhere is refused (exit 1) while the
    // others on the same line are still replayed.
    let mixed = compliance(&[
        "inbox",
        "replay",
        DONE,
        "tuum:nope",
        "--json",
        "--store",
        &store_arg,
    ])
    .run()
    .expect(1)
    .json();
    assert_eq!(mixed["replayed"][0]["was"], "done");
    assert_eq!(mixed["refused"][0]["key"], "tuum:nope");
    let info = store.queue("heleket").get(DONE).await.unwrap().unwrap();
    assert_eq!((info.state, info.replays), (DeliveryState::Queued, 1));
    // Neither keys nor --dead: a usage error.
    compliance(&["inbox", "replay", "--store", &store_arg])
        .run()
        .expect(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_keeps_waiting_and_dead_rows_unless_named() {
    let (_dir, store_arg, store) = sqlite().await;
    let purged = compliance(&[
        "inbox",
        "purge",
        "--older-than",
        "0s",
        "--store",
        &store_arg,
    ])
    .run()
    .expect(0);
    assert!(purged.stdout.contains("8.5 h"), "{}", purged.stdout);
    assert!(
        purged.stdout.contains("WARNING"),
        "0s is shorter than advised"
    );
    assert_eq!(state(&store, "heleket", DONE), None);
    assert_eq!(state(&store, "tuum", IGNORED), None);
    assert_eq!(state(&store, "tuum", DEAD), Some(DeliveryState::Dead));
    assert_eq!(state(&store, "tuum", QUEUED), Some(DeliveryState::Queued));
    assert_eq!(
        state(&store, "elkyc", RETRYING),
        Some(DeliveryState::Retrying)
    );
    // Too young for a 30-day purge; then dead rows only when asked, per provider.
    compliance(&[
        "inbox",
        "purge",
        "--older-than",
        "30d",
        "--state",
        "dead",
        "--store",
        &store_arg,
    ])
    .run()
    .expect(0);
    assert_eq!(state(&store, "tuum", DEAD), Some(DeliveryState::Dead));
    let doc = compliance(&[
        "inbox",
        "purge",
        "--older-than",
        "0s",
        "--state",
        "dead",
        "--provider",
        "tuum",
        "--json",
        "--store",
        &store_arg,
    ])
    .run()
    .expect(0)
    .json();
    assert_eq!(doc["purged"][0]["deleted"], 1);
    assert_eq!(doc["advice"][0]["keep_days"], 90);
    assert_eq!(state(&store, "tuum", DEAD), None);
    assert_eq!(state(&store, "tuum", QUEUED), Some(DeliveryState::Queued));
    // Running rows are a worker's: never purged. A bad age is a usage error.
    for bad in [
        &["--older-than", "0s", "--state", "running"][..],
        &["--older-than", "soon"][..],
    ] {
        let mut cli = compliance(&["inbox", "purge", "--store", &store_arg]);
        for a in bad {
            cli = cli.arg(*a);
        }
        cli.run().expect(2);
    }
}

#[test]
fn a_missing_or_unknown_store_is_a_configuration_error() {
    compliance(&["inbox", "list"]).run().expect(2);
    let secret = "pg-5ecret-pw";
    let refused = compliance(&["inbox", "list", "--json"])
        .env("COMPLIANCE_STORE", format!("mysql://u:{secret}@h/d"))
        .secret(secret)
        .run()
        .expect(2)
        .json();
    assert_eq!(refused["error"]["kind"], "usage");
    compliance(&[
        "inbox",
        "list",
        "--store",
        "sqlite:/nonexistent/dir/state.sqlite3",
    ])
    .run()
    .expect(2);
}

/// The same commands against a PostgreSQL store (a throwaway server; skipped in one line
/// without PostgreSQL outside CI, like compliance-store's own tests).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_is_listed_and_replayed_the_same_way() {
    use compliance_store::PostgresStore;
    use compliance_store::test_util::TempPostgres;

    let Some(postgres) = TempPostgres::shared() else {
        return;
    };
    let url = postgres.create_database().await.unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    let tuum = store.queue("tuum");
    tuum.enqueue(delivery(DEAD, BODY)).await.unwrap();
    let taken = tuum.take(1).await.unwrap().remove(0);
    tuum.fail(
        DEAD,
        &taken.token,
        Failure::Dead {
            error: "poison".into(),
        },
    )
    .await
    .unwrap();
    let dead = compliance(&[
        "inbox", "list", "--state", "dead", "--json", "--store", &url,
    ])
    .run()
    .expect(0)
    .json();
    assert_eq!(keys(&dead), [DEAD]);
    compliance(&["inbox", "replay", DEAD, "--store", &url])
        .run()
        .expect(0);
    let info = tuum.get(DEAD).await.unwrap().unwrap();
    assert_eq!((info.state, info.replays), (DeliveryState::Queued, 1));
}
