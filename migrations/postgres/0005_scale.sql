-- Scale: every list a page offers reads through an index in the order it shows.

-- Reminders: by status (or all), soonest due first with those that have no due time last;
-- the sent ones most recently sent first.
CREATE INDEX reminder_rules_list ON reminder_rules(org_id, status, (scheduled_datetime IS NULL), scheduled_datetime, id);
CREATE INDEX reminder_rules_all ON reminder_rules(org_id, (scheduled_datetime IS NULL), scheduled_datetime, id);
CREATE INDEX reminder_rules_sent ON reminder_rules(org_id, sent_at, id) WHERE sent_at IS NOT NULL;
DROP INDEX reminder_rules_org;

-- The calendar finds a day's dates through `occurs_on`: `YYYY-MM-DD` for a date that does not
-- repeat, `*-MM-DD` for one that repeats every year on its day, NULL for any other rule (the
-- few of those are expanded one by one). Written by the application from the parsed rule; here
-- the stored rows get it from the plain spellings of "yearly", anything else staying NULL.
ALTER TABLE date_items ADD COLUMN occurs_on TEXT;
UPDATE date_items SET occurs_on = CASE
    WHEN recurrence_rule IS NULL THEN to_char(date_value, 'YYYY-MM-DD')
    WHEN lower(trim(recurrence_rule)) IN ('yearly', 'annually', 'freq=yearly', 'rrule:freq=yearly') THEN '*-' || to_char(date_value, 'MM-DD')
    ELSE NULL END;
CREATE INDEX date_items_day ON date_items(org_id, occurs_on, id);
CREATE INDEX date_items_repeating ON date_items(org_id) WHERE occurs_on IS NULL;

-- Conversations, latest first (by status or all).
CREATE INDEX conversations_recent ON conversations(org_id, (COALESCE(last_message_at, created_at)), id);
CREATE INDEX conversations_status_recent ON conversations(org_id, status, (COALESCE(last_message_at, created_at)), id);

-- Projects, most urgent first (by status or all).
CREATE INDEX projects_list ON projects(org_id, priority, (due_date IS NULL), due_date, updated_at DESC, id);
CREATE INDEX projects_status_list ON projects(org_id, status, priority, (due_date IS NULL), due_date, updated_at DESC, id);

-- Search: the directory's and the API's search (name, e-mail, phone, external id, tags: the
-- person's search_text) through a trigram index, which serves LIKE '%…%' for any part of
-- three letters or more and the word similarity of a name half remembered. pg_trgm ships
-- with PostgreSQL and is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX persons_search ON persons USING gin (search_text gin_trgm_ops);

-- The Messages log, newest first, by status, kind or channel.
CREATE INDEX deliveries_status ON deliveries(org_id, status, created_at, id);
CREATE INDEX deliveries_kind ON deliveries(org_id, kind, created_at, id);
CREATE INDEX deliveries_channel ON deliveries(org_id, channel, created_at, id);

-- Counts read from indexes: people by type (Home's number of clients), and the few deleted
-- people whose rows a count of conversations or of a segment takes away.
CREATE INDEX persons_type ON persons(org_id, person_type) WHERE deleted_at IS NULL;
CREATE INDEX persons_deleted ON persons(org_id) WHERE deleted_at IS NOT NULL;
