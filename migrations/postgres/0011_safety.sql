-- The safety filter looks up what a message mentions — a name, an e-mail address, a phone
-- number — among the organisation's people, so that no message carries someone else's.
CREATE INDEX persons_full_name ON persons(org_id, full_name) WHERE deleted_at IS NULL;
CREATE INDEX persons_email_lower ON persons(org_id, LOWER(email)) WHERE deleted_at IS NULL;
CREATE INDEX persons_phone ON persons(org_id, phone) WHERE deleted_at IS NULL;
