import * as deploykit from "../index.ts";
import type { DB, Param, Tx } from "./db.ts";

const F = deploykit.METRIC_FIELDS;
/** Fields that keep a maximum next to the average. */
const MAXED = ["cpu_pct", "mem_bytes", "mem_nocache_bytes"] as const;
/** Roll-ups wait this long past a bucket's end for the collector's last samples of it. */
export const ROLLUP_GRACE_MS = 30_000;

/**
 * Buckets `tier` rows of [from, to) by `step`: per container the average (and maximum) over time,
 * then summed over the containers (and replicas) that ran at once. `by` adds grouping columns.
 */
function bucketSQL(by: string, where: string, step: number): string {
  const inner = [
    `series, replica, container, (ts / ${step}) * ${step} AS b, SUM(n) AS n`,
    ...F.map((f) => (f === "restarts" ? "MAX(restarts) AS restarts" : `AVG(${f}) AS ${f}`)),
    ...MAXED.map((f) => `MAX(COALESCE(${f}_max, ${f})) AS ${f}_max`),
  ].join(", ");
  const outer = [`${by}b AS ts, MAX(n) AS n`, ...F.map((f) => `SUM(${f}) AS ${f}`), ...MAXED.map((f) => `SUM(${f}_max) AS ${f}_max`)].join(
    ", ",
  );
  return `SELECT ${outer} FROM (SELECT ${inner} FROM metric_points WHERE ${where} GROUP BY series, replica, container, b) GROUP BY ${by}b`;
}

/** Rows already on the grid (the tier's bucket is the step): a sum over replicas and containers per bucket, in index order. */
function onGridSQL(where: string): string {
  const cols = [
    "ts, MAX(n) AS n",
    ...F.map((f) => `SUM(${f}) AS ${f}`),
    ...MAXED.map((f) => `SUM(COALESCE(${f}_max, ${f})) AS ${f}_max`),
  ].join(", ");
  return `SELECT ${cols} FROM metric_points WHERE ${where} GROUP BY ts`;
}

const COLUMNS = ["tier", "series", "ts", "replica", "container", "n", ...F, ...MAXED.map((f) => `${f}_max`)];
const INSERT_RAW = `INSERT OR REPLACE INTO metric_points (tier, series, ts, replica, container, ${F.join(", ")})
  VALUES (0, ?, ?, ?, ?, ${F.map(() => "?").join(", ")})`;

/** Folds `source` rows of finished buckets into `tier`; returns the rows written. */
function rollup(tx: Tx, source: deploykit.MetricsTier, tier: deploykit.MetricsTier, now: number): number {
  const upto = Math.floor((now - ROLLUP_GRACE_MS - source) / tier) * tier;
  const state = tx.get<{ done_until: number }>("SELECT done_until FROM metric_rollups WHERE tier = ?", tier);
  let from = state?.done_until;
  if (from === undefined) {
    const first = tx.get<{ ts: number | null }>("SELECT MIN(ts) AS ts FROM metric_points WHERE tier = ?", source)?.ts;
    if (first === null || first === undefined) return 0;
    from = Math.floor(first / tier) * tier;
  }
  if (upto <= from) return 0;
  const select = bucketSQL("series, replica, ", `tier = ${source} AND ts >= ? AND ts < ?`, tier);
  const cols = COLUMNS.filter((c) => c !== "tier" && c !== "container");
  const { changes } = tx.run(
    `INSERT OR REPLACE INTO metric_points (tier, container, ${cols.join(", ")}) SELECT ${tier}, '', ${cols.join(", ")} FROM (${select})`,
    from,
    upto,
  );
  tx.run("INSERT OR REPLACE INTO metric_rollups (tier, done_until) VALUES (?, ?)", tier, upto);
  return changes;
}

/** The metrics tiers in SQLite (tables metric_points, metric_rollups, metric_markers). */
export class MetricsStore implements deploykit.MetricsStore {
  readonly #db: DB;
  /** service_id → metric_series.id (rows are never deleted, so a cached id stays true). */
  readonly #series = new Map<string, number>();

  constructor(db: DB) {
    this.#db = db;
  }

