-- Issue 13: deploy from source. A service's git source (staged settings like the image; NULL repo_url:
-- it runs its image) and the secret its push webhook is signed with.
ALTER TABLE services ADD COLUMN repo_url TEXT;
ALTER TABLE services ADD COLUMN branch TEXT;
ALTER TABLE services ADD COLUMN root_dir TEXT;
ALTER TABLE services ADD COLUMN dockerfile_path TEXT;
ALTER TABLE services ADD COLUMN webhook_secret TEXT;
-- Private repositories: the private half of the service's generated deploy key (OpenSSH format), or an
-- access token for https. Secrets: never returned by the API.
ALTER TABLE services ADD COLUMN deploy_key TEXT;
ALTER TABLE services ADD COLUMN git_token TEXT;
-- A deployment's timeline: the current phase and every phase with its times (JSON), what it was built
-- from (JSON, NULL: an image as given) and the commit it built.
ALTER TABLE deployments ADD COLUMN phase TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE deployments ADD COLUMN phases TEXT;
ALTER TABLE deployments ADD COLUMN build_source TEXT;
ALTER TABLE deployments ADD COLUMN commit_sha TEXT;
ALTER TABLE deployments ADD COLUMN commit_message TEXT;
-- Deployments that existed before phases: their status says where they ended.
UPDATE deployments SET phase = CASE status
  WHEN 'healthy' THEN 'serving' WHEN 'superseded' THEN 'serving' WHEN 'failed' THEN 'failed'
  WHEN 'cancelled' THEN 'cancelled' WHEN 'starting' THEN 'starting' ELSE 'queued' END;
-- The build log of a deployment (its last MiB), kept apart so deployment lists stay small.
CREATE TABLE build_logs (
  deployment_id TEXT PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
  log TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX deployments_build_queue ON deployments (phase, status);
