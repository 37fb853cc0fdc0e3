-- Seconds a stopping container gets between its stop signal and SIGKILL. A service with a volume is
-- redeployed stop-first, and a database needs this time to shut down cleanly before the next one starts.
ALTER TABLE services ADD COLUMN stop_grace_seconds INTEGER NOT NULL DEFAULT 30;
ALTER TABLE deployments ADD COLUMN stop_grace_seconds INTEGER NOT NULL DEFAULT 30;
-- The container's command (JSON argv, run by Docker without a shell); NULL keeps the image's CMD.
ALTER TABLE services ADD COLUMN start_command TEXT;
ALTER TABLE deployments ADD COLUMN start_command TEXT;
-- The Restart action: containers of the serving deployment started before this are restarted, one
-- replica at a time, each back through the readiness gate.
ALTER TABLE services ADD COLUMN restart_requested_at TEXT;
-- The container's entrypoint (JSON argv); NULL keeps the image's ENTRYPOINT.
ALTER TABLE services ADD COLUMN entrypoint TEXT;
ALTER TABLE deployments ADD COLUMN entrypoint TEXT;
