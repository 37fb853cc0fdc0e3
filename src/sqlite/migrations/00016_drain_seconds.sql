-- Issue 12: how long superseded containers keep running after the proxy's route and the service name
-- moved to the new ones, before their stop signal. A service setting read at each switch-over (no
-- deployment column: changing it needs no new deployment).
ALTER TABLE services ADD COLUMN drain_seconds INTEGER NOT NULL DEFAULT 5;
