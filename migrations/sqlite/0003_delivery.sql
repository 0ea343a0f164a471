-- The delivery engine: the outbox and message log in one table, each delivery's status
-- history, per-organisation channel settings, in-portal notifications for staff, and the
-- hard-failure count that disables a communication identity.

CREATE TABLE deliveries (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB REFERENCES persons(id) ON DELETE SET NULL,
    staff_id BLOB REFERENCES staff(id),
    identity_id BLOB REFERENCES comm_identities(id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('utility', 'engagement')),
    source TEXT NOT NULL CHECK (source IN ('reminder', 'campaign', 'engagement', 'manual', 'api')),
    channel TEXT NOT NULL,
    address TEXT,
    subject TEXT,
    body TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled')),
    suppression_reason TEXT,
    priority INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    next_attempt_at TEXT,
    lease_owner TEXT,
    lease_expires_at TEXT,
    last_error TEXT,
    transport TEXT,
    provider_message_id TEXT,
    idempotency_key TEXT NOT NULL,
    correlation_id TEXT,
    reminder_rule_id BLOB REFERENCES reminder_rules(id) ON DELETE SET NULL,
    occurrence TEXT,
    conversation_id BLOB REFERENCES conversations(id) ON DELETE SET NULL,
    campaign_id BLOB,
    variant TEXT,
    template TEXT,
    prompt_version TEXT,
    model TEXT,
    safety_checks TEXT NOT NULL DEFAULT '{}',
    response TEXT,
    response_at TEXT,
    sent_at TEXT,
    delivered_at TEXT,
    failed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX deliveries_idempotency ON deliveries(org_id, idempotency_key);
CREATE INDEX deliveries_due ON deliveries(priority, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries(lease_expires_at) WHERE status = 'sending';
CREATE INDEX deliveries_org ON deliveries(org_id, created_at);
CREATE INDEX deliveries_person ON deliveries(org_id, person_id, created_at);
CREATE INDEX deliveries_rule ON deliveries(reminder_rule_id, created_at);
CREATE INDEX deliveries_provider ON deliveries(org_id, provider_message_id);

CREATE TABLE delivery_events (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    delivery_id BLOB NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    detail TEXT,
    at TEXT NOT NULL
);
CREATE INDEX delivery_events_delivery ON delivery_events(delivery_id, at);

CREATE TABLE channel_settings (
    org_id BLOB NOT NULL REFERENCES organisations(id),
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'slack', 'email', 'sms', 'whatsapp')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    config TEXT NOT NULL DEFAULT '{}',
    secrets TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, channel)
);

CREATE TABLE notifications (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    staff_id BLOB NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    delivery_id BLOB REFERENCES deliveries(id) ON DELETE CASCADE,
    person_id BLOB REFERENCES persons(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    read_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_delivery ON notifications(delivery_id, staff_id);
CREATE INDEX notifications_staff ON notifications(staff_id, created_at);

ALTER TABLE comm_identities ADD COLUMN hard_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comm_identities ADD COLUMN disabled_at TEXT;
ALTER TABLE comm_identities ADD COLUMN disabled_reason TEXT;
