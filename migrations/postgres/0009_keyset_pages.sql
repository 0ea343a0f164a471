-- Later pages of the long lists are found by their key (see `db::deliveries::list` and the
-- others): the key of the row before a page is read from an index in the list's order, then
-- the page after it. These indexes hold each list's whole key, so both reads stay inside them.

-- Messages, newest first: (created_at, id), where the old index stopped at created_at (a
-- page's key then needed each row's id from the table, and a sort of the organisation's rows).
CREATE INDEX deliveries_recent ON deliveries(org_id, created_at, id);
DROP INDEX deliveries_org;
CREATE INDEX deliveries_person_recent ON deliveries(org_id, person_id, created_at, id);
DROP INDEX deliveries_person;

-- The audit log, newest first.
CREATE INDEX audit_log_recent ON audit_log(org_id, created_at, id);
DROP INDEX audit_log_org;

-- The vendor catalogue, by name.
CREATE INDEX vendors_name ON vendors(org_id, LOWER(name), id) WHERE deleted_at IS NULL;

-- Reminders and conversations: the person too, so that the key of a deep page is read from the
-- index alone (whether the person was deleted is checked against the few who were).
CREATE INDEX reminder_rules_all_keys ON reminder_rules(org_id, (scheduled_datetime IS NULL), scheduled_datetime, id, person_id);
DROP INDEX reminder_rules_all;
CREATE INDEX reminder_rules_list_keys ON reminder_rules(org_id, status, (scheduled_datetime IS NULL), scheduled_datetime, id, person_id);
DROP INDEX reminder_rules_list;
CREATE INDEX reminder_rules_sent_keys ON reminder_rules(org_id, sent_at, id, person_id) WHERE sent_at IS NOT NULL;
DROP INDEX reminder_rules_sent;
CREATE INDEX conversations_recent_keys ON conversations(org_id, (COALESCE(last_message_at, created_at)), id, person_id);
DROP INDEX conversations_recent;
CREATE INDEX conversations_status_recent_keys ON conversations(org_id, status, (COALESCE(last_message_at, created_at)), id, person_id);
DROP INDEX conversations_status_recent;
