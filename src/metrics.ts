import { EINVALID, errorf } from "./errors.ts";

/**
 * Service metrics (issue 15). One collector in the daemon samples every running DeployKit container
 * on an interval; samples are stored raw for 6 h, as 1-minute averages and maxima for 7 days and as
 * 10-minute ones for 30 days. A period without samples (daemon or Docker down) stays empty: series
 * carry nulls there, never interpolated values.
 */

export const METRICS_INTERVAL_DEFAULT_MS = 10_000;
export const METRICS_INTERVAL_MIN_MS = 1_000;
export const METRICS_INTERVAL_MAX_MS = 300_000;

/** Storage tiers, named by their bucket width in ms (0: raw samples). */
export const TIER_RAW = 0;
export const TIER_1M = 60_000;
export const TIER_10M = 600_000;
export type MetricsTier = typeof TIER_RAW | typeof TIER_1M | typeof TIER_10M;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How long each tier is kept. */
export const TIER_RETENTION_MS: Record<MetricsTier, number> = { [TIER_RAW]: 6 * HOUR, [TIER_1M]: 7 * DAY, [TIER_10M]: 30 * DAY };

/** Cumulative counters of one container at one instant, as Docker reports them. */
export interface ContainerCounters {
  /** When Docker read them (ms since the epoch). */
  read_at: number;
  cpu_ns: number;
  mem_bytes: number;
  mem_limit_bytes: number;
  /** Page cache that can be dropped (`inactive_file` on cgroup v2, `total_inactive_file` on v1). */
  mem_inactive_file_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  blk_read_bytes: number;
  blk_write_bytes: number;
}

/** A running DeployKit container as the collector tracks it. */
export interface MetricsTarget {
  docker_id: string;
  project_id: string;
  service_id: string;
  deployment_id: string;
  replica: number;
  /** The CPU limit in cores (null: none). */
  cpu_limit_cores: number | null;
  /** Docker's restart count of the container. */
  restarts: number;
}

/** One container's figures over one collector interval. Rates are null when unknown (first read, counter reset). */
export interface MetricSample {
  /** Start of the collector interval (ms since the epoch, a multiple of the interval). */
  ts: number;
  project_id: string;
  service_id: string;
  replica: number;
  /** First 12 characters of the Docker container id (two containers share a replica during a rollout). */
  container: string;
  /** Percent of one core (150 = one and a half cores). */
  cpu_pct: number | null;
  /** The CPU limit in the same unit (cores × 100); null without a limit. */
  cpu_limit_pct: number | null;
  mem_bytes: number;
  mem_limit_bytes: number;
  /** Usage without the page cache that the kernel can reclaim. */
  mem_nocache_bytes: number;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
  blk_read_bps: number | null;
  blk_write_bps: number | null;
  restarts: number;
}

/** Builds a sample from two reads of the same container (`prev` absent or reset: rates are null). */
export function sampleFrom(target: MetricsTarget, cur: ContainerCounters, prev: ContainerCounters | undefined, ts: number): MetricSample {
  const dt = prev ? (cur.read_at - prev.read_at) / 1000 : 0;
  const reset = !prev || dt <= 0 || cur.cpu_ns < prev.cpu_ns;
  const rate = (a: number, b: number | undefined): number | null => (reset || b === undefined || a < b ? null : (a - b) / dt);
  const cpu = rate(cur.cpu_ns, prev?.cpu_ns);
  return {
    ts,
    project_id: target.project_id,
    service_id: target.service_id,
    replica: target.replica,
    container: target.docker_id.slice(0, 12),
    cpu_pct: cpu === null ? null : cpu / 1e7,
    cpu_limit_pct: target.cpu_limit_cores === null ? null : target.cpu_limit_cores * 100,
    mem_bytes: cur.mem_bytes,
    mem_limit_bytes: cur.mem_limit_bytes,
    mem_nocache_bytes: Math.max(0, cur.mem_bytes - cur.mem_inactive_file_bytes),
    net_rx_bps: rate(cur.net_rx_bytes, prev?.net_rx_bytes),
    net_tx_bps: rate(cur.net_tx_bytes, prev?.net_tx_bytes),
    blk_read_bps: rate(cur.blk_read_bytes, prev?.blk_read_bytes),
    blk_write_bps: rate(cur.blk_write_bytes, prev?.blk_write_bytes),
    restarts: target.restarts,
  };
}

/** The numeric fields of a sample, in storage order. */
export const METRIC_FIELDS = [
  "cpu_pct",
  "cpu_limit_pct",
  "mem_bytes",
  "mem_limit_bytes",
  "mem_nocache_bytes",
  "net_rx_bps",
  "net_tx_bps",
  "blk_read_bps",
  "blk_write_bps",
  "restarts",
] as const;
export type MetricField = (typeof METRIC_FIELDS)[number];

