-- The calendar's reminders of a day: a range of one organisation's scheduled times, read in
-- order and stopped after the few a day shows. (PostgreSQL rewrites the `(scheduled_datetime
-- IS NULL) = FALSE` the list index needs into `IS NOT NULL`, which that index cannot serve.)
CREATE INDEX reminder_rules_window ON reminder_rules(org_id, scheduled_datetime, id);
