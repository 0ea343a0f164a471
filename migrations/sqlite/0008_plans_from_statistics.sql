-- Kept in step with the PostgreSQL migrations. SQLite needs neither of their indexes: it
-- matches the expression of `reminder_rules_list` as written, and a tag filter that matches
-- many clients is read in name order on purpose (`persons::Filter::common`).
SELECT 1;
