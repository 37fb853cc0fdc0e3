-- Lists are "newest first" within a parent: these indexes serve the ORDER BY without a temp sort
-- (the rowid tie-breaker comes free with every index entry).
CREATE INDEX idx_services_project_created ON services(project_id, created_at);
CREATE INDEX idx_deployments_service_created ON deployments(service_id, created_at);
CREATE INDEX idx_containers_service_created ON containers(service_id, created_at);
CREATE INDEX idx_projects_created ON projects(created_at);
CREATE INDEX idx_users_created ON users(created_at);
CREATE INDEX idx_pending_changes_project_seq ON pending_changes(project_id, seq);
