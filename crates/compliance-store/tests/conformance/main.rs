//! One conformance suite for every `Inbox` and `ApplicantStore`: each case in `cases.rs` runs
//! against `compliance-core`'s in-memory implementations, the SQLite store and the
//! PostgreSQL store (a throwaway server; see `compliance_store::test_util::TempPostgres`).
//! Test names read `<case>::<backend>`.

mod backends;
mod cases;

macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                crate::cases::$case(crate::backends::memory().await).await;
            }

            #[cfg(feature = "sqlite")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                crate::cases::$case(crate::backends::sqlite().await).await;
            }

            #[cfg(feature = "postgres")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(backend) = crate::backends::postgres().await {
                    crate::cases::$case(backend).await;
                }
            }
        }
    )+};
}

conformance!(
    concurrent_claims_of_one_key_acquire_once,
    an_expired_lease_is_taken_over,
    stale_and_foreign_tokens_are_refused,
    an_expired_token_still_settles_while_nobody_else_claimed,
    renewal_holds_the_key_past_its_first_lease,
    purge_forgets_old_completed_keys_and_keeps_live_claims,
    purge_forgets_claims_abandoned_longer_than_its_age,
    inboxes_with_different_names_are_independent,
    restart_keeps_completed_keys_done,
    applicant_records_round_trip_exactly,
    eight_concurrent_writers_lose_no_update,
    a_claim_whose_caller_left_does_not_hold_the_key,
    a_completion_whose_caller_left_still_completes,
    a_release_whose_caller_left_still_releases,
    queue_enqueue_keeps_one_row_per_key_exactly_and_across_restarts,
    queue_concurrent_takes_take_each_row_once,
    queue_an_expired_lease_is_taken_over_and_the_stale_token_refused,
    queue_failures_releases_and_replays_follow_the_table,
    queue_purge_forgets_only_the_states_asked_for,
    queue_depth_counts_queued_retrying_and_dead_and_ages_the_oldest_queued,
);
