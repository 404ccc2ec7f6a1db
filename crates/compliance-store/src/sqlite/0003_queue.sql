-- compliance-store schema version 3 (SQLite).

-- The durable webhook queue: one row per delivery key a queue (one per provider) stored.
-- `body` is the request body byte for byte as received (elKYC's envelope still encrypted)
-- and `headers` the JSON list of [name, value] the verifier needs again (never a
-- credential). A row is 'queued' or 'retrying' (due at `run_at`), 'running' (taken by
-- `token` until `lease_until`), 'done', 'dead' (`last_error` kept) or 'ignored' (authentic,
-- of a type nobody handles; `last_error` says why). Times are Unix microseconds from the
-- clock of the host holding the file; `id` keeps the order of arrival.
CREATE TABLE compliance_queue (
    id          INTEGER PRIMARY KEY,
    queue       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('queued', 'running', 'retrying', 'done', 'dead', 'ignored')),
    sequence    TEXT,
    headers     TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    replays     INTEGER NOT NULL DEFAULT 0 CHECK (replays >= 0),
    run_at      INTEGER NOT NULL,
    token       TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (queue, key),
    CHECK ((state = 'running') = (token IS NOT NULL AND lease_until IS NOT NULL))
);

-- What a worker takes: due rows in order of arrival, and running rows whose lease ran out.
CREATE INDEX compliance_queue_due
    ON compliance_queue (queue, run_at, id) WHERE state IN ('queued', 'retrying');
CREATE INDEX compliance_queue_running
    ON compliance_queue (queue, lease_until) WHERE state = 'running';
-- Operators' lists by state, and retention.
CREATE INDEX compliance_queue_state ON compliance_queue (queue, state, updated_at);
