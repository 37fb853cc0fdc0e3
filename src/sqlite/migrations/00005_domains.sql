-- Public domains of a service (issue 12). A hostname is unique across the instance; a domain dies with its service.
CREATE TABLE domains (
  id              TEXT PRIMARY KEY,
  project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  service_id      TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  hostname        TEXT NOT NULL,
  target_port     INTEGER NOT NULL,
  generated       INTEGER NOT NULL DEFAULT 0,
  status          TEXT NOT NULL DEFAULT 'pending',
  cert_issuer     TEXT,
  cert_expires_at TEXT,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_domains_hostname ON domains(hostname);
CREATE INDEX idx_domains_service_id ON domains(service_id);
