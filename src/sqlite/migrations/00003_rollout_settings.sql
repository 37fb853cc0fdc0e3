-- Seconds a stopping container gets between its stop signal and SIGKILL. A service with a volume is
-- redeployed stop-first, and a database needs this time to shut down cleanly before the next one starts.
ALTER TABLE services ADD COLUMN stop_grace_seconds INTEGER NOT NULL DEFAULT 30;
ALTER TABLE deployments ADD COLUMN stop_grace_seconds INTEGER NOT NULL DEFAULT 30;
-- The container's command (JSON argv, run by Docker without a shell); NULL keeps the image's CMD.
ALTER TABLE services ADD COLUMN start_command TEXT;
ALTER TABLE deployments ADD COLUMN start_command TEXT;
