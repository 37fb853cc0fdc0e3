-- Issue 12: an HTTP health check. When a path is set, the readiness gate requires a 2xx/3xx answer
-- on it (first container port) instead of the stable window, retried for the timeout. NULL: off.
ALTER TABLE services ADD COLUMN healthcheck_path TEXT;
ALTER TABLE services ADD COLUMN healthcheck_timeout_seconds INTEGER NOT NULL DEFAULT 60;
ALTER TABLE deployments ADD COLUMN healthcheck_path TEXT;
ALTER TABLE deployments ADD COLUMN healthcheck_timeout_seconds INTEGER NOT NULL DEFAULT 60;