export const METRICS_RANGES = ["1h", "6h", "24h", "7d", "30d"] as const;
export type MetricsRange = (typeof METRICS_RANGES)[number];

export interface RangePlan {
  range: MetricsRange;
  duration_ms: number;
  /** The tier read. */
  tier: MetricsTier;
  /** Width of one point of the returned series. */
  step_ms: number;
}

/**
 * Which tier serves a range and at what step: at most ~4,300 points per series, so 30 days of four
 * charts stay cheap to send and draw. Each range reads a tier whose bucket is its step where it can
 * (a plain sum over replicas, no re-bucketing: the 30-day query costs a few ms), at the price of the
 * newest minutes of the 6h/24h ranges (and ten minutes of 7d/30d) waiting for their roll-up.
 * `rawStepMs` is the collector interval.
 */
export function planRange(range: MetricsRange, rawStepMs: number = METRICS_INTERVAL_DEFAULT_MS): RangePlan {
  const plans: Record<MetricsRange, [number, MetricsTier, number]> = {
    "1h": [HOUR, TIER_RAW, Math.max(rawStepMs, 10_000)],
    "6h": [6 * HOUR, TIER_1M, 60_000],
    "24h": [DAY, TIER_1M, 60_000],
    "7d": [7 * DAY, TIER_10M, 600_000],
    "30d": [30 * DAY, TIER_10M, 600_000],
  };
  const [duration_ms, tier, step_ms] = plans[range];
  return { range, duration_ms, tier, step_ms };
}

/** The `?range=` of the metrics route; absent → 1h. Throws EINVALID naming `range`. */
export function parseMetricsRange(raw: unknown): MetricsRange {
  if (raw === undefined || raw === "") return "1h";
  if (typeof raw === "string" && (METRICS_RANGES as readonly string[]).includes(raw)) return raw as MetricsRange;
  throw errorf(EINVALID, `Query param "range" must be one of: ${METRICS_RANGES.join(", ")}.`);
}

export const MAX_REPLICA_INDEX = 1000;

/** The `?replica=` of the metrics route: "all" (summed; the default) or a replica index. Throws EINVALID naming `replica`. */
export function parseReplica(raw: unknown): "all" | number {
  if (raw === undefined || raw === "" || raw === "all") return "all";
  if (typeof raw === "string" && /^\d{1,4}$/.test(raw) && Number(raw) <= MAX_REPLICA_INDEX) return Number(raw);
  throw errorf(EINVALID, `Query param "replica" must be "all" or a replica index (0 to ${MAX_REPLICA_INDEX}).`);
}

export const MARKER_CREATED = "created";
export const MARKER_SERVING = "serving";
export const MARKER_FAILED = "failed";
export type MarkerKind = typeof MARKER_CREATED | typeof MARKER_SERVING | typeof MARKER_FAILED;

/** A deployment event drawn on the charts. */
export interface DeploymentMarker {
  deployment_id: string;
  kind: MarkerKind;
  /** RFC 3339. */
  at: string;
}

/** Aligned series: `t[i]` is the start of point i (unix seconds); every field array has the same length. */
export interface MetricsSeries {
  range: MetricsRange;
  replica: "all" | number;
  step_seconds: number;
  /** Replica indexes with samples in the range. */
  replicas: number[];
  t: number[];
  /** Averages per point, and maxima for the fields that have them. Null: no sample (a gap). */
  avg: Record<MetricField, (number | null)[]>;
  max: Pick<Record<MetricField, (number | null)[]>, "cpu_pct" | "mem_bytes" | "mem_nocache_bytes">;
  markers: DeploymentMarker[];
}

/** One stored point: a bucket start and its values (already summed over replicas when asked). */
export type MetricsPoint = { ts: number } & Partial<Record<MetricField | `${MetricField}_max`, number | null>>;

/**
 * Lays points on the grid [from, to) at `step` ms: a bucket without a point is null, so a period
 * without samples draws as a gap.
 */
