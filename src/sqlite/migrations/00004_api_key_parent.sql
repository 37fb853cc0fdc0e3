-- A key created with another API key dies with it (revoked or expired): it may not outlive its parent.
ALTER TABLE api_keys ADD COLUMN parent_id TEXT REFERENCES api_keys(id) ON DELETE CASCADE;
CREATE INDEX idx_api_keys_parent_id ON api_keys(parent_id);
