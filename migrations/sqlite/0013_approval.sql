-- The approval queue: an AI-written message waits as `awaiting_approval` until a staff member
-- approves, edits or rejects it, or it expires; who reviewed it and when are kept.
--
-- SQLite cannot change a CHECK constraint with ALTER TABLE. The status check gains a value
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
SET sql = replace(sql, '''suppressed'', ''cancelled''))',
                  '''suppressed'', ''cancelled'', ''awaiting_approval''))')
WHERE type = 'table' AND name = 'deliveries';
PRAGMA writable_schema = OFF;

CREATE INDEX deliveries_awaiting ON deliveries(org_id, created_at, id) WHERE status = 'awaiting_approval';
CREATE INDEX deliveries_approval_expiry ON deliveries(approval_expires_at) WHERE status = 'awaiting_approval';
