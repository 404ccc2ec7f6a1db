-- compliance-store schema version 1 (PostgreSQL).

-- One row per delivery key an inbox has seen: claimed ('in_progress', by `token` until
-- `lease_until`) or processed ('done' at `completed_at`). Times come from the server's
-- clock_timestamp(), so instances with skewed clocks agree.
CREATE TABLE compliance_inbox (
    inbox        text        NOT NULL,
    key          text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('in_progress', 'done')),
    token        text        NOT NULL,
    lease_until  timestamptz NOT NULL,
    completed_at timestamptz,
    PRIMARY KEY (inbox, key),
    CHECK ((state = 'done') = (completed_at IS NOT NULL))
);

-- Retention: purge finds old completed keys without reading the claimed ones.
CREATE INDEX compliance_inbox_completed
    ON compliance_inbox (inbox, completed_at) WHERE state = 'done';

-- One row per applicant, written by compare-and-swap on `version`. Timestamps are RFC 3339
-- UTC text with nine fractional digits (exact to the nanosecond, which timestamptz is not,
-- and sorting in time order); `aml_status` is compliance-core's JSON form of the neutral
-- status.
CREATE TABLE compliance_applicants (
    provider            text   NOT NULL,
    provider_id         text   NOT NULL,
    external_user_id    text,
    provider_status     text   NOT NULL,
    aml_status          jsonb  NOT NULL,
    provider_updated_at text,
    created_at          text   NOT NULL,
    updated_at          text   NOT NULL,
    version             bigint NOT NULL CHECK (version >= 1),
    PRIMARY KEY (provider, provider_id)
);

CREATE INDEX compliance_applicants_external_user
    ON compliance_applicants (provider, external_user_id) WHERE external_user_id IS NOT NULL;
