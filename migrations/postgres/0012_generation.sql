-- AI-written text: each organisation's OpenAI-compatible model (its key kept in its own column,
-- never read back into a page) and whether what it writes waits for approval, and the prompts
-- of campaign variants with their versions (editing a prompt makes a new version; a delivery
-- names the version that wrote it).

CREATE TABLE model_settings (
    org_id UUID PRIMARY KEY REFERENCES organisations(id),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    timeout_ms INTEGER NOT NULL,
    api_key TEXT NOT NULL DEFAULT '',
    -- AI-written messages wait for a staff member's approval, for at most this many hours.
    require_approval BOOLEAN NOT NULL DEFAULT FALSE,
    approval_hours INTEGER NOT NULL DEFAULT 48,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE prompts (
    org_id UUID NOT NULL REFERENCES organisations(id),
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    version INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_by UUID REFERENCES staff(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, variant, version)
);

