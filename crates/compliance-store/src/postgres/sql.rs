//! The statements the PostgreSQL store runs, one constant each. Every time comes from the
//! server's `clock_timestamp()`; durations are passed as whole microseconds.

/// Claims a key: inserts it, or takes over an in-progress claim whose lease ran out. Returns
/// the token when acquired, no row otherwise. `$1` inbox, `$2` key, `$3` new token, `$4` lease
/// (µs).
pub const CLAIM: &str = "INSERT INTO compliance_inbox AS i (inbox, key, state, token, lease_until) \
     VALUES ($1, $2, 'in_progress', $3, clock_timestamp() + $4::bigint * interval '1 microsecond') \
     ON CONFLICT (inbox, key) DO UPDATE \
     SET token = EXCLUDED.token, lease_until = EXCLUDED.lease_until \
     WHERE i.state = 'in_progress' AND i.lease_until <= clock_timestamp() \
     RETURNING i.token";

/// The state of a key after a claim that did not acquire it. `$1` inbox, `$2` key.
pub const STATE: &str = "SELECT state FROM compliance_inbox WHERE inbox = $1 AND key = $2";

/// Extends the lease of the claim a token holds. `$1` inbox, `$2` key, `$3` token, `$4` lease
/// (µs).
pub const RENEW: &str = "UPDATE compliance_inbox \
     SET lease_until = clock_timestamp() + $4::bigint * interval '1 microsecond' \
     WHERE inbox = $1 AND key = $2 AND token = $3 AND state = 'in_progress'";

/// Marks the claim a token holds done. `$1` inbox, `$2` key, `$3` token.
pub const COMPLETE: &str = "UPDATE compliance_inbox \
     SET state = 'done', completed_at = clock_timestamp() \
     WHERE inbox = $1 AND key = $2 AND token = $3 AND state = 'in_progress'";

/// Whether a key is done by this token (a retried completion). `$1` inbox, `$2` key, `$3`
/// token.
pub const DONE_BY: &str = "SELECT 1 FROM compliance_inbox \
     WHERE inbox = $1 AND key = $2 AND token = $3 AND state = 'done'";

/// Gives back the claim a token holds. `$1` inbox, `$2` key, `$3` token.
pub const RELEASE: &str = "DELETE FROM compliance_inbox \
     WHERE inbox = $1 AND key = $2 AND token = $3 AND state = 'in_progress'";

/// Deletes up to `$3` keys of inbox `$1` completed more than `$2` µs ago.
pub const PURGE: &str = "DELETE FROM compliance_inbox WHERE (inbox, key) IN ( \
     SELECT inbox, key FROM compliance_inbox \
     WHERE inbox = $1 AND state = 'done' \
     AND completed_at < clock_timestamp() - $2::bigint * interval '1 microsecond' \
     LIMIT $3::bigint)";

/// Deletes up to `$3` claims of inbox `$1` whose lease ran out more than `$2` µs ago:
/// abandoned by a holder that died, for a delivery that never came again.
///
/// The condition is checked again on the row being deleted, not only in the subquery: a
/// claim that takes the key over while the purge waits for its row lock gives the row a new
/// lease, and PostgreSQL re-evaluates only the outer condition on the row's new version.
pub const PURGE_ABANDONED: &str = "DELETE FROM compliance_inbox \
     WHERE inbox = $1 AND state = 'in_progress' \
     AND lease_until < clock_timestamp() - $2::bigint * interval '1 microsecond' \
     AND (inbox, key) IN ( \
     SELECT inbox, key FROM compliance_inbox \
     WHERE inbox = $1 AND state = 'in_progress' \
     AND lease_until < clock_timestamp() - $2::bigint * interval '1 microsecond' \
     LIMIT $3::bigint)";

/// The columns of a record, in [`crate::record::Columns`] order, then the version.
macro_rules! applicant_columns {
    () => {
        "provider, provider_id, external_user_id, provider_status, aml_status::text, \
         provider_updated_at, created_at, updated_at, version"
    };
}

