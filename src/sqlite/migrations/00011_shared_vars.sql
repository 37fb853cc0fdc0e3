-- Issue 14 (references): a 'shared' scope (scope_id = the project) that services only see through
-- ${{shared.KEY}}. SQLite cannot alter a CHECK, so env_vars is rebuilt; the triggers that name it
-- are dropped first (a rename fails while a trigger names a missing table) and made again.
DROP TRIGGER trg_projects_delete_env_vars;
DROP TRIGGER trg_services_delete_env_vars;
DROP TRIGGER trg_canvas_nodes_delete_env_vars;

CREATE TABLE env_vars_new (
  id         TEXT PRIMARY KEY,
  scope      TEXT NOT NULL CHECK (scope IN ('project', 'group', 'service', 'shared')),
  scope_id   TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (scope, scope_id, key)
);
INSERT INTO env_vars_new (id, scope, scope_id, key, value, created_at, updated_at)
  SELECT id, scope, scope_id, key, value, created_at, updated_at FROM env_vars;
DROP TABLE env_vars;
ALTER TABLE env_vars_new RENAME TO env_vars;

-- The RAW editor's last text per scope: its comments, blank lines and key order are laid over the
-- applied variables when the scope is shown as .env again.
CREATE TABLE env_raw (
  scope      TEXT NOT NULL,
  scope_id   TEXT NOT NULL,
  text       TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (scope, scope_id)
);

CREATE TRIGGER trg_projects_delete_env_vars AFTER DELETE ON projects BEGIN
  DELETE FROM env_vars WHERE scope IN ('project', 'shared') AND scope_id = OLD.id;
  DELETE FROM env_raw WHERE scope IN ('project', 'shared') AND scope_id = OLD.id;
END;
CREATE TRIGGER trg_services_delete_env_vars AFTER DELETE ON services BEGIN
  DELETE FROM env_vars WHERE scope = 'service' AND scope_id = OLD.id;
  DELETE FROM env_raw WHERE scope = 'service' AND scope_id = OLD.id;
END;
CREATE TRIGGER trg_canvas_nodes_delete_env_vars AFTER DELETE ON canvas_nodes WHEN OLD.type = 'group' BEGIN
  DELETE FROM env_vars WHERE scope = 'group' AND scope_id = OLD.id;
  DELETE FROM env_raw WHERE scope = 'group' AND scope_id = OLD.id;
END;

-- Deploy order from references: a consumer's deployment waits until the deployments of its
-- providers made by the same Deploy are serving (JSON list of deployment ids).
ALTER TABLE deployments ADD COLUMN wait_for TEXT NOT NULL DEFAULT '[]';
