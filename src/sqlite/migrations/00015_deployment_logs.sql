-- A deployment's last runtime lines, captured when the reconciler removes its containers (issue 15):
-- a JSON array of log lines (timestamp, stream, replica, text), at most 500 lines / 256 KB. A table of
-- its own so deployment lists never read it; it goes with its deployment.
CREATE TABLE deployment_logs (
  deployment_id TEXT PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
  lines TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
