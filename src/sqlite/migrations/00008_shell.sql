-- Audit trail of browser shells (issue 16): who opened a shell in which container, when, for how long.
-- What was typed is never stored. Rows outlive the user, project and service they name (no foreign
-- keys): an audit record must not vanish with what it is about.
CREATE TABLE shell_sessions (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL,
  project_id    TEXT NOT NULL,
  service_id    TEXT NOT NULL,
  container_id  TEXT NOT NULL,
  replica_index INTEGER NOT NULL DEFAULT 0,
  command       TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  ended_at      TEXT,
  duration_ms   INTEGER,
  exit_code     INTEGER
);
CREATE INDEX idx_shell_sessions_started_at ON shell_sessions(started_at);
