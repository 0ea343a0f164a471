-- The approval queue: an AI-written message waits as `awaiting_approval` until a staff member
-- approves, edits or rejects it, or it expires; who reviewed it and when are kept.

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN
    ('pending', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled', 'awaiting_approval'));
ALTER TABLE deliveries ADD COLUMN approval_expires_at TIMESTAMPTZ;
ALTER TABLE deliveries ADD COLUMN reviewed_by UUID REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE deliveries ADD COLUMN reviewed_at TIMESTAMPTZ;
CREATE INDEX deliveries_awaiting ON deliveries(org_id, created_at, id) WHERE status = 'awaiting_approval';
CREATE INDEX deliveries_approval_expiry ON deliveries(approval_expires_at) WHERE status = 'awaiting_approval';
