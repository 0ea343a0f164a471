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
