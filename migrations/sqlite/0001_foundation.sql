-- Organisations, staff, sessions, API keys, people and the audit log.
-- Ids are UUIDs (stored as 16-byte BLOBs); times are UTC RFC 3339 text written by the app's clock.

CREATE TABLE organisations (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE staff (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'concierge', 'analyst')),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    last_login_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX staff_org ON staff(org_id, display_name);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    staff_id BLOB NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_keys_org ON api_keys(org_id);

CREATE TABLE persons (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    full_name TEXT NOT NULL,
    preferred_name TEXT,
    person_type TEXT NOT NULL CHECK (person_type IN ('client', 'family_member', 'contact')),
    email TEXT,
    phone TEXT,
    timezone TEXT NOT NULL,
    birthday TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    external_id TEXT,
    notes TEXT,
    search_text TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX persons_directory ON persons(org_id, sort_name, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX persons_external_id ON persons(org_id, external_id)
    WHERE external_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE audit_log (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BLOB,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, created_at);