/// One record by key. `$1` provider, `$2` provider id.
pub const GET: &str = concat!(
    "SELECT ",
    applicant_columns!(),
    " FROM compliance_applicants WHERE provider = $1 AND provider_id = $2"
);

/// The most recently written record of a provider with an external user id. `$1` provider,
/// `$2` external user id.
pub const FIND_BY_EXTERNAL_ID: &str = concat!(
    "SELECT ",
    applicant_columns!(),
    " FROM compliance_applicants WHERE provider = $1 AND external_user_id = $2 \
     ORDER BY updated_at DESC, provider_id LIMIT 1"
);

/// Inserts a record at version 1 unless the key exists. Returns `created_at, version` when
/// inserted. `$1`–`$8`: the columns in order up to `updated_at`.
pub const INSERT: &str = "INSERT INTO compliance_applicants (provider, provider_id, \
     external_user_id, provider_status, aml_status, provider_updated_at, created_at, \
     updated_at, version) VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, 1) \
     ON CONFLICT (provider, provider_id) DO NOTHING RETURNING created_at, version";

/// Updates a record if it is at version `$8`, bumping the version and keeping `created_at`.
/// Returns `created_at, version` when written. `$1` provider, `$2` provider id, `$3` external
/// user id, `$4` provider status, `$5` AML status, `$6` provider updated at, `$7` updated at.
pub const UPDATE: &str = "UPDATE compliance_applicants SET external_user_id = $3, \
     provider_status = $4, aml_status = $5::text::jsonb, provider_updated_at = $6, \
     updated_at = $7, version = version + 1 \
     WHERE provider = $1 AND provider_id = $2 AND version = $8::bigint \
     RETURNING created_at, version";

/// The current version of a record, after a write that found a different one. `$1` provider,
/// `$2` provider id.
pub const VERSION: &str =
    "SELECT version FROM compliance_applicants WHERE provider = $1 AND provider_id = $2";

/// Stores a delivery unless its key is there. Returns its id when stored. `$1` queue, `$2`
/// key, `$3` state (`queued` or `ignored`), `$4` sequence, `$5` headers (JSON), `$6` body,
/// `$7` why ignored.
pub const QUEUE_ENQUEUE: &str = "INSERT INTO compliance_queue (queue, key, state, sequence, \
     headers, body, last_error, run_at, received_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), clock_timestamp(), clock_timestamp()) \
     ON CONFLICT (queue, key) DO NOTHING RETURNING id";

/// The state of a stored key. `$1` queue, `$2` key.
pub const QUEUE_STATE: &str = "SELECT state FROM compliance_queue WHERE queue = $1 AND key = $2";

/// A time column as Unix microseconds.
macro_rules! micros {
    ($column:literal) => {
        concat!("floor(extract(epoch FROM ", $column, ") * 1000000)::bigint")
    };
}

/// How many rows are queued, retrying and dead, and how many microseconds ago the oldest
/// queued one last changed state, by the server's clock (`NULL` when none is queued): one
/// pass over the state index. `$1` queue.
pub const QUEUE_DEPTH: &str = "SELECT count(*) FILTER (WHERE state = 'queued'), \
     count(*) FILTER (WHERE state = 'retrying'), count(*) FILTER (WHERE state = 'dead'), \
     (extract(epoch FROM clock_timestamp() - min(updated_at) FILTER (WHERE state = 'queued')) \
       * 1000000)::bigint \
     FROM compliance_queue WHERE queue = $1 AND state IN ('queued', 'retrying', 'dead')";

/// Takes up to `$4` due rows (and running ones whose lease ran out) that no other
/// transaction is taking (`FOR UPDATE SKIP LOCKED`), each under token `$2:id`, for `$3` µs.
/// `$1` queue.
pub const QUEUE_TAKE: &str = concat!(
    "UPDATE compliance_queue q SET state = 'running', token = $2::text || ':' || q.id, \
     lease_until = clock_timestamp() + $3::bigint * interval '1 microsecond', \
     attempts = q.attempts + 1, updated_at = clock_timestamp() \
     FROM (SELECT id FROM compliance_queue WHERE queue = $1 AND \
       ((state IN ('queued', 'retrying') AND run_at <= clock_timestamp()) \
        OR (state = 'running' AND lease_until <= clock_timestamp())) \
       ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) due \
     WHERE q.id = due.id \
     RETURNING q.id, q.key, q.token, q.attempts::bigint, q.replays::bigint, ",
    micros!("q.received_at"),
    ", q.headers, q.body, ",
    micros!("q.run_at")
);

