-- compliance-store schema version 3 (PostgreSQL).

-- The durable webhook queue: one row per delivery key a queue (one per provider) stored.
-- `body` is the request body byte for byte as received (elKYC's envelope still encrypted)
-- and `headers` the JSON list of [name, value] the verifier needs again (never a
-- credential). A row is 'queued' or 'retrying' (due at `run_at`), 'running' (taken by
-- `token` until `lease_until`), 'done', 'dead' (`last_error` kept) or 'ignored' (authentic,
-- of a type nobody handles; `last_error` says why). Times come from the server's
-- clock_timestamp(); `id` keeps the order of arrival.
CREATE TABLE compliance_queue (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue       text        NOT NULL,
    key         text        NOT NULL,
    state       text        NOT NULL
        CHECK (state IN ('queued', 'running', 'retrying', 'done', 'dead', 'ignored')),
    sequence    text,
    headers     text        NOT NULL,
    body        bytea       NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    replays     integer     NOT NULL DEFAULT 0 CHECK (replays >= 0),
    run_at      timestamptz NOT NULL,
    token       text,
    lease_until timestamptz,
    last_error  text,
    received_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (queue, key),
    CHECK ((state = 'running') = (token IS NOT NULL AND lease_until IS NOT NULL))
);

-- What a worker takes (FOR UPDATE SKIP LOCKED): due rows in order of arrival, and running
-- rows whose lease ran out.
CREATE INDEX compliance_queue_due
    ON compliance_queue (queue, run_at, id) WHERE state IN ('queued', 'retrying');
CREATE INDEX compliance_queue_running
    ON compliance_queue (queue, lease_until) WHERE state = 'running';
-- Operators' lists by state, and retention.
CREATE INDEX compliance_queue_state ON compliance_queue (queue, state, updated_at);
