//! The statements the SQLite store runs, one constant each (numbered parameters).

/// Claims a key: inserts it, or takes over an in-progress claim whose lease ran out. Returns
/// the token when acquired, no row otherwise. `?1` inbox, `?2` key, `?3` new token, `?4` now,
/// `?5` lease deadline (Unix µs).
pub const CLAIM: &str = "INSERT INTO compliance_inbox (inbox, key, state, token, lease_until) \
     VALUES (?1, ?2, 'in_progress', ?3, ?5) \
     ON CONFLICT (inbox, key) DO UPDATE \
     SET token = excluded.token, lease_until = excluded.lease_until \
     WHERE compliance_inbox.state = 'in_progress' AND compliance_inbox.lease_until <= ?4 \
     RETURNING token";

/// The state of a key after a claim that did not acquire it. `?1` inbox, `?2` key.
pub const STATE: &str = "SELECT state FROM compliance_inbox WHERE inbox = ?1 AND key = ?2";

/// Extends the lease of the claim a token holds. `?1` inbox, `?2` key, `?3` token, `?4` new
/// deadline.
pub const RENEW: &str = "UPDATE compliance_inbox SET lease_until = ?4 \
     WHERE inbox = ?1 AND key = ?2 AND token = ?3 AND state = 'in_progress'";

/// Marks the claim a token holds done. `?1` inbox, `?2` key, `?3` token, `?4` now.
pub const COMPLETE: &str = "UPDATE compliance_inbox SET state = 'done', completed_at = ?4 \
     WHERE inbox = ?1 AND key = ?2 AND token = ?3 AND state = 'in_progress'";

/// Whether a key is done by this token (a retried completion). `?1` inbox, `?2` key, `?3`
/// token.
pub const DONE_BY: &str = "SELECT 1 FROM compliance_inbox \
     WHERE inbox = ?1 AND key = ?2 AND token = ?3 AND state = 'done'";

/// Gives back the claim a token holds. `?1` inbox, `?2` key, `?3` token.
pub const RELEASE: &str = "DELETE FROM compliance_inbox \
     WHERE inbox = ?1 AND key = ?2 AND token = ?3 AND state = 'in_progress'";

/// Deletes up to `?3` keys of inbox `?1` completed before `?2` (Unix µs).
pub const PURGE: &str = "DELETE FROM compliance_inbox WHERE (inbox, key) IN ( \
     SELECT inbox, key FROM compliance_inbox \
     WHERE inbox = ?1 AND state = 'done' AND completed_at < ?2 LIMIT ?3)";

/// Deletes up to `?3` claims of inbox `?1` whose lease ran out before `?2` (Unix µs):
/// abandoned by a holder that died, for a delivery that never came again.
pub const PURGE_ABANDONED: &str = "DELETE FROM compliance_inbox WHERE (inbox, key) IN ( \
     SELECT inbox, key FROM compliance_inbox \
     WHERE inbox = ?1 AND state = 'in_progress' AND lease_until < ?2 LIMIT ?3)";

/// The columns of a record, in [`crate::record::Columns`] order, then the version.
macro_rules! applicant_columns {
    () => {
        "provider, provider_id, external_user_id, provider_status, aml_status, \
         provider_updated_at, created_at, updated_at, version"
    };
}

/// One record by key. `?1` provider, `?2` provider id.
pub const GET: &str = concat!(
    "SELECT ",
    applicant_columns!(),
    " FROM compliance_applicants WHERE provider = ?1 AND provider_id = ?2"
);

/// The most recently written record of a provider with an external user id. `?1` provider,
/// `?2` external user id.
pub const FIND_BY_EXTERNAL_ID: &str = concat!(
    "SELECT ",
    applicant_columns!(),
    " FROM compliance_applicants WHERE provider = ?1 AND external_user_id = ?2 \
     ORDER BY updated_at DESC, provider_id LIMIT 1"
);

/// Inserts a record at version 1 unless the key exists. Returns `created_at, version` when
/// inserted. `?1`–`?8`: the columns in order up to `updated_at`.
pub const INSERT: &str = "INSERT INTO compliance_applicants (provider, provider_id, \
     external_user_id, provider_status, aml_status, provider_updated_at, created_at, \
     updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) \
     ON CONFLICT (provider, provider_id) DO NOTHING RETURNING created_at, version";

/// Updates a record if it is at version `?8`, bumping the version and keeping `created_at`.
/// Returns `created_at, version` when written. `?1` provider, `?2` provider id, `?3` external
/// user id, `?4` provider status, `?5` AML status, `?6` provider updated at, `?7` updated at.
pub const UPDATE: &str = "UPDATE compliance_applicants SET external_user_id = ?3, \
     provider_status = ?4, aml_status = ?5, provider_updated_at = ?6, updated_at = ?7, \
     version = version + 1 \
     WHERE provider = ?1 AND provider_id = ?2 AND version = ?8 RETURNING created_at, version";

/// The current version of a record, after a write that found a different one. `?1` provider,
/// `?2` provider id.
pub const VERSION: &str =
    "SELECT version FROM compliance_applicants WHERE provider = ?1 AND provider_id = ?2";

