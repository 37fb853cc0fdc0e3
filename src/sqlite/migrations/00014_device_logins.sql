-- Device logins (`deploykit login` in a browser): only the digest of the CLI's secret code is kept;
-- the API key is minted when the CLI polls an approved code, and the row is deleted then.
CREATE TABLE device_logins (
  id TEXT PRIMARY KEY,
  device_code_hash TEXT NOT NULL UNIQUE,
  user_code TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX idx_device_logins_expires_at ON device_logins(expires_at);
