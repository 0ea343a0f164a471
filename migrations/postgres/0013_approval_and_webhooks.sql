-- The approval queue: an AI-written message waits as `awaiting_approval` until a staff member
-- approves, edits or rejects it, or it expires; who reviewed it and when are kept. And event
-- webhooks, whose events are deliveries from the source `event`.

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN
    ('pending', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled', 'awaiting_approval'));
ALTER TABLE deliveries ADD COLUMN approval_expires_at TIMESTAMPTZ;
ALTER TABLE deliveries ADD COLUMN reviewed_by UUID REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE deliveries ADD COLUMN reviewed_at TIMESTAMPTZ;
CREATE INDEX deliveries_awaiting ON deliveries(org_id, created_at, id) WHERE status = 'awaiting_approval';
CREATE INDEX deliveries_approval_expiry ON deliveries(approval_expires_at) WHERE status = 'awaiting_approval';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_source_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_source_check CHECK (source IN
    ('reminder', 'campaign', 'engagement', 'manual', 'api', 'event'));

-- Event webhooks: an organisation's endpoints, each told of the delivery events it chose,
-- signed with its own secret (Standard Webhooks). The events travel through the outbox as
-- deliveries of their own (source `event`).
CREATE TABLE event_subscriptions (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events JSONB NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX event_subscriptions_org ON event_subscriptions(org_id, created_at);
