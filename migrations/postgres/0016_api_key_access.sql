-- API keys that may only read, and keys that stop working at a moment.
ALTER TABLE api_keys ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ;