/// Extends a taken row's lease by `$4` µs. `$1` queue, `$2` key, `$3` token.
pub const QUEUE_RENEW: &str = "UPDATE compliance_queue \
     SET lease_until = clock_timestamp() + $4::bigint * interval '1 microsecond' \
     WHERE queue = $1 AND key = $2 AND token = $3 AND state = 'running'";

/// Marks a taken row done. `$1` queue, `$2` key, `$3` token.
pub const QUEUE_COMPLETE: &str = "UPDATE compliance_queue SET state = 'done', token = NULL, \
     lease_until = NULL, updated_at = clock_timestamp() \
     WHERE queue = $1 AND key = $2 AND token = $3 AND state = 'running'";

/// Settles a failed attempt: `$4` state (`retrying` or `dead`), due in `$5` µs, error `$6`.
/// `$1` queue, `$2` key, `$3` token.
pub const QUEUE_FAIL: &str = "UPDATE compliance_queue SET state = $4, \
     run_at = clock_timestamp() + $5::bigint * interval '1 microsecond', \
     last_error = $6, token = NULL, lease_until = NULL, updated_at = clock_timestamp() \
     WHERE queue = $1 AND key = $2 AND token = $3 AND state = 'running'";

/// Gives a taken row back, its attempt not counted, due in `$4` µs. `$1` queue, `$2` key,
/// `$3` token.
pub const QUEUE_RELEASE: &str = "UPDATE compliance_queue SET \
     state = CASE WHEN attempts <= 1 THEN 'queued' ELSE 'retrying' END, \
     attempts = GREATEST(attempts - 1, 0), \
     run_at = clock_timestamp() + $4::bigint * interval '1 microsecond', \
     token = NULL, lease_until = NULL, updated_at = clock_timestamp() \
     WHERE queue = $1 AND key = $2 AND token = $3 AND state = 'running'";

/// The columns of an operator's view of a row.
macro_rules! queue_info_columns {
    () => {
        concat!(
            "key, state, sequence, ",
            micros!("received_at"),
            ", ",
            micros!("updated_at"),
            ", attempts::bigint, replays::bigint, last_error"
        )
    };
}

/// Up to `$3` rows, in state `$2` unless it is null, in order of arrival. `$1` queue.
pub const QUEUE_LIST: &str = concat!(
    "SELECT ",
    queue_info_columns!(),
    " FROM compliance_queue WHERE queue = $1 AND ($2::text IS NULL OR state = $2) \
     ORDER BY id LIMIT $3"
);

/// One row with its stored request. `$1` queue, `$2` key.
pub const QUEUE_GET: &str = concat!(
    "SELECT ",
    queue_info_columns!(),
    ", headers, body FROM compliance_queue WHERE queue = $1 AND key = $2"
);

/// Queues a row again (unless running), to run once more. `$1` queue, `$2` key.
pub const QUEUE_REPLAY: &str = "UPDATE compliance_queue SET state = 'queued', attempts = 0, \
     replays = replays + 1, run_at = clock_timestamp(), token = NULL, lease_until = NULL, \
     updated_at = clock_timestamp() \
     WHERE queue = $1 AND key = $2 AND state <> 'running'";

/// Deletes up to `$4` rows in state `$2` unchanged for more than `$3` µs. `$1` queue.
pub const QUEUE_PURGE: &str = "DELETE FROM compliance_queue WHERE id IN ( \
     SELECT id FROM compliance_queue WHERE queue = $1 AND state = $2 \
     AND updated_at < clock_timestamp() - $3::bigint * interval '1 microsecond' LIMIT $4)";
