-- The approval queue: an AI-written message waits as `awaiting_approval` until a staff member
-- approves, edits or rejects it, or it expires; who reviewed it and when are kept. And event
-- webhooks, whose events are deliveries from the source `event`.
--
-- SQLite cannot change a CHECK constraint with ALTER TABLE. The status and source checks each
-- gain a value
-- (so every row already there still meets it) the way SQLite documents for loosening a
-- constraint (https://sqlite.org/lang_altertable.html#otheralter): the table's definition is
-- edited in sqlite_schema, and the DDL after it moves the schema version on, so every
-- connection reads the new definition (the one that ran this is closed after the migrations:
-- `Db::migrate`). The columns are added first, by ALTER TABLE, before the text is edited.

ALTER TABLE deliveries ADD COLUMN approval_expires_at TEXT;
ALTER TABLE deliveries ADD COLUMN reviewed_by BLOB REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE deliveries ADD COLUMN reviewed_at TEXT;

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(replace(sql,
        '''suppressed'', ''cancelled''))', '''suppressed'', ''cancelled'', ''awaiting_approval''))'),
        '''manual'', ''api''))', '''manual'', ''api'', ''event''))')
WHERE type = 'table' AND name = 'deliveries';
PRAGMA writable_schema = OFF;

CREATE INDEX deliveries_awaiting ON deliveries(org_id, created_at, id) WHERE status = 'awaiting_approval';
CREATE INDEX deliveries_approval_expiry ON deliveries(approval_expires_at) WHERE status = 'awaiting_approval';

-- Event webhooks: an organisation's endpoints, each told of the delivery events it chose,
-- signed with its own secret (Standard Webhooks). The events travel through the outbox as
-- deliveries of their own (source `event`).
CREATE TABLE event_subscriptions (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX event_subscriptions_org ON event_subscriptions(org_id, created_at);