  async recordSamples(samples: deploykit.MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    this.#db.write((tx) => {
      for (const s of samples)
        tx.run(INSERT_RAW, this.#seriesID(tx, s.service_id, s.project_id), s.ts, s.replica, s.container, ...F.map((f) => s[f]));
    });
  }

  #seriesID(tx: Tx, serviceID: string, projectID: string): number {
    const cached = this.#series.get(serviceID);
    if (cached !== undefined) return cached;
    tx.run("INSERT OR IGNORE INTO metric_series (service_id, project_id) VALUES (?, ?)", serviceID, projectID);
    const id = tx.get<{ id: number }>("SELECT id FROM metric_series WHERE service_id = ?", serviceID)?.id as number;
    // Cached only after commit: a rolled-back insert must not leave an id that does not exist.
    tx.afterCommit(() => this.#series.set(serviceID, id));
    return id;
  }

  async recordMarker(serviceID: string, m: deploykit.DeploymentMarker): Promise<void> {
    this.#db.write((tx) => {
      tx.run(
        "INSERT OR IGNORE INTO metric_markers (service_id, deployment_id, kind, at) VALUES (?, ?, ?, ?)",
        serviceID,
        m.deployment_id,
        m.kind,
        m.at,
      );
    });
  }

  async findSeries(q: deploykit.MetricsQuery, rawStepMs = deploykit.METRICS_INTERVAL_DEFAULT_MS): Promise<deploykit.MetricsSeries> {
    const plan = deploykit.planRange(q.range, rawStepMs);
    return this.#db.read((tx) => {
      const to = tx.nowDate.getTime();
      const from = to - plan.duration_ms;
      const start = Math.floor(from / plan.step_ms) * plan.step_ms;
      const series = tx.get<{ id: number }>("SELECT id FROM metric_series WHERE service_id = ?", q.service_id)?.id ?? -1;
      const params: Param[] = [series, plan.tier, start, to];
      let where = "series = ? AND tier = ? AND ts >= ? AND ts < ?";
      if (q.replica !== "all") {
        where += " AND replica = ?";
        params.push(q.replica);
      }
      const onGrid = plan.step_ms === plan.tier || (plan.tier === deploykit.TIER_RAW && plan.step_ms === rawStepMs);
      const points = tx.all<deploykit.MetricsPoint>(onGrid ? onGridSQL(where) : bucketSQL("", where, plan.step_ms), ...params);
      const replicas = tx
        .all<{ replica: number }>(
          "SELECT DISTINCT replica FROM metric_points WHERE series = ? AND tier = ? AND ts >= ? AND ts < ? ORDER BY replica",
          series,
          plan.tier,
          start,
          to,
        )
        .map((r) => r.replica);
      const aligned = deploykit.alignSeries(points, from, to, plan.step_ms);
      return {
        range: q.range,
        replica: q.replica,
        step_seconds: plan.step_ms / 1000,
        replicas,
        ...aligned,
        markers: findMarkers(tx, q.service_id, new Date(start).toISOString(), new Date(to).toISOString()),
      };
    });
  }

  async maintain(): Promise<{ rolled: number; pruned: number }> {
    return this.#db.write((tx) => {
      const now = tx.nowDate.getTime();
      const rolled = rollup(tx, deploykit.TIER_RAW, deploykit.TIER_1M, now) + rollup(tx, deploykit.TIER_1M, deploykit.TIER_10M, now);
      let pruned = 0;
      for (const tier of [deploykit.TIER_RAW, deploykit.TIER_1M, deploykit.TIER_10M] as const)
        pruned += tx.run("DELETE FROM metric_points WHERE tier = ? AND ts < ?", tier, now - deploykit.TIER_RETENTION_MS[tier]).changes;
      const oldest = new Date(now - deploykit.TIER_RETENTION_MS[deploykit.TIER_10M]).toISOString();
      pruned += tx.run("DELETE FROM metric_markers WHERE at < ?", oldest).changes;
      return { rolled, pruned };
    });
  }
}

/** Markers in [from, to): created and serving from the deployments, failed from metric_markers. */
function findMarkers(tx: Tx, serviceID: string, from: string, to: string): deploykit.DeploymentMarker[] {
  const rows = tx.all<deploykit.DeploymentMarker>(
    `SELECT id AS deployment_id, 'created' AS kind, created_at AS at FROM deployments
       WHERE service_id = ? AND created_at >= ? AND created_at < ?
     UNION ALL
     SELECT id, 'serving', healthy_at FROM deployments WHERE service_id = ? AND healthy_at >= ? AND healthy_at < ?
     UNION ALL
     SELECT deployment_id, kind, at FROM metric_markers WHERE service_id = ? AND at >= ? AND at < ?
     ORDER BY at LIMIT 1000`,
    serviceID,
    from,
    to,
    serviceID,
    from,
    to,
    serviceID,
    from,
    to,
  );
  return rows;
}
