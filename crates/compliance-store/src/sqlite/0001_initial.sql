-- compliance-store schema version 1 (SQLite).

-- One row per delivery key an inbox has seen: claimed ('in_progress', by `token` until
-- `lease_until`) or processed ('done' at `completed_at`). Times are Unix microseconds from
-- the clock of the host holding the file.
CREATE TABLE compliance_inbox (
    inbox        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('in_progress', 'done')),
    token        TEXT    NOT NULL,
    lease_until  INTEGER NOT NULL,
    completed_at INTEGER,
    PRIMARY KEY (inbox, key),
    CHECK ((state = 'done') = (completed_at IS NOT NULL))
) WITHOUT ROWID;

-- Retention: purge finds old completed keys without reading the claimed ones.
CREATE INDEX compliance_inbox_completed
    ON compliance_inbox (inbox, completed_at) WHERE state = 'done';

-- One row per applicant, written by compare-and-swap on `version`. Timestamps are RFC 3339
-- UTC text with nine fractional digits (exact, and sorting in time order); `aml_status` is
-- compliance-core's JSON form of the neutral status.
CREATE TABLE compliance_applicants (
    provider            TEXT    NOT NULL,
    provider_id         TEXT    NOT NULL,
    external_user_id    TEXT,
    provider_status     TEXT    NOT NULL,
    aml_status          TEXT    NOT NULL,
    provider_updated_at TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    version             INTEGER NOT NULL CHECK (version >= 1),
    PRIMARY KEY (provider, provider_id)
);

CREATE INDEX compliance_applicants_external_user
    ON compliance_applicants (provider, external_user_id) WHERE external_user_id IS NOT NULL;
