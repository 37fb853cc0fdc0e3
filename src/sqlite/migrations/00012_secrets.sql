-- Variable values are encrypted at rest (issue 14). The values themselves are sealed by a start-up
-- step after the migrations (SQL has no AES); this row proves which key sealed them, so a daemon
-- started with the wrong key refuses plainly instead of failing on the first read.
CREATE TABLE secret_state (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  key_check  TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- A sealed variable's value is write-only: never returned by the API or sent to the canvas.
ALTER TABLE env_vars ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

-- The keys of a deployment's env snapshot that came from sealed variables: their values (and any
-- command they were substituted into) are left out wherever the deployment is presented.
ALTER TABLE deployments ADD COLUMN sealed_keys TEXT NOT NULL DEFAULT '[]';
