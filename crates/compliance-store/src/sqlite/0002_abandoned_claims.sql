-- compliance-store schema version 2 (SQLite).

-- Retention of abandoned claims: purge finds claims whose lease ran out long ago (a holder
-- that crashed, a delivery that never came again) without reading the completed keys.
CREATE INDEX compliance_inbox_claimed
    ON compliance_inbox (inbox, lease_until) WHERE state = 'in_progress';
