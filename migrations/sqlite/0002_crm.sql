-- The CRM core: people completed, communication identities, important dates with their
-- categories and reminder rules, projects and tasks, conversations and messages, the vendor
-- catalogue with recommendations, and activity events.

ALTER TABLE persons ADD COLUMN locale TEXT;
ALTER TABLE persons ADD COLUMN related_person_id BLOB REFERENCES persons(id);
ALTER TABLE persons ADD COLUMN relationship TEXT;
ALTER TABLE persons ADD COLUMN assigned_staff_id BLOB REFERENCES staff(id);
ALTER TABLE persons ADD COLUMN last_active_at TEXT;
ALTER TABLE persons ADD COLUMN marketing_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE persons ADD COLUMN consent_at TEXT;
ALTER TABLE persons ADD COLUMN consent_source TEXT;
CREATE INDEX persons_assigned ON persons(org_id, assigned_staff_id) WHERE deleted_at IS NULL;
CREATE INDEX persons_related ON persons(related_person_id) WHERE related_person_id IS NOT NULL;

ALTER TABLE staff ADD COLUMN calendar_token_hash TEXT;
CREATE UNIQUE INDEX staff_calendar_token ON staff(calendar_token_hash) WHERE calendar_token_hash IS NOT NULL;

CREATE TABLE comm_identities (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp', 'slack', 'webhook')),
    address TEXT NOT NULL,
    preferred BOOLEAN NOT NULL DEFAULT FALSE,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    opted_out_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX comm_identities_address ON comm_identities(person_id, channel, address);
CREATE INDEX comm_identities_org ON comm_identities(org_id, channel, address);

CREATE TABLE date_categories (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    icon TEXT NOT NULL,
    color TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX date_categories_name ON date_categories(org_id, name_key);

CREATE TABLE date_items (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    category_id BLOB REFERENCES date_categories(id),
    title TEXT NOT NULL,
    date_value TEXT NOT NULL,
    recurrence_rule TEXT,
    next_occurrence TEXT,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX date_items_person ON date_items(person_id, next_occurrence);
CREATE INDEX date_items_upcoming ON date_items(org_id, next_occurrence);
CREATE INDEX date_items_category ON date_items(category_id);

CREATE TABLE reminder_rules (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    date_item_id BLOB REFERENCES date_items(id) ON DELETE CASCADE,
    reminder_type TEXT NOT NULL CHECK (reminder_type IN ('lead_time', 'scheduled')),
    lead_time_days INTEGER,
    time_of_day TEXT,
    channel_type TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('client', 'staff')),
    message TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    occurrence_date TEXT,
    last_sent_occurrence TEXT,
    scheduled_datetime TEXT,
    sent_at TEXT,
    last_error TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX reminder_rules_due ON reminder_rules(status, scheduled_datetime);
CREATE INDEX reminder_rules_org ON reminder_rules(org_id, scheduled_datetime);
CREATE INDEX reminder_rules_item ON reminder_rules(date_item_id);
CREATE INDEX reminder_rules_person ON reminder_rules(person_id);

CREATE TABLE projects (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB REFERENCES persons(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('new', 'in_progress', 'completed', 'cancelled')),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    due_date TEXT,
    assigned_staff_id BLOB REFERENCES staff(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX projects_org ON projects(org_id, status, updated_at);
CREATE INDEX projects_person ON projects(person_id);

CREATE TABLE tasks (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    project_id BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('todo', 'in_progress', 'done')),
    due_date TEXT,
    assigned_staff_id BLOB REFERENCES staff(id),
    position INTEGER NOT NULL,
    completed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tasks_project ON tasks(project_id, position);
CREATE INDEX tasks_assignee ON tasks(org_id, assigned_staff_id, status);

CREATE TABLE conversations (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    channel_type TEXT NOT NULL,
    subject TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    last_message_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conversations_org ON conversations(org_id, last_message_at);
CREATE INDEX conversations_person ON conversations(person_id, last_message_at);

CREATE TABLE messages (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    conversation_id BLOB NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    author TEXT NOT NULL,
    author_staff_id BLOB REFERENCES staff(id),
    body TEXT NOT NULL,
    delivery_id BLOB,
    created_at TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, created_at);

CREATE TABLE vendors (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('venue', 'restaurant', 'vendor', 'product')),
    location TEXT,
    price_level INTEGER CHECK (price_level BETWEEN 1 AND 4),
    rating REAL CHECK (rating >= 0 AND rating <= 5),
    tags TEXT NOT NULL DEFAULT '[]',
    website TEXT,
    notes TEXT,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX vendors_org ON vendors(org_id, kind, name) WHERE deleted_at IS NULL;

CREATE TABLE recommendations (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    vendor_id BLOB NOT NULL REFERENCES vendors(id),
    person_id BLOB REFERENCES persons(id) ON DELETE CASCADE,
    project_id BLOB REFERENCES projects(id) ON DELETE CASCADE,
    notes TEXT,
    status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'declined')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (person_id IS NOT NULL OR project_id IS NOT NULL)
);
CREATE INDEX recommendations_person ON recommendations(person_id, created_at);
CREATE INDEX recommendations_project ON recommendations(project_id, created_at);
CREATE INDEX recommendations_org ON recommendations(org_id, created_at);

CREATE TABLE activity_events (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX activity_events_person ON activity_events(person_id, occurred_at);
CREATE INDEX activity_events_org ON activity_events(org_id, name, occurred_at);

-- Organisations that existed before this migration get the default categories too.
WITH c(name, icon, color) AS (VALUES
    ('Birthday', '🎂', '#e4572e'),
    ('Anniversary', '💑', '#c03c8c'),
    ('Club Renewal', '🎾', '#2e86ab'),
    ('Property Maintenance', '🏠', '#6a994e'),
    ('School Event', '🎓', '#f2a541'),
    ('Travel', '✈️', '#5c6bc0')
)
INSERT INTO date_categories (id, org_id, name, name_key, icon, color, created_at, updated_at)
SELECT randomblob(16), o.id, c.name, lower(c.name), c.icon, c.color, o.created_at, o.created_at
FROM organisations o CROSS JOIN c;
