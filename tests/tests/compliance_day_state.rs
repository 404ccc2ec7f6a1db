//! The main command keeps its receivers' state in a SQLite file: a second day against a
//! fresh sandbox (the same seed, so the providers send the same deliveries again) is a
//! restarted receiver, and recognises every delivery of the first day as already processed.

#[allow(dead_code)]
#[path = "../../crates/compliance-sandbox/examples/compliance_day.rs"]
mod compliance_day;

use compliance_core::ApplicantStore;
use compliance_sandbox::Sandbox;
use compliance_store::SqliteStore;

async fn day(path: &std::path::Path) -> (usize, u64) {
    let state = compliance_day::State::new(SqliteStore::open(path).await.unwrap());
    let sandbox = Sandbox::start(compliance_day::sandbox_config())
        .await
        .unwrap();
    compliance_day::run(
        &sandbox,
        &|provider| sandbox.endpoint(provider).url(),
        &state,
    )
    .await
    .unwrap();
    let store = SqliteStore::open(path).await.unwrap();
    let approved = store
        .find_by_external_id("elkyc", "customer-5521")
        .await
        .unwrap()
        .expect("the first day stored the applicant");
    (state.recognised(), approved.version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_day_recognises_the_first_days_deliveries() {
    let dir = std::env::temp_dir().join(format!(
        "compliance-day-state-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.sqlite3");

    // Day one: only the deliveries the providers send twice within the day are duplicates.
    let (first, version) = day(&path).await;
    // Day two, a restarted receiver: every delivery is one it already processed, so no
    // handler runs and the stored applicant is not written again.
    let (second, version_again) = day(&path).await;
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(first >= 2, "day one's duplicates: {first}");
    assert!(
        second > first,
        "day two recognised {second} deliveries, day one {first}"
    );
    assert_eq!(version_again, version, "an old delivery rewrote the record");
}
