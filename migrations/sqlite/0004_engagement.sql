-- Engagement: each person's activity roll-up (kept up to date as events arrive) with the
-- segment, churn risk and labels the run computes and the run's latest decision about them;
-- the organisation's engagement policy; the runs; and secrets the installation generates once.
-- Instants in person_engagement are whole seconds since 1970, so the run's arithmetic is the
-- same SQL on both databases.

CREATE TABLE person_engagement (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    joined_s INTEGER NOT NULL,
    last_active_s INTEGER,
    events INTEGER NOT NULL DEFAULT 0,
    window_no INTEGER NOT NULL DEFAULT 0,
    recent INTEGER NOT NULL DEFAULT 0,
    previous INTEGER NOT NULL DEFAULT 0,
    night_recent INTEGER NOT NULL DEFAULT 0,
    night_previous INTEGER NOT NULL DEFAULT 0,
    bookings INTEGER NOT NULL DEFAULT 0,
    first_booking_s INTEGER,
    last_booking_s INTEGER,
    last_service TEXT,
    rebook_due_s INTEGER,
    unanswered INTEGER NOT NULL DEFAULT 0,
    last_nudge_s INTEGER,
    segment TEXT NOT NULL DEFAULT 'new',
    churn_points INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '',
    -- When the score changes next by itself (0: now, after new activity).
    next_score_s INTEGER NOT NULL DEFAULT 0,
    decided_s INTEGER,
    decided_nudge TEXT,
    decided_episode_s INTEGER,
    decided_outcome TEXT,
    decided_reason TEXT,
    recheck_s INTEGER,
    -- When the run should look at the person again (0: now; none: when something changes).
    decide_at_s INTEGER DEFAULT 0,
    decided_delivery_id BLOB
);
-- The run reads people a thousand at a time, in id order.
CREATE INDEX person_engagement_keyset ON person_engagement(org_id, person_id);
CREATE INDEX person_engagement_segment ON person_engagement(org_id, segment);
CREATE INDEX person_engagement_rescore ON person_engagement(org_id, next_score_s);
CREATE INDEX person_engagement_look ON person_engagement(org_id, decide_at_s, person_id)
    WHERE decide_at_s IS NOT NULL;
CREATE INDEX person_engagement_rebook ON person_engagement(org_id, rebook_due_s)
    WHERE rebook_due_s IS NOT NULL;
CREATE INDEX person_engagement_decided ON person_engagement(org_id, decided_s)
    WHERE decided_s IS NOT NULL;

INSERT INTO person_engagement (person_id, org_id, joined_s, last_active_s)
SELECT id, org_id, CAST(strftime('%s', created_at) AS INTEGER),
       CAST(strftime('%s', last_active_at) AS INTEGER)
FROM persons;

CREATE TABLE engagement_policies (
    org_id BLOB PRIMARY KEY NOT NULL REFERENCES organisations(id),
    policy TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE engagement_runs (
    id BLOB PRIMARY KEY NOT NULL,
    org_id BLOB NOT NULL REFERENCES organisations(id),
    started_by TEXT NOT NULL CHECK (started_by IN ('schedule', 'api', 'portal')),
    -- A scheduled run's interval: one run per organisation per interval.
    slot TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    decisions TEXT NOT NULL DEFAULT '[]',
    truncated BOOLEAN NOT NULL DEFAULT FALSE,
    error TEXT
);
CREATE UNIQUE INDEX engagement_runs_slot ON engagement_runs(org_id, slot) WHERE slot IS NOT NULL;
CREATE INDEX engagement_runs_org ON engagement_runs(org_id, started_at);

CREATE TABLE installation_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Engagement messages by when they went, and responses by when they came, for the charts.
CREATE INDEX deliveries_engagement ON deliveries(org_id, sent_at) WHERE kind = 'engagement';
CREATE INDEX delivery_events_responses ON delivery_events(org_id, event, at)
    WHERE event IN ('clicked', 'booked', 'responded', 'replied', 'unsubscribed');
