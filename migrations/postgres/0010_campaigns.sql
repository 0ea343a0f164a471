-- Campaigns: who hears what in which A/B arm, and each person's arm (the holdout too, so lift
-- can be measured). A campaign's variants and audience criteria are JSON documents read and
-- written whole; the deliveries it queues carry its id and the variant's key.

CREATE TABLE campaigns (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    channel TEXT NOT NULL,
    audience JSONB NOT NULL,
    variants JSONB NOT NULL,
    holdout_percent INTEGER NOT NULL,
    starts_at TIMESTAMPTZ,
    ends_at TIMESTAMPTZ,
    repeat_days INTEGER,
    send_window_start TEXT,
    send_window_end TEXT,
    conversion_days INTEGER NOT NULL,
    created_by UUID REFERENCES staff(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    -- The latest engagement run that sent for it (a one-off without an end sends in one).
    last_run_at TIMESTAMPTZ
);
CREATE INDEX campaigns_org ON campaigns(org_id, created_at, id);
CREATE INDEX campaigns_live ON campaigns(org_id) WHERE status = 'active';

CREATE TABLE campaign_assignments (
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    person_id UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organisations(id),
    arm TEXT NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    -- When a message of the campaign was last queued for them (none yet: skipped so far, or
    -- in the holdout, which is recorded at once).
    last_round_at TIMESTAMPTZ,
    PRIMARY KEY (campaign_id, person_id)
);
CREATE INDEX campaign_assignments_arm ON campaign_assignments(campaign_id, arm);

-- A campaign's messages by status: whether any is unsettled, and its results per variant.
CREATE INDEX deliveries_campaign ON deliveries(campaign_id, status, variant) WHERE campaign_id IS NOT NULL;
