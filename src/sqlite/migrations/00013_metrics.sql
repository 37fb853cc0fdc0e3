-- Service metrics (issue 15). One table holds every tier: raw collector samples (tier 0, one row per
-- container and interval) and the 1-minute and 10-minute roll-ups (tier = bucket width in ms, one row
-- per replica and bucket, concurrent containers of a replica summed). Pruned per tier on a timer.
-- No foreign keys: a deleted service's points age out with their tier instead of costing a cascade.
-- Points name their service by a small integer (metric_series): two 36-character ids in every row,
-- its key and its index would double the table (millions of rows at 300 containers).
CREATE TABLE metric_series (
  id         INTEGER PRIMARY KEY,
  service_id TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL
);
CREATE TABLE metric_points (
  tier                  INTEGER NOT NULL,
  series                INTEGER NOT NULL,
  ts                    INTEGER NOT NULL,
  replica               INTEGER NOT NULL,
  container             TEXT NOT NULL,
  n                     INTEGER NOT NULL DEFAULT 1,
  cpu_pct               REAL,
  cpu_pct_max           REAL,
  cpu_limit_pct         REAL,
  mem_bytes             REAL,
  mem_bytes_max         REAL,
  mem_limit_bytes       REAL,
  mem_nocache_bytes     REAL,
  mem_nocache_bytes_max REAL,
  net_rx_bps            REAL,
  net_tx_bps            REAL,
  blk_read_bps          REAL,
  blk_write_bps         REAL,
  restarts              INTEGER,
  PRIMARY KEY (series, tier, ts, replica, container)
) WITHOUT ROWID;
CREATE INDEX idx_metric_points_tier_ts ON metric_points(tier, ts);

-- How far each roll-up tier has been computed (exclusive bucket end, ms since the epoch).
CREATE TABLE metric_rollups (
  tier       INTEGER PRIMARY KEY,
  done_until INTEGER NOT NULL
);

-- Failed-deployment markers (created and serving come from the deployments table).
CREATE TABLE metric_markers (
  service_id    TEXT NOT NULL,
  deployment_id TEXT NOT NULL,
  kind          TEXT NOT NULL,
  at            TEXT NOT NULL,
  PRIMARY KEY (service_id, at, deployment_id, kind)
) WITHOUT ROWID;
