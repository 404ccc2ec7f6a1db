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