/// Stores a delivery unless its key is there. Returns its id when stored. `?1` queue, `?2`
/// key, `?3` state (`queued` or `ignored`), `?4` sequence, `?5` headers (JSON), `?6` body,
/// `?7` why ignored, `?8` now.
pub const QUEUE_ENQUEUE: &str = "INSERT INTO compliance_queue (queue, key, state, sequence, \
     headers, body, last_error, run_at, received_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8) \
     ON CONFLICT (queue, key) DO NOTHING RETURNING id";

/// The state of a stored key. `?1` queue, `?2` key.
pub const QUEUE_STATE: &str = "SELECT state FROM compliance_queue WHERE queue = ?1 AND key = ?2";

/// How many rows are queued, retrying and dead, and when the oldest queued one last changed
/// state (`NULL` when none is queued): one pass over the state index. `?1` queue.
pub const QUEUE_DEPTH: &str = "SELECT coalesce(sum(state = 'queued'), 0), \
     coalesce(sum(state = 'retrying'), 0), coalesce(sum(state = 'dead'), 0), \
     min(CASE WHEN state = 'queued' THEN updated_at END) \
     FROM compliance_queue WHERE queue = ?1 AND state IN ('queued', 'retrying', 'dead')";

/// Takes up to `?5` due rows (and running ones whose lease ran out), each under token `?3`
/// `:id`, until `?4`. `?1` queue, `?2` now.
pub const QUEUE_TAKE: &str = "UPDATE compliance_queue SET state = 'running', \
     token = ?3 || ':' || id, lease_until = ?4, attempts = attempts + 1, updated_at = ?2 \
     WHERE id IN (SELECT id FROM compliance_queue WHERE queue = ?1 AND \
       ((state IN ('queued', 'retrying') AND run_at <= ?2) \
        OR (state = 'running' AND lease_until <= ?2)) \
       ORDER BY run_at, id LIMIT ?5) \
     RETURNING id, key, token, attempts, replays, received_at, headers, body, run_at";

/// Extends a taken row's lease to `?4`. `?1` queue, `?2` key, `?3` token.
pub const QUEUE_RENEW: &str = "UPDATE compliance_queue SET lease_until = ?4 \
     WHERE queue = ?1 AND key = ?2 AND token = ?3 AND state = 'running'";

/// Marks a taken row done. `?1` queue, `?2` key, `?3` token, `?4` now.
pub const QUEUE_COMPLETE: &str = "UPDATE compliance_queue SET state = 'done', token = NULL, \
     lease_until = NULL, updated_at = ?4 \
     WHERE queue = ?1 AND key = ?2 AND token = ?3 AND state = 'running'";

/// Settles a failed attempt: `?4` state (`retrying` or `dead`), due at `?5`, error `?6`.
/// `?1` queue, `?2` key, `?3` token, `?7` now.
pub const QUEUE_FAIL: &str = "UPDATE compliance_queue SET state = ?4, run_at = ?5, \
     last_error = ?6, token = NULL, lease_until = NULL, updated_at = ?7 \
     WHERE queue = ?1 AND key = ?2 AND token = ?3 AND state = 'running'";

/// Gives a taken row back, its attempt not counted, due at `?4`. `?1` queue, `?2` key, `?3`
/// token, `?5` now.
pub const QUEUE_RELEASE: &str = "UPDATE compliance_queue SET \
     state = CASE WHEN attempts <= 1 THEN 'queued' ELSE 'retrying' END, \
     attempts = MAX(attempts - 1, 0), run_at = ?4, token = NULL, lease_until = NULL, \
     updated_at = ?5 \
     WHERE queue = ?1 AND key = ?2 AND token = ?3 AND state = 'running'";

/// The columns of an operator's view of a row.
macro_rules! queue_info_columns {
    () => {
        "key, state, sequence, received_at, updated_at, attempts, replays, last_error"
    };
}

/// Up to `?3` rows, in state `?2` unless it is null, in order of arrival. `?1` queue.
pub const QUEUE_LIST: &str = concat!(
    "SELECT ",
    queue_info_columns!(),
    " FROM compliance_queue WHERE queue = ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3"
);

/// One row with its stored request. `?1` queue, `?2` key.
pub const QUEUE_GET: &str = concat!(
    "SELECT ",
    queue_info_columns!(),
    ", headers, body FROM compliance_queue WHERE queue = ?1 AND key = ?2"
);

/// Queues a row again (unless running), to run once more. `?1` queue, `?2` key, `?3` now.
pub const QUEUE_REPLAY: &str = "UPDATE compliance_queue SET state = 'queued', attempts = 0, \
     replays = replays + 1, run_at = ?3, token = NULL, lease_until = NULL, updated_at = ?3 \
     WHERE queue = ?1 AND key = ?2 AND state <> 'running'";

/// Deletes up to `?4` rows in state `?2` unchanged since before `?3`. `?1` queue.
pub const QUEUE_PURGE: &str = "DELETE FROM compliance_queue WHERE id IN ( \
     SELECT id FROM compliance_queue WHERE queue = ?1 AND state = ?2 AND updated_at < ?3 \
     LIMIT ?4)";
