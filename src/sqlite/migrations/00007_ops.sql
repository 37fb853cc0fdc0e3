-- Issue 16 (operations): restart policy, pre-deploy command and cron jobs. Each is a staged service
-- setting frozen into the deployment it goes with, like start_command.
-- Restart policy: 'always' (Docker unless-stopped), 'on-failure' (with max retries) or 'never'.
ALTER TABLE services ADD COLUMN restart_policy TEXT NOT NULL DEFAULT 'always';
ALTER TABLE services ADD COLUMN restart_max_retries INTEGER NOT NULL DEFAULT 10;
ALTER TABLE deployments ADD COLUMN restart_policy TEXT NOT NULL DEFAULT 'always';
ALTER TABLE deployments ADD COLUMN restart_max_retries INTEGER NOT NULL DEFAULT 10;
-- Pre-deploy command (JSON argv, run by Docker without a shell); NULL runs none. On a deployment:
-- the resolved command, its state (NULL none, 'running', 'succeeded', 'failed'), exit code and log tail.
ALTER TABLE services ADD COLUMN pre_deploy_command TEXT;
ALTER TABLE deployments ADD COLUMN pre_deploy_command TEXT;
ALTER TABLE deployments ADD COLUMN pre_deploy_status TEXT;
ALTER TABLE deployments ADD COLUMN pre_deploy_exit_code INTEGER;
ALTER TABLE deployments ADD COLUMN pre_deploy_log TEXT;
-- Cron: a 5-field UTC schedule (NULL: a long-running service) and the timeout of one run.
ALTER TABLE services ADD COLUMN cron_schedule TEXT;
ALTER TABLE services ADD COLUMN cron_timeout_seconds INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE deployments ADD COLUMN cron_schedule TEXT;
ALTER TABLE deployments ADD COLUMN cron_timeout_seconds INTEGER NOT NULL DEFAULT 3600;
-- One run of a cron service: started by a tick or "Run now", or skipped because one was running.
CREATE TABLE service_runs (
  id TEXT PRIMARY KEY,
  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  deployment_id TEXT NOT NULL,
  trigger TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  exit_code INTEGER,
  reason TEXT,
  timed_out INTEGER NOT NULL DEFAULT 0,
  log_tail TEXT,
  docker_container_id TEXT
);
CREATE INDEX idx_service_runs_service ON service_runs(service_id, started_at DESC);
CREATE INDEX idx_service_runs_status ON service_runs(status);
