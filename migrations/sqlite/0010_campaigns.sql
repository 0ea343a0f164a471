-- Campaigns: who hears what in which A/B arm, and each person's arm (the holdout too, so lift
-- can be measured). A campaign's variants and audience criteria are JSON documents read and
-- written whole; the deliveries it queues carry its id and the variant's key.

CREATE TABLE campaigns (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    channel TEXT NOT NULL,
    audience TEXT NOT NULL,
    variants TEXT NOT NULL,
    holdout_percent INTEGER NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    repeat_days INTEGER,
    send_window_start TEXT,
    send_window_end TEXT,
    conversion_days INTEGER NOT NULL,
    created_by BLOB REFERENCES staff(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    activated_at TEXT,
    completed_at TEXT,
    -- The latest engagement run that sent for it (a one-off without an end sends in one).
    last_run_at TEXT
);
CREATE INDEX campaigns_org ON campaigns(org_id, created_at, id);
CREATE INDEX campaigns_live ON campaigns(org_id) WHERE status = 'active';

CREATE TABLE campaign_assignments (
    campaign_id BLOB NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    person_id BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    arm TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    -- When a message of the campaign was last queued for them (none yet: skipped so far, or
    -- in the holdout, which is recorded at once).
    last_round_at TEXT,
    PRIMARY KEY (campaign_id, person_id)
);
CREATE INDEX campaign_assignments_arm ON campaign_assignments(campaign_id, arm);

-- A campaign's messages by status: whether any is unsettled, and its results per variant.
CREATE INDEX deliveries_campaign ON deliveries(campaign_id, status, variant) WHERE campaign_id IS NOT NULL;
