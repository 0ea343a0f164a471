-- Idempotency-Key on every write of the API: the first response to each key, per organisation,
-- kept for 24 hours. `status` is NULL while the first request is still being answered.
CREATE TABLE idempotency_keys (
    org_id UUID NOT NULL REFERENCES organisations(id),
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
