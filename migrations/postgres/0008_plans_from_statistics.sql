-- Home's due and overdue reminders (status, then time): PostgreSQL rewrites the
-- `(scheduled_datetime IS NULL) = FALSE` that `reminder_rules_list` is built for into IS NOT NULL,
-- so since `reminder_rules_window` exists it walked every reminder of the organisation in time
-- order looking for pending ones (110 ms at 1,000,000 dates). This index reads them in order.
CREATE INDEX reminder_rules_status_due ON reminder_rules(org_id, status, scheduled_datetime, id);

-- A tag filter is `LOWER(CAST(tags AS TEXT)) LIKE '%"tag"%'`. Without statistics on that
-- expression the planner took every tag for a rare one (5 rows expected, 12,000 found, all sorted:
-- 55 ms); an index on the expression gives ANALYZE something to measure, so a common tag walks
-- the name index and stops after a page (0.8 ms), and a rare one is found through this index.
CREATE INDEX persons_tags ON persons USING gin (LOWER(CAST(tags AS TEXT)) gin_trgm_ops);
