-- DeployKit schema, version 1. Timestamps are RFC 3339 UTC strings with milliseconds (sortable as text).

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE projects (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  slug       TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX idx_users_role ON users(role);

CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY,
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  access_token_hash  TEXT NOT NULL UNIQUE,
  refresh_token_hash TEXT NOT NULL UNIQUE,
  expires_at         TEXT NOT NULL,
  refresh_expires_at TEXT NOT NULL,
  created_at         TEXT NOT NULL
);
CREATE INDEX idx_sessions_user_id ON sessions(user_id);
CREATE INDEX idx_sessions_refresh_expires_at ON sessions(refresh_expires_at);

-- Digests of refresh tokens already rotated away: presenting one again is a theft signal.
CREATE TABLE rotated_refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  rotated_at TEXT NOT NULL
);
CREATE INDEX idx_rotated_refresh_tokens_session_id ON rotated_refresh_tokens(session_id);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  description  TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  expires_at   TEXT,
  last_used_at TEXT,
  created_at   TEXT NOT NULL
);
CREATE INDEX idx_api_keys_user_id ON api_keys(user_id);

CREATE TABLE services (
  id                   TEXT PRIMARY KEY,
  project_id           TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name                 TEXT NOT NULL,
  status               TEXT NOT NULL DEFAULT 'created',
  icon_url             TEXT,
  active_deployment_id TEXT,
  image                TEXT NOT NULL DEFAULT '',
  ports                TEXT NOT NULL DEFAULT '[]',
  volumes              TEXT NOT NULL DEFAULT '[]',
  resources            TEXT,
  replicas             INTEGER NOT NULL DEFAULT 1,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
);
CREATE INDEX idx_services_project_id ON services(project_id);
CREATE UNIQUE INDEX idx_services_project_name ON services(project_id, name COLLATE NOCASE);

CREATE TABLE deployments (
  id                     TEXT PRIMARY KEY,
  service_id             TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  image                  TEXT NOT NULL,
  env_vars               TEXT NOT NULL DEFAULT '{}',
  ports                  TEXT NOT NULL DEFAULT '[]',
  volumes                TEXT NOT NULL DEFAULT '[]',
  resources              TEXT,
  replicas               INTEGER NOT NULL DEFAULT 1,
  status                 TEXT NOT NULL DEFAULT 'pending',
  failure_reason         TEXT,
  exit_code              INTEGER,
  log_tail               TEXT,
  attempt_count          INTEGER NOT NULL DEFAULT 0,
  baseline_restart_count INTEGER NOT NULL DEFAULT 0,
  started_at             TEXT,
  healthy_at             TEXT,
  created_at             TEXT NOT NULL
);
CREATE INDEX idx_deployments_service_id ON deployments(service_id);
CREATE INDEX idx_deployments_status ON deployments(status);

CREATE TABLE containers (
  id                  TEXT PRIMARY KEY,
  service_id          TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  deployment_id       TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  docker_container_id TEXT NOT NULL,
  replica_index       INTEGER NOT NULL DEFAULT 0,
  status              TEXT NOT NULL DEFAULT 'created',
  created_at          TEXT NOT NULL
);
CREATE INDEX idx_containers_service_id ON containers(service_id);
CREATE INDEX idx_containers_deployment_id ON containers(deployment_id);
CREATE INDEX idx_containers_docker_container_id ON containers(docker_container_id);

CREATE TABLE canvas_nodes (
  id         TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  type       TEXT NOT NULL DEFAULT 'service',
  label      TEXT NOT NULL DEFAULT '',
  position_x REAL NOT NULL DEFAULT 0,
  position_y REAL NOT NULL DEFAULT 0,
  width      REAL,
  height     REAL,
  service_id TEXT REFERENCES services(id) ON DELETE SET NULL,
  parent_id  TEXT REFERENCES canvas_nodes(id) ON DELETE SET NULL,
  data       TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX idx_canvas_nodes_project_id ON canvas_nodes(project_id);
CREATE UNIQUE INDEX idx_canvas_nodes_service_id ON canvas_nodes(service_id) WHERE service_id IS NOT NULL;
CREATE INDEX idx_canvas_nodes_parent_id ON canvas_nodes(parent_id);

CREATE TABLE canvas_edges (
  id         TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  source_id  TEXT NOT NULL REFERENCES canvas_nodes(id) ON DELETE CASCADE,
  target_id  TEXT NOT NULL REFERENCES canvas_nodes(id) ON DELETE CASCADE,
  label      TEXT,
  data       TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX idx_canvas_edges_project_id ON canvas_edges(project_id);
CREATE INDEX idx_canvas_edges_source_id ON canvas_edges(source_id);
CREATE INDEX idx_canvas_edges_target_id ON canvas_edges(target_id);

-- Polymorphic owner (project, group node or service), so cascades are triggers, not foreign keys.
CREATE TABLE env_vars (
  id         TEXT PRIMARY KEY,
  scope      TEXT NOT NULL CHECK (scope IN ('project', 'group', 'service')),
  scope_id   TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (scope, scope_id, key)
);

CREATE TRIGGER trg_projects_delete_env_vars AFTER DELETE ON projects BEGIN
  DELETE FROM env_vars WHERE scope = 'project' AND scope_id = OLD.id;
END;
CREATE TRIGGER trg_services_delete_env_vars AFTER DELETE ON services BEGIN
  DELETE FROM env_vars WHERE scope = 'service' AND scope_id = OLD.id;
END;
CREATE TRIGGER trg_canvas_nodes_delete_env_vars AFTER DELETE ON canvas_nodes WHEN OLD.type = 'group' BEGIN
  DELETE FROM env_vars WHERE scope = 'group' AND scope_id = OLD.id;
END;

CREATE TABLE pending_changes (
  id             TEXT PRIMARY KEY,
  project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  seq            INTEGER NOT NULL,
  op             TEXT NOT NULL,
  target_type    TEXT NOT NULL,
  target_id      TEXT,
  target_temp_id TEXT,
  parent_temp_id TEXT,
  payload        TEXT NOT NULL DEFAULT '{}',
  user_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at     TEXT NOT NULL,
  CHECK (target_id IS NOT NULL OR target_temp_id IS NOT NULL OR parent_temp_id IS NOT NULL),
  UNIQUE (project_id, seq)
);