export function alignSeries(points: MetricsPoint[], from: number, to: number, step: number): Pick<MetricsSeries, "t" | "avg" | "max"> {
  const start = Math.floor(from / step) * step;
  const n = Math.max(0, Math.ceil((to - start) / step));
  const t = Array.from({ length: n }, (_, i) => (start + i * step) / 1000);
  const col = () => new Array<number | null>(n).fill(null);
  const avg = Object.fromEntries(METRIC_FIELDS.map((f) => [f, col()])) as MetricsSeries["avg"];
  const max: MetricsSeries["max"] = { cpu_pct: col(), mem_bytes: col(), mem_nocache_bytes: col() };
  // Two decimals are more than a chart shows and halve the JSON of a 30-day series.
  const r = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 100) / 100);
  for (const p of points) {
    const i = Math.floor((p.ts - start) / step);
    if (i < 0 || i >= n) continue;
    for (const f of METRIC_FIELDS) avg[f][i] = r(p[f]);
    for (const f of ["cpu_pct", "mem_bytes", "mem_nocache_bytes"] as const) max[f][i] = r(p[`${f}_max`] ?? p[f]);
  }
  return { t, avg, max };
}

/** The newest figures of one service (summed over its replicas), for the canvas. */
export interface ServiceMetricsSummary {
  service_id: string;
  replicas: number;
  cpu_pct: number | null;
  cpu_limit_pct: number | null;
  mem_bytes: number;
  mem_limit_bytes: number;
  /** ms since the epoch of the sample. */
  ts: number;
}

/** Sums the newest samples per service. */
export function summarize(samples: MetricSample[]): ServiceMetricsSummary[] {
  const by = new Map<string, ServiceMetricsSummary>();
  for (const s of samples) {
    const cur = by.get(s.service_id);
    if (!cur) {
      by.set(s.service_id, {
        service_id: s.service_id,
        replicas: 1,
        cpu_pct: s.cpu_pct,
        cpu_limit_pct: s.cpu_limit_pct,
        mem_bytes: s.mem_bytes,
        mem_limit_bytes: s.mem_limit_bytes,
        ts: s.ts,
      });
      continue;
    }
    cur.replicas++;
    cur.cpu_pct = cur.cpu_pct === null || s.cpu_pct === null ? (cur.cpu_pct ?? s.cpu_pct) : cur.cpu_pct + s.cpu_pct;
    cur.cpu_limit_pct = cur.cpu_limit_pct === null || s.cpu_limit_pct === null ? null : cur.cpu_limit_pct + s.cpu_limit_pct;
    cur.mem_bytes += s.mem_bytes;
    cur.mem_limit_bytes += s.mem_limit_bytes;
    cur.ts = Math.max(cur.ts, s.ts);
  }
  return [...by.values()];
}

export interface MetricsQuery {
  project_id: string;
  service_id: string;
  range: MetricsRange;
  replica: "all" | number;
}

/** MetricsStore keeps samples and their downsampled tiers (SQLite). Written only by the collector. */
export interface MetricsStore {
  /** Appends one interval's samples (one transaction). */
  recordSamples(samples: MetricSample[]): Promise<void>;
  /** Remembers a failed deployment's time for its marker (created/serving come from the deployment). */
  recordMarker(serviceID: string, marker: DeploymentMarker): Promise<void>;
  /** Series of the range ending now, plus the deployment markers in it. Never throws ENOTFOUND (no data → all nulls). */
  findSeries(q: MetricsQuery, rawStepMs?: number): Promise<MetricsSeries>;
  /** Folds finished buckets into the 1-minute and 10-minute tiers, then deletes what is past each tier's retention. */
  maintain(): Promise<{ rolled: number; pruned: number }>;
}

/** The collector as the HTTP layer and the Prometheus export see it. */
export interface MetricsCollector {
  /** The newest sample of every container seen in the last interval. */
  latest(): MetricSample[];
  /** The collector interval. */
  readonly intervalMs: number;
  /** Intervals run, intervals that failed (Docker unreachable, write failed), the last one's duration. */
  readonly counts: { ticks: number; failures: number; last_tick_ms: number };
}

/** What the collector learns from one inspect: it changes only when the container restarts. */
export interface ContainerLimits {
  cpu_limit_cores: number | null;
  restarts: number;
}

/** Docker's stats as the collector needs them (src/docker/stats.ts), for containers listed as this instance's. */
export interface ContainerStatsSource {
  /** One read (`stats?stream=false&one-shot=true`). Throws ENOTFOUND when the container is gone, EUNAVAILABLE when Docker is. */
  readCounters(dockerID: string): Promise<ContainerCounters>;
  /** A long-lived stats stream (Docker sends about one read a second) until `close()` or the container ends. */
  streamCounters(dockerID: string, onCounters: (c: ContainerCounters) => void, onEnd: (err?: Error) => void): { close(): void };
  /** CPU limit and restart count (one inspect). Throws ENOTFOUND when the container is gone, EFORBIDDEN when not ours. */
  readLimits(dockerID: string): Promise<ContainerLimits>;
}
