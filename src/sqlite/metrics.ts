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
    `service_id, replica, container, (ts / ${step}) * ${step} AS b, MAX(project_id) AS project_id, SUM(n) AS n`,
    ...F.map((f) => (f === "restarts" ? "MAX(restarts) AS restarts" : `AVG(${f}) AS ${f}`)),
    ...MAXED.map((f) => `MAX(COALESCE(${f}_max, ${f})) AS ${f}_max`),
  ].join(", ");
  const outer = [
    `${by}b AS ts, MAX(project_id) AS project_id, MAX(n) AS n`,
    ...F.map((f) => `SUM(${f}) AS ${f}`),
    ...MAXED.map((f) => `SUM(${f}_max) AS ${f}_max`),
  ].join(", ");
  return `SELECT ${outer} FROM (SELECT ${inner} FROM metric_points WHERE ${where} GROUP BY service_id, replica, container, b) GROUP BY ${by}b`;
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

const COLUMNS = ["tier", "service_id", "ts", "replica", "container", "project_id", "n", ...F, ...MAXED.map((f) => `${f}_max`)];
const INSERT_RAW = `INSERT OR REPLACE INTO metric_points (tier, service_id, ts, replica, container, project_id, ${F.join(", ")})
  VALUES (0, ?, ?, ?, ?, ?, ${F.map(() => "?").join(", ")})`;

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
  const select = bucketSQL("service_id, replica, ", `tier = ${source} AND ts >= ? AND ts < ?`, tier);
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

  constructor(db: DB) {
    this.#db = db;
  }

  async recordSamples(samples: deploykit.MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    this.#db.write((tx) => {
      for (const s of samples) tx.run(INSERT_RAW, s.service_id, s.ts, s.replica, s.container, s.project_id, ...F.map((f) => s[f]));
    });
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
      const params: Param[] = [q.service_id, plan.tier, start, to];
      let where = "service_id = ? AND tier = ? AND ts >= ? AND ts < ?";
      if (q.replica !== "all") {
        where += " AND replica = ?";
        params.push(q.replica);
      }
      const onGrid = plan.step_ms === plan.tier || (plan.tier === deploykit.TIER_RAW && plan.step_ms === rawStepMs);
      const points = tx.all<deploykit.MetricsPoint>(onGrid ? onGridSQL(where) : bucketSQL("", where, plan.step_ms), ...params);
      const replicas = tx
        .all<{ replica: number }>(
          "SELECT DISTINCT replica FROM metric_points WHERE service_id = ? AND tier = ? AND ts >= ? AND ts < ? ORDER BY replica",
          q.service_id,
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
